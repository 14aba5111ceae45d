"""The picture's vertical field of view from its EXIF focal length (when the camera wrote one).

FocalLengthIn35mmFilm f35: a 36 x 24 mm frame, so a landscape picture spans 2 atan(24 / (2 f35)) vertically
and a portrait one (taller than wide as displayed, after the EXIF orientation) 2 atan(36 / (2 f35)).
Else FocalLength f with the sensor size from FocalPlaneX/YResolution (pixels per unit of
FocalPlaneResolutionUnit): sensor height = picture height in pixels / resolution.
"""

from __future__ import annotations

import io
import math

from PIL import Image

EXIF_IFD = 0x8769
FOCAL_35 = 0xA405
FOCAL = 0x920A
PLANE_X, PLANE_Y, PLANE_UNIT = 0xA20E, 0xA20F, 0xA210
ORIENTATION = 0x0112
UNIT_MM = {2: 25.4, 3: 10.0, 4: 1.0}  # inch, cm, mm (5: micrometre handled below)


def _num(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return v if math.isfinite(v) and v > 0 else None


def fov_from_exif(data: bytes) -> float | None:
    """Vertical FOV in degrees of the picture as displayed, or None without a usable focal length."""
    try:
        with Image.open(io.BytesIO(bytes(data))) as im:
            exif = im.getexif()
            width, height = im.size
    except Exception:  # noqa: BLE001 - no EXIF is the common case; decode_image reports bad pictures
        return None
    if not exif:
        return None
    sub = exif.get_ifd(EXIF_IFD)
    swapped = exif.get(ORIENTATION, 1) in (5, 6, 7, 8)  # displayed rotated by 90 degrees
    shown_w, shown_h = (height, width) if swapped else (width, height)
    f35 = _num(sub.get(FOCAL_35))
    if f35:
        side = 36.0 if shown_h > shown_w else 24.0
        fov = math.degrees(2 * math.atan(side / (2 * f35)))
        return fov if 1.0 <= fov <= 120.0 else None
    f = _num(sub.get(FOCAL))
    unit = sub.get(PLANE_UNIT, 2)
    per_mm = UNIT_MM.get(unit, 1e-3 if unit == 5 else None)
    res = _num(sub.get(PLANE_X if swapped else PLANE_Y))  # the sensor axis that is vertical when displayed
    if not f or not res or per_mm is None:
        return None
    sensor_px = width if swapped else height
    sensor_mm = sensor_px / res * per_mm
    fov = math.degrees(2 * math.atan(sensor_mm / (2 * f)))
    return fov if 1.0 <= fov <= 120.0 else None
