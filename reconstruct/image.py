"""Decode untrusted image bytes into one RGBA array, refusing bombs and corrupt files."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from meshsmith.errors import InvalidInput


@dataclass(frozen=True)
class ImageLimits:
    """Limits checked before (bytes, header size) and after decoding."""

    max_bytes: int = 32 * 2**20
    max_pixels: int = 40_000_000  # checked from the header BEFORE decoding (decompression bombs)
    max_side: int = 16384


def _check_size(width: int, height: int, limits: ImageLimits) -> None:
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


def _to_rgba(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> (H, W, 4) uint8; 16/32-bit and float greys are rescaled to 8 bits."""
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        grey = np.asarray(im, dtype=np.float64)
        if im.mode == "F":
            top = 1.0 if np.nanmax(grey, initial=0.0) <= 1.0 else 255.0
        else:
            top = 65535.0 if im.mode.startswith("I;16") or np.nanmax(grey, initial=0.0) > 255 else 255.0
        grey = np.clip(np.nan_to_num(grey) * (255.0 / top), 0, 255).round().astype(np.uint8)
        rgba = np.empty(grey.shape + (4,), np.uint8)
        rgba[..., :3] = grey[..., None]
        rgba[..., 3] = 255
        return rgba
    if im.mode == "P" and "transparency" not in im.info:
        im = im.convert("RGB")
    if im.mode not in ("RGBA", "RGB", "L", "LA", "P", "PA", "1", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa", "La"):
        im = im.convert("RGB")
    if im.mode in ("LAB", "HSV"):
        im = im.convert("RGB")
    return np.ascontiguousarray(np.asarray(im.convert("RGBA"), dtype=np.uint8))


def decode_image(data: bytes, limits: ImageLimits = ImageLimits()) -> np.ndarray:
    """Decode PNG/JPEG/GIF/WebP/... bytes -> (H, W, 4) uint8 RGBA.

    Handles P/L/LA/CMYK/I;16/RGB/RGBA, animated images (first frame) and EXIF orientation.
    Raises InvalidInput: empty, not an image, truncated/corrupt, too many bytes/pixels.
    """
    if not data:
        raise InvalidInput("the image is empty (0 bytes); send the bytes of a PNG, JPEG or WebP picture")
    if len(data) > limits.max_bytes:
        raise InvalidInput(
            f"the image is {len(data):,} bytes, more than the limit of {limits.max_bytes:,}: "
            "compress or downscale it and retry"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(bytes(data)))
        except Image.DecompressionBombError as exc:
            raise InvalidInput(
                f"the image header declares far too many pixels ({exc}); downscale it and retry"
            ) from None
        except UnidentifiedImageError:
            raise InvalidInput(
                "the bytes are not an image in a known format; send a PNG, JPEG, WebP, GIF, BMP or TIFF picture"
            ) from None
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for hostile headers
            raise InvalidInput(f"the image header is corrupt ({type(exc).__name__}); re-export the picture") from None
        with im:
            _check_size(im.width, im.height, limits)  # header only: nothing decoded yet
            try:
                im.seek(0)  # animated: the first frame
                im.load()
                im = ImageOps.exif_transpose(im)
                rgba = _to_rgba(im)
            except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError,
                    Image.DecompressionBombError, MemoryError) as exc:
                raise InvalidInput(
                    f"the image data is truncated or corrupt ({exc}); re-export or re-upload the picture"
                ) from None
    _check_size(rgba.shape[1], rgba.shape[0], limits)
    return rgba
