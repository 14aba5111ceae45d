"""relief: a height field from image luminance on a rectangular base plate (wall art, coins, lithophanes).

Print-ready: one watertight solid; sizes are real (target_width_m=0.1 is a 100 mm plate). The plate
stands upright like a picture (+Y up) with the relief facing +Z; brighter is higher (thicker), or with
`invert` thinner where bright: a lithophane, lit from behind. Any picture works: when nothing stands
out from the background (`relief_input`), the whole frame is the relief; otherwise the object is.
Millimetre parameters (`ReliefParams.width_mm/min_mm/max_mm/frame_mm`) set the plate exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
import trimesh

from meshsmith.errors import InvalidInput

from .assemble import finish
from .params import ReconstructParams, metres_per_pixel
from .segment import NoObjectFound, SegmentParams, Segmented, segment
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
    # millimetre sizes (None: the fractions above and ReconstructParams' target size)
    width_mm: float | None = None   # whole plate width, frame included; the height follows the picture
    min_mm: float | None = None     # thinnest plate (darkest, or brightest with invert)
    max_mm: float | None = None     # thickest plate
    frame_mm: float = 0.0           # border around the picture at max thickness
    invert: bool = False            # thin where bright (lithophane)

    @property
    def in_mm(self) -> bool:
        return self.width_mm is not None or self.min_mm is not None or self.max_mm is not None or self.frame_mm > 0


def relief_input(rgba: np.ndarray, params: SegmentParams = SegmentParams()) -> Segmented:
    """The object when one stands out; else, for an opaque picture, the full frame (rgba (H, W, 4) uint8)."""
    try:
        return segment(rgba, params)
    except NoObjectFound:
        h, w = rgba.shape[:2]
        if min(h, w) < 8 or (rgba[..., 3] < 255).any():  # too small, or a cut-out with nothing in it
            raise
        return Segmented(rgba=rgba, mask=np.ones((h, w), bool), method="full-frame")


def _mm_scale(rp: ReliefParams, params: ReconstructParams, wc: int, hc: int) -> tuple[float, float]:
    """(metres per picture pixel, frame width in pixels) so the whole plate gets the asked size."""
    f = rp.frame_mm / 1000.0
    if rp.width_mm is not None:
        mpp = (rp.width_mm / 1000.0 - 2 * f) / wc
    elif params.target_width_m is not None:
        mpp = (params.target_width_m - 2 * f) / wc
    else:
        mpp = ((params.target_height_m or 1.0) - 2 * f) / hc
    if mpp <= 0:
        raise InvalidInput(f"a {rp.frame_mm:g} mm frame leaves no room for the picture: make it narrower or the plate wider")
    return mpp, f / mpp


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
    mpp, frame_px = _mm_scale(rp, params, wc, hc) if rp.in_mm else (metres_per_pixel(params, wc, hc), 0.0)
    side_m = max(wc, hc) * mpp
    base = (rp.min_mm / 1000 if rp.min_mm is not None else max(rp.base_fraction * side_m, rp.min_base_m)) / mpp
    if rp.max_mm is not None:
        depth = (rp.max_mm / 1000 - base * mpp) / mpp
        if depth <= 0:
            raise InvalidInput(f"max_mm ({rp.max_mm:g}) must be above min_mm ({base * mpp * 1000:g})")
    else:
        depth = (params.depth_m if params.depth_m is not None else rp.depth_fraction * side_m) / mpp
    rgb = cv2.resize(seg.rgba[..., :3], (gw, gh), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    cov = cv2.resize(seg.mask.astype(np.float32), (gw, gh), interpolation=cv2.INTER_AREA)
    lum = rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    if rp.invert:
        lum = 1.0 - lum
    lift = 0.0 if seg.mask.all() else rp.object_lift  # full frame: the picture spans min..max thickness
    height = cov * (lift + (1 - lift) * lum)
    height = cv2.GaussianBlur(height, (0, 0), rp.blur_cells)
    xs = np.linspace(0.0, wc, gw)
    ys = np.linspace(hc, 0.0, gh)
    if frame_px > 0:  # a border at full thickness: extra grid cells around the picture
        n = max(1, round(frame_px / (wc / (gw - 1))))
        height = np.pad(height, n, constant_values=1.0)
        xs = np.concatenate([np.linspace(-frame_px, 0, n + 1)[:-1], xs, np.linspace(wc, wc + frame_px, n + 1)[1:]])
        ys = np.concatenate([np.linspace(hc + frame_px, hc, n + 1)[:-1], ys, np.linspace(0, -frame_px, n + 1)[1:]])
        gh, gw = height.shape
    else:
        height[[0, -1], :] = 0.0  # flat rim: the plate edge is the base thickness
        height[:, [0, -1]] = 0.0
    # grid rows go top to bottom of the picture; y is up
    gx, gy = np.meshgrid(xs, ys)
    top = np.column_stack([gx.ravel(), gy.ravel(), (base + depth * height).ravel()])
    ring = _ring(gh, gw)
    n = gh * gw
    bottom = top[ring].copy()
    bottom[:, 2] = 0.0
    centre = np.array([[wc / 2, hc / 2, 0.0]])  # the floor fan's hub
    v = np.vstack([top, bottom, centre])
    k = len(ring)
    i = np.arange(k)
    i1 = (i + 1) % k
    walls = np.concatenate([np.column_stack([ring[i], n + i1, n + i]), np.column_stack([ring[i], ring[i1], n + i1])])
    floor = np.column_stack([np.full(k, n + k), n + i, n + i1])
    faces = np.concatenate([_grid_faces(gh, gw), walls, floor])
    uv = np.clip(planar_uv(v[:, :2], wc, hc), 0.0, 1.0)  # the frame takes the picture's edge colour
    alpha = seg.rgba[..., 3:4].astype(np.float32) / 255.0
    plate = seg.rgba[..., :3] * alpha + np.float32(PLATE_GREY) * (1 - alpha)
    rgba = np.dstack([np.clip(plate + 0.5, 0, 255).astype(np.uint8), np.full((hc, wc), 255, np.uint8)])
    tex = smooth_texture(rgba, np.ones_like(seg.mask), params.texture_size)
    if rp.in_mm:  # finish() scales the whole plate (frame included) to this width: mpp per pixel
        params = replace(params, target_width_m=(wc + 2 * frame_px) * mpp, target_height_m=None)
    return finish(v, faces, uv, tex, params)


def relief(seg: Segmented, params: ReconstructParams) -> trimesh.Trimesh:
    """relief with default ReliefParams; depth_m is the relief depth above the base plate."""
    return relief_with(seg, params)
