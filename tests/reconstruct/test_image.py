"""decode_image: every mode decodes to (H, W, 4) uint8; bad, hostile and oversized inputs raise InvalidInput."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from meshsmith.errors import InvalidInput
from reconstruct.image import ImageLimits, decode_image
from tests import hostile
from tests.conftest import IMAGES


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height RGB pixels, with one tiny IDAT: a decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_real_png_rgba_and_rgb():
    rgba = decode_image((IMAGES / "horse.png").read_bytes())
    assert rgba.shape == (512, 512, 4) and rgba.dtype == np.uint8 and rgba.flags.c_contiguous
    assert (rgba[..., 3] == 0).any()
    rgb = decode_image((IMAGES / "fox.jpg").read_bytes())
    assert rgb.shape[2] == 4 and (rgb[..., 3] == 255).all()


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"this is certainly not a picture" * 10, "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image"),
])
def test_empty_and_garbage(data, words):
    with pytest.raises(InvalidInput, match=words):
        decode_image(data)


def test_truncated_png():
    data = (IMAGES / "horse.png").read_bytes()
    with pytest.raises(InvalidInput, match="truncated or corrupt"):
        decode_image(data[: len(data) // 2])


def test_truncated_jpeg():
    data = (IMAGES / "fox.jpg").read_bytes()
    with pytest.raises(InvalidInput):
        decode_image(data[: len(data) // 3])


def test_sixteen_bit_grey():
    a = np.zeros((10, 12), np.uint16)
    a[:, 6:] = 65535
    a[0, 0] = 32896  # 128 * 257
    out = decode_image(_save(Image.fromarray(a), "PNG"))
    assert out.shape == (10, 12, 4)
    assert out[5, 0, 0] == 0 and out[5, 11, 0] == 255 and out[0, 0, 0] == 128
    assert (out[..., 3] == 255).all() and (out[..., 0] == out[..., 2]).all()


def test_cmyk_jpeg_is_red():
    im = Image.new("CMYK", (16, 16), (0, 255, 255, 0))
    out = decode_image(_save(im, "JPEG", quality=95))
    r, g, b, a = out[8, 8].astype(int)
    assert r > 200 and g < 60 and b < 60 and a == 255


def test_palette_with_transparency():
    im = Image.new("P", (8, 8), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.putpixel((0, 0), 0)
    out = decode_image(_save(im, "PNG", transparency=0))
    assert out[0, 0, 3] == 0 and tuple(out[4, 4]) == (255, 0, 0, 255)


def test_grey_alpha():
    im = Image.new("LA", (8, 8), (100, 0))
    im.putpixel((3, 3), (200, 255))
    out = decode_image(_save(im, "PNG"))
    assert tuple(out[3, 3]) == (200, 200, 200, 255) and out[0, 0, 3] == 0


def test_animated_gif_first_frame():
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    out = decode_image(data)
    assert out.shape == (10, 10, 4) and out[5, 5, 0] > 200 and out[5, 5, 2] < 50


def test_exif_orientation_applied():
    im = Image.new("RGB", (40, 20), (0, 128, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    out = decode_image(_save(im, "JPEG", exif=exif.tobytes()))
    assert out.shape[:2] == (40, 20)


def test_decompression_bomb_header_refused_before_decoding():
    bomb = _png_header_only(100_000, 100_000)
    assert len(bomb) < 200
    with pytest.raises(InvalidInput, match="pixels"):
        decode_image(bomb)


def test_pixel_limit_from_header():
    with pytest.raises(InvalidInput, match="64,000,000 pixels"):
        decode_image(_png_header_only(8000, 8000))  # below Pillow's own bomb limit, above ours


def test_byte_and_side_limits():
    data = (IMAGES / "horse.png").read_bytes()
    with pytest.raises(InvalidInput, match="bytes"):
        decode_image(data, ImageLimits(max_bytes=1000))
    with pytest.raises(InvalidInput, match="at most 100"):
        decode_image(data, ImageLimits(max_side=100))
    with pytest.raises(InvalidInput, match="pixels"):
        decode_image(data, ImageLimits(max_pixels=1000))


# ---- hostile inputs (issue 9, item 7): sizes that lie, streams that end early, formats outside the allow-list

HOSTILE_WORDS = {
    "ico": "accepted format", "tiff": "accepted format", "jpeg": "JPEG is truncated or corrupt",
    "png": "PNG is (truncated|corrupt)", "gif": "truncated or corrupt|more than the limit", "bmp": "truncated or corrupt", "webp": "corrupt",
}


@pytest.mark.parametrize("name, data", hostile.hostile_images(), ids=[n for n, _ in hostile.hostile_images()])
def test_hostile_image_refused_before_decoding(name, data):
    with pytest.raises(InvalidInput, match=HOSTILE_WORDS[name.split(":")[0]]):
        decode_image(data)


def test_allow_list_names_the_accepted_formats():
    with pytest.raises(InvalidInput, match="PNG, JPEG, WebP, GIF or BMP") as err:
        decode_image(_save(Image.new("RGB", (8, 8)), "ICO"))
    assert "ICO" in err.value.message


def test_png_rows_checked_for_adam7_interlace():
    """A 3x3 grey interlaced PNG holds 15 inflated bytes (7 passes; 2 are empty): all of them, or it is truncated."""
    def interlaced(raw: bytes) -> bytes:
        ihdr = struct.pack(">IIBBBBB", 3, 3, 8, 0, 0, 0, 1)
        return (b"\x89PNG\r\n\x1a\n" + hostile.png_chunk(b"IHDR", ihdr) + hostile.png_chunk(b"IDAT", zlib.compress(raw))
                + hostile.png_chunk(b"IEND", b""))

    # passes: 1x1, -, -, 1x1, 2x1, 1x2, 3x1 -> rows of (filter byte + pixels)
    raw = b"\0\x10" + b"\0\x20" + b"\0\x30\x30" + b"\0\x40" * 2 + b"\0\x50\x50\x50"
    assert len(raw) == 15
    out = decode_image(interlaced(raw))
    assert out.shape == (3, 3, 4) and out[0, 0, 0] == 0x10 and out[2, 2, 0] == 0x30 and out[1, 1, 0] == 0x50
    with pytest.raises(InvalidInput, match="holds 14 of the 15 bytes"):
        decode_image(interlaced(raw[:-1]))


def test_jpeg_stream_check_passes_whole_files_and_refuses_a_cut_one(corpus):
    """Progressive, CMYK, grey and every corpus JPEG pass the strict stream check; the same minus its last scan bytes
    (EOI kept, so Pillow pads the rest with grey) does not."""
    noise = Image.fromarray(np.random.default_rng(3).integers(0, 255, (48, 40, 3), dtype=np.uint8))
    files = [_save(im, "JPEG", **kw) for im, kw in ((noise, {"progressive": True}), (noise.convert("CMYK"), {}),
                                                     (noise.convert("L"), {}))]
    for data in files:
        assert decode_image(data).shape == (48, 40, 4)
    for path in sorted(IMAGES.glob("*.jpg")):
        assert decode_image(path.read_bytes()).shape[2] == 4, path.name
    fox = (IMAGES / "fox.jpg").read_bytes()
    with pytest.raises(InvalidInput, match="JPEG is truncated"):
        decode_image(fox[: len(fox) * 3 // 4] + b"\xff\xd9")


def _peak_growth_mb(code: str) -> float:
    """Run `code` in a fresh interpreter after the imports; how much it raised the peak RSS (MB).

    VmHWM, not getrusage: ru_maxrss carries the parent's peak across fork+exec (pytest's own RSS would hide it)."""
    script = ("from pathlib import Path\nfrom tests import hostile\nfrom reconstruct.image import decode_image\n"
              "from meshsmith.errors import InvalidInput\n"
              "def hwm():\n"
              "    return next(int(x.split()[1]) for x in Path('/proc/self/status').read_text().splitlines()"
              " if x.startswith('VmHWM:'))\n"
              "base = hwm()\n" + code + "\nprint((hwm() - base) / 1024)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    return float(out.stdout.split()[-1])


def test_sixteen_bit_6300px_png_decodes_without_gigabytes():
    """77 KB, 6300x6300 16-bit grey: the old float64 whole-frame conversion took ~1,060 MB; bands ~410 MB."""
    data = hostile.blank_16bit_png()
    assert len(data) < 100_000
    grew = _peak_growth_mb("data = hostile.blank_16bit_png()\na = decode_image(data)\n"
                           "assert a.shape == (6300, 6300, 4) and (a[..., :3] == 0).all()")
    assert grew < 550, f"decoding took {grew:.0f} MB"


def test_sof_lie_costs_no_memory():
    """The 7 KB JPEG claiming 10000x3000 was decoded to 120 MB of grey (607 MB peak): now refused from the stream."""
    grew = _peak_growth_mb("data = hostile.jpeg_sof_lie()\ntry:\n    decode_image(data)\nexcept InvalidInput:\n    pass\n"
                           "else:\n    raise SystemExit(1)")
    assert grew < 30, f"refusing took {grew:.0f} MB"
