"""Decode untrusted image bytes into one RGBA array, refusing bombs and corrupt files.

Only PNG (and APNG), JPEG (and MPO), WebP, GIF and BMP are opened: the formats browsers and engines
show. ICO/ICNS/TIFF and the rest are refused, because their directories can describe one size and hold
another (an ICO saying 256x256 over a 13300x13300 PNG) or many pages. Before Pillow decodes anything,
PNG and JPEG streams are checked whole (a decoder that pads a missing tail with grey or zeros would
otherwise turn 7 KB into a 30 Mpx garbage picture); only the first frame of an animation is decoded,
and its real size is checked both from the header and after decoding.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
import simplejpeg
from PIL import Image, ImageOps, UnidentifiedImageError

from meshsmith.errors import InvalidInput

FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")  # Pillow plugin ids; a multi-picture JPEG opens as "MPO"
FORMAT_NAMES = "PNG, JPEG, WebP, GIF or BMP"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# channels per PNG colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA)
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7 passes: (x start, y start, x step, y step)
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
# bytes one decoded pixel takes in Pillow's memory, per mode (others: 4)
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 2, "La": 2, "PA": 2, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2,
               "RGB": 4, "RGBA": 4, "I": 4, "F": 4}


@dataclass(frozen=True)
class ImageLimits:
    """Limits checked before (bytes, header size) and after decoding."""

    max_bytes: int = 32 * 2**20
    max_pixels: int = 40_000_000  # checked from the header BEFORE decoding (decompression bombs)
    max_side: int = 16384

    @property
    def max_decoded_bytes(self) -> int:
        """What one decoded frame may take: max_pixels of 8-bit RGBA (a 16-bit RGBA frame counts 8 B/px)."""
        return self.max_pixels * 4


def _check_size(width: int, height: int, limits: ImageLimits, bytes_per_pixel: int = 4) -> None:
    if width < 1 or height < 1:
        raise InvalidInput(f"the image has no pixels ({width}x{height}); send a non-empty picture")
    if width > limits.max_side or height > limits.max_side:
        raise InvalidInput(
            f"the image is {width}x{height} pixels; each side must be at most {limits.max_side}: downscale it and retry"
        )
    if width * height > limits.max_pixels:
        raise InvalidInput(
            f"the image has {width * height:,} pixels ({width}x{height}), more than the limit of "
            f"{limits.max_pixels:,}: downscale it and retry"
        )
    if width * height * bytes_per_pixel > limits.max_decoded_bytes:
        raise InvalidInput(
            f"the image ({width}x{height}, {bytes_per_pixel} bytes per pixel decoded) needs "
            f"{width * height * bytes_per_pixel:,} bytes, more than the limit of {limits.max_decoded_bytes:,}: "
            "downscale it or save it with 8 bits per channel and retry"
        )


def _png_raw_size(width: int, height: int, depth: int, colour: int, interlace: int) -> int:
    """Bytes the PNG's inflated IDAT stream must hold: filter byte + packed samples, per row (per Adam7 pass)."""
    bits = _PNG_CHANNELS[colour] * depth
    if not interlace:
        return height * (1 + (width * bits + 7) // 8)
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        w, h = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if w > 0 and h > 0:
            total += h * (1 + (w * bits + 7) // 8)
    return total


def _check_png(data: bytes) -> None:
    """Walk every chunk (lengths inside the file, CRCs, IHDR first, IEND last) and inflate the IDAT
    stream to check it holds every row the header declares. Raises InvalidInput."""
    pos, header, idat, ended = 8, None, [], False
    while pos < len(data):
        if pos + 8 > len(data):
            break
        length, kind = struct.unpack_from(">I4s", data, pos)
        if length > 2**31 - 1 or pos + 12 + length > len(data):
            raise InvalidInput(
                f"the PNG is truncated or corrupt: its {kind!r} chunk declares {length:,} bytes but only "
                f"{max(0, len(data) - pos - 12):,} follow; re-export or re-upload the picture"
            )
        body = data[pos + 8 : pos + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack_from(">I", data, pos + 8 + length)[0]:
            raise InvalidInput(f"the PNG is corrupt: the checksum of its {kind!r} chunk does not match; re-export it")
        if header is None:
            if kind != b"IHDR" or length != 13:
                raise InvalidInput("the PNG is corrupt: it does not start with an IHDR header chunk; re-export it")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            ended = True
            break
        pos += 12 + length
    if header is None or not ended:
        raise InvalidInput("the PNG is truncated: it has no IEND end chunk; upload the whole file")
    width, height, depth, colour, _, _, interlace = header
    if colour not in _PNG_CHANNELS or not idat:
        raise InvalidInput("the PNG is corrupt: unknown colour type or no image data; re-export it")
    need = _png_raw_size(width, height, depth, colour, interlace)
    inflater, got = zlib.decompressobj(), 0
    try:
        for piece in idat:
            while piece and got < need:
                got += len(inflater.decompress(piece, 1 << 20))
                piece = inflater.unconsumed_tail
            if got >= need:
                break
    except zlib.error as exc:
        raise InvalidInput(f"the PNG's pixel data is corrupt ({exc}); re-export the picture") from None
    if got < need:
        raise InvalidInput(
            f"the PNG is truncated: its pixel data holds {got:,} of the {need:,} bytes its "
            f"{width}x{height} header needs; upload the whole file"
        )


def _check_jpeg(data: bytes) -> None:
    """Entropy-decode the whole JPEG at 1/8 scale with libjpeg-turbo in strict mode: a stream that ends
    early (libjpeg would pad it with grey) or any other libjpeg warning refuses it. Raises InvalidInput."""
    try:
        colourspace = simplejpeg.decode_jpeg_header(data)[2]
        simplejpeg.decode_jpeg(data, colorspace="CMYK" if colourspace == "CMYK" else "GRAY",
                               min_height=1, min_width=1, strict=True)
    except (ValueError, RuntimeError) as exc:
        raise InvalidInput(
            f"the JPEG is truncated or corrupt ({exc}); re-export or re-upload the picture"
        ) from None


def _to_rgba(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> (H, W, 4) uint8; 16/32-bit and float greys are rescaled to 8 bits, in bands of rows."""
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        grey = np.asarray(im)
        peak = float(np.nanmax(grey, initial=0.0)) if im.mode == "F" else float(grey.max(initial=0))
        if im.mode == "F":
            top = 1.0 if peak <= 1.0 else 255.0
        else:
            top = 65535.0 if im.mode.startswith("I;16") or peak > 255 else 255.0
        rgba = np.empty(grey.shape + (4,), np.uint8)
        rgba[..., 3] = 255
        band = max(1, (1 << 20) // max(1, grey.shape[1]))
        for y in range(0, grey.shape[0], band):  # float64 temporaries of ~8 MB, not of the whole frame
            g = np.clip(np.nan_to_num(grey[y : y + band].astype(np.float64)) * (255.0 / top), 0, 255)
            rgba[y : y + band, :, :3] = g.round().astype(np.uint8)[..., None]
        return rgba
    if im.mode == "P" and "transparency" not in im.info:
        im = im.convert("RGB")
    if im.mode not in ("RGBA", "RGB", "L", "LA", "P", "PA", "1", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa", "La"):
        im = im.convert("RGB")
    if im.mode in ("LAB", "HSV"):
        im = im.convert("RGB")
    rgba_im = im if im.mode == "RGBA" else im.convert("RGBA")  # convert() would copy an RGBA frame once more
    return np.ascontiguousarray(np.asarray(rgba_im, dtype=np.uint8))


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(data), formats=FORMATS)
        except Image.DecompressionBombError as exc:
            raise InvalidInput(
                f"the image header declares far too many pixels ({exc}); downscale it and retry"
            ) from None
        except UnidentifiedImageError:
            raise InvalidInput(
                f"the bytes are not an image in an accepted format; send a {FORMAT_NAMES} picture "
                "(ICO, TIFF and other formats are refused)"
            ) from None
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for hostile headers
            raise InvalidInput(f"the image header is corrupt ({type(exc).__name__}); re-export the picture") from None


def decode_image(data: bytes, limits: ImageLimits = ImageLimits()) -> np.ndarray:
    """Decode PNG/JPEG/WebP/GIF/BMP bytes -> (H, W, 4) uint8 RGBA.

    Handles P/L/LA/CMYK/I;16/RGB/RGBA, animated images (first frame) and EXIF orientation.
    Raises InvalidInput: empty, not an accepted format, truncated/corrupt, too many bytes/pixels.
    """
    if not data:
        raise InvalidInput(f"the image is empty (0 bytes); send the bytes of a {FORMAT_NAMES} picture")
    if len(data) > limits.max_bytes:
        raise InvalidInput(
            f"the image is {len(data):,} bytes, more than the limit of {limits.max_bytes:,}: "
            "compress or downscale it and retry"
        )
    data = bytes(data)
    with _open(data) as im:
        _check_size(im.width, im.height, limits, _MODE_BYTES.get(im.mode, 4))  # header only: nothing decoded yet
        if im.format == "PNG":
            _check_png(data)
        elif im.format in ("JPEG", "MPO"):
            _check_jpeg(data)
        try:
            im.seek(0)  # animated: the first frame
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im.load()
            _check_size(im.width, im.height, limits, _MODE_BYTES.get(im.mode, 4))  # what was really decoded
            im = ImageOps.exif_transpose(im)
            rgba = _to_rgba(im)
        except InvalidInput:
            raise
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error,
                Image.DecompressionBombError) as exc:
            raise InvalidInput(
                f"the image data is truncated or corrupt ({exc}); re-export or re-upload the picture"
            ) from None
    _check_size(rgba.shape[1], rgba.shape[0], limits)
    return rgba
