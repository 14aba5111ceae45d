"""Hostile images and meshes, generated in code (no binary blobs): each lies about its size or structure.

Shared by the unit tests (tests/reconstruct, tests/validation) and the server fuzz corpus
(tests/server/test_fuzz_files.py). Every generator returns bytes; the tables pair each with a name.
"""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
from PIL import Image


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes, length: int | None = None) -> bytes:
    """One PNG chunk; `length` overrides the declared length (a lie)."""
    return struct.pack(">I", len(data) if length is None else length) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, depth: int = 8, colour: int = 2, rows: int | None = None,
        idat_length: int | None = None) -> bytes:
    """A blank PNG built by hand; `rows` < height leaves the zlib stream short (a complete stream, too few rows)."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    row = b"\0" * (1 + (width * channels * depth + 7) // 8)
    z = zlib.compressobj(9)
    body = b"".join(z.compress(row) for _ in range(height if rows is None else rows)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", body, idat_length)
            + png_chunk(b"IEND", b""))


def noise_png(size: int = 64) -> bytes:
    rng = np.random.default_rng(0)
    return _save(Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)), "PNG", compress_level=1)


def noise_jpeg(size: int = 64, **kw) -> bytes:
    rng = np.random.default_rng(1)
    return _save(Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)), "JPEG", quality=90, **kw)


def jpeg_sof_lie(width: int = 10000, height: int = 3000) -> bytes:
    """A ~7 KB JPEG whose SOF0 claims width x height: libjpeg pads the missing blocks with grey."""
    data = bytearray(noise_jpeg(72))
    at = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def png_idat_length_lie(length: int) -> bytes:
    data = bytearray(noise_png())
    at = data.find(b"IDAT")
    struct.pack_into(">I", data, at - 4, length)
    return bytes(data)


def png_bad_crc() -> bytes:
    data = bytearray(noise_png())
    at = data.find(b"IDAT")
    data[at + 50] ^= 0x01  # inside the IDAT body: zlib may still inflate it, the CRC does not match
    return bytes(data)


def ico_lie(side: int = 13300) -> bytes:
    """An ICO whose directory says 256x256 but whose entry is a side x side (1-bit) PNG."""
    inner = png(side, side, depth=1, colour=0)
    entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(inner), 6 + 16)  # 0 means 256
    return struct.pack("<HHH", 0, 1, 1) + entry + inner


def gif_lie(side: int = 5000, screen: int | None = None) -> bytes:
    """A GIF whose frame claims side x side (on a screen of `screen`, default the same) but whose LZW data
    holds one pixel."""
    data = bytearray(_save(Image.new("P", (1, 1)), "GIF"))
    struct.pack_into("<HH", data, 6, screen or side, screen or side)
    at = data.find(b"\x2c")
    struct.pack_into("<HH", data, at + 5, side, side)
    return bytes(data)


def bmp_rle_lie(side: int = 4000) -> bytes:
    """An RLE8 BMP claiming side x side whose data ends the bitmap at once."""
    pixels = b"\x00\x01"
    palette = b"\0\0\0\0" * 256
    info = struct.pack("<IiiHHIIiiII", 40, side, side, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
    offset = 14 + 40 + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


def tiff_pages() -> bytes:
    page = Image.new("RGB", (32, 32), "red")
    return _save(page, "TIFF", save_all=True, append_images=[Image.new("RGB", (64, 64), "blue")])


def hostile_images() -> list[tuple[str, bytes]]:
    """Images that lie about their size or end early: each must be refused with INVALID_ARGUMENT."""
    jpeg = noise_jpeg(128)
    good_png = noise_png()
    return [
        ("ico: directory 256x256 over a 13300x13300 png", ico_lie()),
        ("tiff: two pages", tiff_pages()),
        ("jpeg: 7 KB whose SOF claims 10000x3000", jpeg_sof_lie()),
        ("jpeg: half the scan then EOI", jpeg[: len(jpeg) // 2] + b"\xff\xd9"),
        ("jpeg: progressive, half the scans then EOI", (p := noise_jpeg(128, progressive=True))[: len(p) // 2] + b"\xff\xd9"),
        *[(f"png: IDAT length {n:#x}", png_idat_length_lie(n)) for n in (0x7FFFFFFF, 0xFFFFFFFF, 0x10000000)],
        ("png: last 13 bytes missing", good_png[:-13]),
        ("png: IEND missing", good_png[:-12]),
        ("png: bad IDAT checksum", png_bad_crc()),
        ("png: complete zlib stream with 1 of 4000 rows", png(4000, 4000, rows=1)),
        ("png: 16-bit rgba 6300x6300 with 10 rows", png(6300, 6300, depth=16, colour=6, rows=10)),
        ("gif: 5000x5000 screen holding one pixel", gif_lie()),
        ("gif: 10x10 screen with a 7000x7000 frame", gif_lie(7000, screen=10)),
        ("bmp: rle8 4000x4000 ending at once", bmp_rle_lie()),
        ("webp: cut in half", (w := _save(Image.new("RGB", (64, 64), "red"), "WEBP"))[: len(w) // 2]),
    ]


def blank_16bit_png(side: int = 6300) -> bytes:
    """A valid 6300x6300 16-bit grey PNG of ~77 KB (blank, so no object): it must not take GBs to refuse."""
    return png(side, side, depth=16, colour=0)


# ------------------------------------------------------------------- meshes


def glb(tree, bin_chunk: bytes = b"") -> bytes:
    """A GLB from a JSON-able tree, or from raw JSON bytes."""
    body = tree if isinstance(tree, bytes) else json.dumps(tree).encode()
    body += b" " * (-len(body) % 4)
    chunks = struct.pack("<I4s", len(body), b"JSON") + body
    if bin_chunk:
        bin_chunk += b"\0" * (-len(bin_chunk) % 4)
        chunks += struct.pack("<I4s", len(bin_chunk), b"BIN\0") + bin_chunk
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def triangle_glb(positions, node: dict | None = None, nodes: list | None = None, count=None) -> bytes:
    """One triangle (3 float32 positions, no indices) in a glTF scene."""
    pos = np.asarray(positions, np.float32).reshape(-1, 3)
    finite = np.isfinite(pos).all()
    accessor = {"bufferView": 0, "componentType": 5126, "count": len(pos) if count is None else count, "type": "VEC3"}
    if finite:
        accessor.update(min=pos.min(0).tolist(), max=pos.max(0).tolist())
    tree = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": nodes or [{"mesh": 0, **(node or {})}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "buffers": [{"byteLength": pos.nbytes}],
        "bufferViews": [{"buffer": 0, "byteLength": pos.nbytes}],
        "accessors": [accessor],
    }
    if count == "Infinity":
        return glb(json.dumps(tree).replace('"count": "Infinity"', '"count": Infinity').encode(), pos.tobytes())
    return glb(tree, pos.tobytes())


TRI = [[0, 0, 0], [1, 0, 0], [0, 1, 0]]


def hostile_meshes() -> list[tuple[str, bytes, str]]:
    """(name, bytes, filename): meshes whose structure lies, or that hold nothing with area."""
    deep = b"[" * 5000 + b"]" * 5000
    return [
        ("glb: JSON chunk is [1,2,3]", glb(b"[1,2,3]"), "x.glb"),
        ("glb: JSON nested 5000 deep", glb(b'{"asset": {"version": "2.0"}, "extras": ' + deep + b"}"), "x.glb"),
        ("glb: accessor count Infinity", triangle_glb(TRI, count="Infinity"), "x.glb"),
        ("glb: node cycle 0 -> 1 -> 0", triangle_glb(TRI, nodes=[{"mesh": 0, "children": [1]}, {"children": [0]}]), "x.glb"),
        ("glb: node is its own child", triangle_glb(TRI, nodes=[{"mesh": 0, "children": [0]}]), "x.glb"),
        ("glb: node scale 0", triangle_glb(TRI, node={"scale": [0, 0, 0]}), "x.glb"),
        ("glb: three identical vertices", triangle_glb([[1, 1, 1]] * 3), "x.glb"),
        ("glb: 3e38 coordinates", triangle_glb([[3e38, 0, 0], [-3e38, 3e38, 0], [0, -3e38, 3e38]]), "x.glb"),
        ("off: face declares 1000 vertices, lists 3", b"OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n1000 0 1 2\n", "x.off"),
        ("obj: f 0 1 2 (OBJ indices start at 1)", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n", "x.obj"),
        ("obj: three identical vertices", b"v 1 1 1\nv 1 1 1\nv 1 1 1\nf 1 2 3\n", "x.obj"),
        ("obj: collinear triangle", b"v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n", "x.obj"),
        ("stl: ascii collinear facet", b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\n"
                                      b"vertex 2 0 0\nendloop\nendfacet\nendsolid x\n", "x.stl"),
    ]


def latin1_meshes() -> list[tuple[str, bytes, str]]:
    """Valid meshes whose comments/names are Latin-1, not UTF-8 (trimesh needs charset_normalizer for these)."""
    obj = "# modèle exporté par Café 3D — ½ échelle\no chaise\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\n" \
          "f 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"
    stl = "solid chaise_é\n" + "".join(
        f"facet normal 0 0 0\nouter loop\n{''.join(f'vertex {x} {y} {z}' + chr(10) for x, y, z in tri)}endloop\nendfacet\n"
        for tri in ([(0, 0, 0), (0, 1, 0), (1, 0, 0)], [(0, 0, 0), (1, 0, 0), (0, 0, 1)],
                    [(0, 0, 0), (0, 0, 1), (0, 1, 0)], [(1, 0, 0), (0, 1, 0), (0, 0, 1)])
    ) + "endsolid chaise_é\n"
    return [("obj: Latin-1 comment", obj.replace("—", "-").encode("latin-1"), "chaise.obj"),
            ("stl: Latin-1 solid name", stl.encode("latin-1"), "chaise.stl")]
