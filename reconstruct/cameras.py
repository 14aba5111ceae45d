"""View labels, camera poses and the crop's place in its picture (shared by multiview and rgbd).

Convention (glTF): +Y up, the object's front faces +Z. Yaw θ puts the camera at (sin θ, 0, cos θ) looking
at the object with +Y up (front 0, right 90, back 180, left 270); top = camera on +Y looking down with -Z
at the top of the picture; bottom = camera on -Y with +Z at the top. View axes: x right, y up, z toward
the camera (the same as reconstruct.render's Camera).
"""

from __future__ import annotations

import math
import re

import cv2
import numpy as np

from meshsmith import limits
from meshsmith.errors import InvalidInput

from .segment import Segmented

def focal_px(height: float, fov_deg: float) -> float:
    """The pinhole focal length in pixels of a picture `height` pixels tall with vertical field of view fov_deg."""
    return (height / 2.0) / math.tan(math.radians(fov_deg) / 2.0)


NAMED = {"front": (0.0, 0.0), "right": (90.0, 0.0), "back": (180.0, 0.0), "left": (270.0, 0.0),
         "top": (0.0, 90.0), "bottom": (0.0, -90.0)}


_YAW = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)  # the label is at most 32 characters
_LABELS_HELP = ("front, back, left, right, top, bottom or a yaw in degrees: ASCII digits 0-9 with an optional sign "
                "and decimals, from {lo:g} to {hi:g} (turntable: front 0, right 90, back 180, left 270)")


def parse_label(label: str) -> tuple[float, float]:
    """'front'|'back'|'left'|'right'|'top'|'bottom'|yaw degrees -> (yaw_deg in [0, 360), pitch_deg).

    A yaw is ASCII digits (float() would also take '٩٠', '１８０', '1e3', '1_0' and 'inf'), optionally signed and
    with decimals, optionally followed by 'deg' or '°', within limits.YAW_RANGE_DEG; else InvalidInput naming it."""
    lo, hi = limits.YAW_RANGE_DEG
    text = str(label).strip().lower()
    if text in NAMED:
        return NAMED[text]
    num = text.removesuffix("deg").removesuffix("°").strip()
    if not _YAW.fullmatch(num):
        raise InvalidInput(f"unknown view label {limits.quote(label, 40)}: use {_LABELS_HELP.format(lo=lo, hi=hi)}")
    yaw = float(num)
    if not lo <= yaw <= hi:
        raise InvalidInput(f"view label {limits.quote(label, 40)} is a yaw past a turn: use "
                           f"{_LABELS_HELP.format(lo=lo, hi=hi)}")
    return yaw % 360.0, 0.0


def rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """(3, 3) world -> view rotation Rx(pitch) @ Ry(-yaw); rows are the view's x, y, z axes in world."""
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    ry = np.array([[math.cos(y), 0, -math.sin(y)], [0, 1, 0], [math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    r = rx @ ry
    r[np.abs(r) < 1e-12] = 0.0
    return r


def locate_crop(rgba: np.ndarray, seg: Segmented) -> tuple[int, int]:
    """(row, col) of the segmented crop's top-left corner in the full (H, W, 4) picture it was cut from.

    The crop's colours are an exact copy of the picture's, so the best match has zero difference.
    """
    h, w = seg.mask.shape
    H, W = rgba.shape[:2]
    if (h, w) == (H, W):
        return 0, 0
    f = max(1, max(H, W) // 256)  # coarse search first, then exact at full resolution near the hit
    full = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    crop = cv2.cvtColor(np.ascontiguousarray(seg.rgba[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    if f > 1 and h // f >= 4 and w // f >= 4:
        res = cv2.matchTemplate(full[::f, ::f], crop[::f, ::f], cv2.TM_SQDIFF)
        y, x = np.unravel_index(int(np.argmin(res)), res.shape)
        y0, x0 = max(0, y * f - 2 * f), max(0, x * f - 2 * f)
        y1, x1 = min(H, y * f + 2 * f + h), min(W, x * f + 2 * f + w)
        res = cv2.matchTemplate(full[y0:y1, x0:x1], crop, cv2.TM_SQDIFF)
        y, x = np.unravel_index(int(np.argmin(res)), res.shape)
        y, x = y + y0, x + x0
        if np.array_equal(rgba[y:y + h, x:x + w, :3], seg.rgba[..., :3]):
            return int(y), int(x)
    res = cv2.matchTemplate(full, crop, cv2.TM_SQDIFF)
    y, x = np.unravel_index(int(np.argmin(res)), res.shape)
    return int(y), int(x)


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool -> (H, W) float32 distance to the silhouette edge in pixels, > 0 inside, 0 on pixel edges."""
    from scipy import ndimage

    inside = ndimage.distance_transform_edt(mask)
    outside = ndimage.distance_transform_edt(~mask)
    return np.where(mask, inside - 0.5, 0.5 - outside).astype(np.float32)


def sample(image: np.ndarray, u: np.ndarray, v: np.ndarray, outside: float) -> np.ndarray:
    """Bilinear samples of a (H, W[, C]) float32 image at edge coordinates u (right), v (down), any shape."""
    shape = u.shape
    n = u.size
    cols = 1024 if n >= 1024 else max(n, 1)
    rows = -(-n // cols)
    mx = np.full(rows * cols, -10.0, np.float32)
    my = np.full(rows * cols, -10.0, np.float32)
    mx[:n] = u.ravel() - 0.5
    my[:n] = v.ravel() - 0.5
    out = cv2.remap(image, mx.reshape(rows, cols), my.reshape(rows, cols), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT, borderValue=outside)
    if out.ndim == 3:
        return out.reshape(rows * cols, -1)[:n].reshape(*shape, out.shape[-1])
    return out.ravel()[:n].reshape(shape)
