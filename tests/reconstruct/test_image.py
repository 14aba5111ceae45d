"""decode_image: every mode decodes to (H, W, 4) uint8; bad, hostile and oversized inputs raise InvalidInput."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from meshsmith.errors import InvalidInput
from reconstruct.image import ImageLimits, decode_image
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
