"""relief: a height field from image luminance on a rectangular base plate (wall art, coins, lithophanes).

Print-ready: one watertight solid; sizes are real (target_width_m=0.1 is a 100 mm plate). The plate
stands upright like a picture (+Y up) with the relief facing +Z; brighter is higher.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import trimesh

from .assemble import finish
from .params import ReconstructParams, metres_per_pixel
from .segment import Segmented
from .texture import planar_uv, smooth_texture


PLATE_GREY = 200  # texture colour of the plate around the object


@dataclass(frozen=True)
class ReliefParams:
    grid_side: int = 200            # height-field samples on the plate's long side
    base_fraction: float = 0.02     # base plate thickness, fraction of the plate's long side...
    min_base_m: float = 0.0008      # ...but at least this (a printable wall)
    depth_fraction: float = 0.03    # relief depth when depth_m is None, fraction of the long side
    object_lift: float = 0.2        # the object stands this share of the depth above the background
    blur_cells: float = 0.7         # Gaussian smoothing of the height field, grid cells


def _grid_faces(gh: int, gw: int, start: int = 0) -> np.ndarray:
    idx = start + np.arange(gh * gw).reshape(gh, gw)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]
    return np.concatenate([np.stack([a, d, c], -1).reshape(-1, 3), np.stack([a, c, b], -1).reshape(-1, 3)])


def _ring(gh: int, gw: int) -> np.ndarray:
    """Indices of the grid boundary, walking around once."""
    idx = np.arange(gh * gw).reshape(gh, gw)
    return np.concatenate([idx[0, :-1], idx[:-1, -1], idx[-1, :0:-1], idx[:0:-1, 0]])


def relief_with(seg: Segmented, params: ReconstructParams, rp: ReliefParams = ReliefParams()) -> trimesh.Trimesh:
    """Segmented -> plate with a luminance relief; texture = the picture on the front."""
    hc, wc = seg.mask.shape
    f = rp.grid_side / max(hc, wc)
    gw, gh = max(4, round(wc * f)), max(4, round(hc * f))
    mpp = metres_per_pixel(params, wc, hc)
    side_m = max(wc, hc) * mpp
    base = max(rp.base_fraction * side_m, rp.min_base_m) / mpp
    depth = (params.depth_m if params.depth_m is not None else rp.depth_fraction * side_m) / mpp
    rgb = cv2.resize(seg.rgba[..., :3], (gw, gh), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    cov = cv2.resize(seg.mask.astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA)
    lum = rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    height = cov * (rp.object_lift + (1 - rp.object_lift) * lum)
    height = cv2.GaussianBlur(height, (0, 0), rp.blur_cells)
    height[[0, -1], :] = 0.0  # flat rim: the plate edge is the base thickness
    height[:, [0, -1]] = 0.0
    # grid rows go top to bottom of the picture; y is up
    xs = np.linspace(0.0, wc, gw)
    ys = np.linspace(hc, 0.0, gh)
    gx, gy = np.meshgrid(xs, ys)
    top = np.column_stack([gx.ravel(), gy.ravel(), (base + depth * height).ravel()])
    ring = _ring(gh, gw)
    n = gh * gw
    bottom = top[ring].copy()
    bottom[:, 2] = 0.0
    centre = np.array([[wc / 2, hc / 2, 0.0]])
    v = np.vstack([top, bottom, centre])
    k = len(ring)
    i = np.arange(k)
    i1 = (i + 1) % k
    walls = np.concatenate([np.column_stack([ring[i], n + i1, n + i]), np.column_stack([ring[i], ring[i1], n + i1])])
    floor = np.column_stack([np.full(k, n + k), n + i, n + i1])
    faces = np.concatenate([_grid_faces(gh, gw), walls, floor])
    uv = planar_uv(v[:, :2], wc, hc)
    alpha = seg.rgba[..., 3:4].astype(np.float32) / 255.0
    plate = seg.rgba[..., :3] * alpha + np.float32(PLATE_GREY) * (1 - alpha)
    rgba = np.dstack([np.clip(plate + 0.5, 0, 255).astype(np.uint8), np.full((hc, wc), 255, np.uint8)])
    tex = smooth_texture(rgba, np.ones_like(seg.mask), params.texture_size)
    return finish(v, faces, uv, tex, params)


def relief(seg: Segmented, params: ReconstructParams) -> trimesh.Trimesh:
    """relief with default ReliefParams; depth_m is the relief depth above the base plate."""
    return relief_with(seg, params)
