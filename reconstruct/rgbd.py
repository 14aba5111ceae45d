"""RGB-D input: a depth map aligned with the picture -> a solid whose front follows the measured depth.

Depth: one channel, 16-bit PNG (integers) or 32-bit float TIFF; 0, NaN and inf mean "no reading".
Units: "m" or "mm" (metric) or "relative" (depth up to an unknown scale; larger = farther; orthographic: the relief in front of the rim
is taken to be half the object's short side, as a sphere's), and, for monocular models only (not a user's choice), "affine"
(unknown scale *and* offset, as a relative model's flipped inverse depth: the relief is that prior in perspective too, and the
object sits at the distance its pixel extent and the focal length imply, whatever the offset or the background).
Geometry: each object pixel's reading, back-projected (pinhole with `fov_deg`, else orthographic with the
pixel size from the target height), is the front surface; the back is the front mirrored about the rim
(the depth of the silhouette edge, interpolated smoothly inside: a sphere comes back a sphere, a box
front-on a slab as deep as nothing tells otherwise - see THICKNESS_PRIOR), no deeper than a round
cross-section and no thinner than a diamond one (a part whose rim lies in front of it - an ear behind a
face, a hand reaching toward the camera - keeps a body); the solid between them is closed by marching
cubes on a signed field, like multiview's hull (no terraces).
"""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.measure import marching_cubes

from meshsmith import limits
from meshsmith.errors import InvalidInput

from .assemble import check_closed, finish
from .cameras import focal_px, sample, signed_distance
from .multiview import largest_component
from .params import ReconstructParams, Reconstruction, check_params
from .segment import Segmented
from .texture import planar_uv, smooth_texture

UNITS = {"m": 1.0, "mm": 1e-3, "relative": 1.0, "affine": 1.0}
METRIC = ("m", "mm")     # units whose readings are checked against limits.DEPTH_RANGE_M / DEPTH_RELIEF_RATIO
GRID = 128               # voxels along the object's longest side
THICKNESS_PRIOR = 0.15   # a front with (almost) no relief still gets this much depth, share of its short side
SMOOTH_SIGMA = 0.6
ROUND_SLACK = 1.25       # the back may be this much deeper than a round cross-section
RIM_BAND = 6             # pixels from the edge used to find the rim depth
DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F", "L")


def decode_depth(data: bytes, max_pixels: int = 40_000_000) -> np.ndarray:
    """16-bit PNG / 32-bit float TIFF bytes -> (H, W) float64, NaN where there is no reading.

    Raises InvalidInput for a colour picture, an unreadable file or one without any reading.
    """
    if not data:
        raise InvalidInput("the depth map is empty: send a 16-bit PNG or 32-bit float TIFF aligned with the image")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(bytes(data)))
            if im.width * im.height > max_pixels:
                raise InvalidInput(f"the depth map has {im.width * im.height:,} pixels, more than {max_pixels:,}")
            im.load()
        except InvalidInput:
            raise
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for hostile files
            raise InvalidInput(f"the depth map is not a readable image ({type(exc).__name__}); send a 16-bit PNG "
                               "or 32-bit float TIFF") from None
    if im.mode not in DEPTH_MODES:
        if im.mode in ("RGB", "RGBA", "P", "LA", "CMYK", "YCbCr"):
            arr = np.asarray(im.convert("RGB"))
            if not (arr[..., 0] == arr[..., 1]).all() or not (arr[..., 1] == arr[..., 2]).all():
                raise InvalidInput(f"the depth map is a colour picture ({im.mode}), not depth: send one channel of "
                                   "distances as a 16-bit PNG or a 32-bit float TIFF")
            im = im.convert("L")
        else:
            raise InvalidInput(f"the depth map has pixel mode {im.mode}; send a 16-bit PNG or 32-bit float TIFF")
    depth = np.asarray(im, np.float64)
    depth[~np.isfinite(depth) | (depth <= 0)] = np.nan
    if np.isnan(depth).all():
        raise InvalidInput("the depth map has no readings (every pixel is 0 or not a number)")
    return depth


def _fill(depth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Missing readings inside the mask take the nearest reading (then a light blur)."""
    have = np.isfinite(depth) & mask
    if not have.any():
        raise InvalidInput("the depth map has no readings on the object; check that it is aligned with the image")
    _, (iy, ix) = ndimage.distance_transform_edt(~have, return_indices=True)
    return depth[iy, ix]


def _rim_depth(depth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(h, w) depth of the silhouette edge, extended smoothly inside (the mirror surface of the back).

    Near an occluding edge a smooth surface's depth goes as d = rim - b*sqrt(s) (s: distance to the edge),
    so each edge point's rim depth is the intercept of that fit over the pixels within RIM_BAND of it: the
    outermost pixel's own reading would miss the rim of a sphere by sqrt(2 r) pixels.
    """
    h, w = mask.shape
    dist, (iy, ix) = ndimage.distance_transform_edt(mask, return_indices=True)
    near = mask & (dist <= RIM_BAND + 0.5)
    key = (iy * w + ix)[near]
    uniq, inv = np.unique(key, return_inverse=True)
    x = np.sqrt(dist[near] - 0.5 + 0.25)
    y = depth[near]
    n = np.bincount(inv).astype(np.float64)
    sx, sy = np.bincount(inv, x), np.bincount(inv, y)
    sxx, sxy = np.bincount(inv, x * x), np.bincount(inv, x * y)
    den = n * sxx - sx * sx
    slope = np.where((n >= 3) & (den > 1e-9), (n * sxy - sx * sy) / np.where(den > 1e-9, den, 1.0), 0.0)
    slope = np.minimum(slope, 0.0)           # deeper toward the edge only
    top = np.full(len(uniq), -np.inf)
    np.maximum.at(top, inv, y)
    icpt = np.maximum((sy - slope * sx) / np.maximum(n, 1), top)
    ring = mask & (dist <= 1.0)
    rim = np.full(mask.shape, np.nan)
    rim[near] = icpt[inv]
    rim[~ring] = np.nan
    _, (jy, jx) = ndimage.distance_transform_edt(np.isnan(rim), return_indices=True)
    out = rim[jy, jx]
    held = out.copy()
    small = max(1, max(mask.shape) // 64)
    for sigma in (8.0, 4.0, 2.0):
        out = np.where(ring, held, ndimage.gaussian_filter(out, sigma * small))
    return out


def _relief(d: np.ndarray, mask: np.ndarray) -> float:
    """How far the visible surface comes in front of its rim (99.5th percentile, > 0)."""
    relief = float(np.percentile((_rim_depth(d, mask) - d)[mask], 99.5))
    return max(relief, 1e-9 * float(np.abs(d[mask]).max()))


def _metres_per_px(params: ReconstructParams, width_px: int, height_px: int) -> float:
    """Orthographic metric depth: the object is target_height_m tall (or target_width_m wide)."""
    size_m = params.target_width_m or params.target_height_m or 1.0
    size_px = width_px if params.target_width_m else height_px
    return size_m / size_px


def check_metric_depth(readings_m: np.ndarray, side_m: float, camera: str = "orthographic") -> None:
    """InvalidInput unless the object's metric depth readings lie within limits.DEPTH_RANGE_M and span at most
    limits.DEPTH_RELIEF_RATIO times `side_m`, the object's larger side (perspective: at its nearest reading)."""
    lo_ok, hi_ok = limits.DEPTH_RANGE_M
    lo, hi = float(readings_m.min()), float(readings_m.max())
    if not lo_ok <= lo <= hi <= hi_ok:
        raise InvalidInput(f"the depth map reads {lo:.3g} to {hi:.3g} m on the object; readings from {lo_ok:g} to "
                           f"{hi_ok:g} m are accepted (0, NaN and inf mean no reading): check the depth units "
                           "(m, mm or relative)")
    span, ratio = hi - lo, limits.DEPTH_RELIEF_RATIO
    if span > ratio * side_m:
        how = "at its nearest reading" if camera == "perspective" else "at the target size"
        raise InvalidInput(f"the depth map's relief on the object spans {span:.3g} m ({lo:.3g} to {hi:.3g} m), more than "
                           f"{ratio:g}x the object's larger side ({side_m:.3g} m {how}); a depth map's relief is at most "
                           f"{ratio:g}x the object's size: check the depth units, the target size and that the map is "
                           "a smooth, aligned reading of this picture")


def reconstruct_rgbd(seg: Segmented, depth_crop: np.ndarray, units: str = "m",
                     params: ReconstructParams = ReconstructParams(),
                     principal: tuple[float, float] | None = None, picture_height: int | None = None) -> Reconstruction:
    """Segmented crop + (h, w) depth for the same crop -> textured watertight solid (mode "rgbd").

    principal: the picture centre in crop pixels (col, row) for perspective; picture_height: the full
    picture's height in pixels (the vertical field of view spans it).
    """
    check_params(params)
    if units not in UNITS:
        raise InvalidInput(f"depth units must be one of {', '.join(UNITS)}, got {units[:20]!r}")
    mask = seg.mask
    h, w = mask.shape
    if depth_crop.shape != mask.shape:
        raise InvalidInput(f"the depth map is {depth_crop.shape[1]}x{depth_crop.shape[0]}, the image "
                           f"{w}x{h}: they must have the same size")
    d = _fill(depth_crop * UNITS[units], mask)
    fov = float(getattr(params, "fov_deg", 0.0) or 0.0)
    ys, xs = np.nonzero(mask)
    width_px, height_px = xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()
    short = min(width_px, height_px)
    prior = 0.5 * short  # unknown scale: the visible relief in front of the rim is half the short side, in pixels
    if units in METRIC:
        if fov:
            near_side_m = max(width_px, height_px) * float(d[mask].min()) / focal_px(picture_height or h, fov)
        else:
            near_side_m = max(width_px, height_px) * _metres_per_px(params, width_px, height_px)
        check_metric_depth(d[mask], near_side_m, "perspective" if fov else "orthographic")
    if fov:
        f = focal_px(picture_height or h, fov)
        cx, cy = principal if principal is not None else (w / 2.0, h / 2.0)
        if units == "affine":  # the nearest point at distance f: there one depth unit spans one pixel
            near = float(d[mask].min())
            d = f + (d - near) * (prior / _relief(d, mask))
    else:
        f, cx, cy = 0.0, 0.0, 0.0
        if units in ("relative", "affine"):
            d = d * (prior / _relief(d, mask))
        else:  # metres -> pixels: the object is target_height_m tall (or target_width_m wide)
            size_m = params.target_width_m or params.target_height_m or 1.0
            size_px = width_px if params.target_width_m else height_px
            d = d * (size_px / size_m)
    rim = _rim_depth(d, mask)
    sdf_px = signed_distance(mask)
    front_min = float(d[mask].min())
    relief = float(np.percentile(rim[mask] - d[mask], 99))
    if not fov:
        floor = THICKNESS_PRIOR * short
    else:
        floor = THICKNESS_PRIOR * short * float(np.median(d[mask])) / f
    if fov:  # the rim seen in perspective lies in front of the object's middle by about rho * tan(alpha)
        # (a sphere: r^2 / D at the centre), tapering to 0 at the edge where the rim is the tangent point
        rho_px = math.sqrt(mask.sum() / math.pi)
        inner = np.clip(sdf_px / max(float(sdf_px.max()), 1e-9), 0, 1)
        rim = rim + float(np.median(rim[mask])) * (rho_px / f) ** 2 * (1 - (1 - inner) ** 2)
    back = np.maximum(2 * rim - d, d + max(0.0, floor - relief))  # mirrored about the rim, at least the prior
    # ...and at most a round cross-section's thickness (a sphere's exactly, with slack): a rim that lies far
    # behind (an ear, a crease seen edge-on) must not make the whole back twice as deep
    s_px = np.clip(sdf_px, 0, None)
    big = float(s_px.max())
    cap = ROUND_SLACK * 2 * np.sqrt(s_px * np.maximum(2 * big - s_px, 0))
    if fov:
        cap = cap * d / f  # pixels -> depth units at that depth
    back = np.minimum(back, d + np.maximum(cap, max(0.0, floor - relief)))
    # ...and at least a diamond section (2 s at s pixels from the edge, up to the floor): a part whose rim
    # lies in front of it (an arm reaching toward the camera) keeps its thickness instead of falling away
    diamond = 2 * s_px * (d / f if fov else 1.0)
    back = np.maximum(back, d + np.minimum(diamond, floor))
    sdf = sdf_px
    d32, b32 = d.astype(np.float32), back.astype(np.float32)
    # the solid in camera space: x right, y up, z = -depth (toward the camera is +z)
    if fov:
        zn, zf = front_min, float(back[mask].max())
        xr = np.array([(xs.min() - cx), (xs.max() + 1 - cx)]) / f
        yr = np.array([(cy - ys.max() - 1), (cy - ys.min())]) / f
        lo = np.array([min(xr[0] * zn, xr[0] * zf),
                       min(yr[0] * zn, yr[0] * zf), -zf])
        hi = np.array([max(xr[1] * zn, xr[1] * zf), max(yr[1] * zn, yr[1] * zf), -zn])
    else:
        lo = np.array([xs.min(), h - ys.max() - 1, -float(back[mask].max())], float)
        hi = np.array([xs.max() + 1, h - ys.min(), -front_min], float)
    step = float((hi - lo).max()) / GRID
    pad = 3 * step
    axes = [np.arange(lo[k] - pad, hi[k] + pad + step, step) for k in range(3)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).astype(np.float32)
    depth_at = -pts[..., 2]
    if fov:
        k = f / np.maximum(depth_at, 1e-6)
        u, v = cx + pts[..., 0] * k, cy - pts[..., 1] * k
    else:
        k = np.ones_like(depth_at)
        u, v = pts[..., 0], h - pts[..., 1]
    field = sample(sdf, u, v, -1e4) / k
    field = np.minimum(field, depth_at - sample(d32, u, v, 1e9))
    field = np.minimum(field, sample(b32, u, v, -1e9) - depth_at)
    labels, n = ndimage.label(field > 0)
    if n > 1:
        sizes = ndimage.sum(np.ones_like(labels), labels, index=np.arange(1, n + 1))
        field = np.where((labels == 0) | (labels == 1 + int(np.argmax(sizes))), field, -step).astype(np.float32)
    field = ndimage.gaussian_filter(np.clip(field, -4 * step, 4 * step).astype(np.float32), SMOOTH_SIGMA,
                                    mode="nearest")  # clipped: sentinels must not bleed through the blur
    field = np.pad(field, 1, constant_values=-step)
    field[field == 0.0] = 1e-7
    verts, faces, _, _ = marching_cubes(field, 0.0, spacing=(step,) * 3, allow_degenerate=False)
    verts, faces = largest_component(verts.astype(np.float64) + [a[0] - step for a in axes], faces)
    # UVs: each vertex's projection into the picture (the back sees the front mirrored, as inflate does)
    if fov:
        z = np.maximum(-verts[:, 2], 1e-9)
        px = np.column_stack([cx + verts[:, 0] * f / z, h - (cy - verts[:, 1] * f / z)])
    else:
        px = verts[:, :2].copy()
    uv = planar_uv(px, w, h)
    tex = smooth_texture(seg.rgba, mask, params.texture_size)
    if check_closed(verts, faces) < 0:
        faces = np.ascontiguousarray(faces[:, ::-1])
    mesh = finish(verts, faces, uv, tex, params, z_extent_m=params.depth_m)
    kind = f"perspective {fov:g} deg" if fov else "orthographic"
    return Reconstruction(mesh=mesh, mode="rgbd",
                          reason=f"front surface from the depth map ({units}, {kind}), back mirrored about the rim")


def crop_depth(depth: np.ndarray, picture_shape: tuple[int, int], offset: tuple[int, int],
               crop_shape: tuple[int, int]) -> np.ndarray:
    """The part of a full-picture (H, W) depth map under the segmented crop; InvalidInput on a size mismatch."""
    H, W = picture_shape
    if depth.shape != (H, W):
        raise InvalidInput(f"the depth map is {depth.shape[1]}x{depth.shape[0]} pixels but the image is {W}x{H}: "
                           "send a depth map aligned with the image, of the same size")
    y, x = offset
    return depth[y:y + crop_shape[0], x:x + crop_shape[1]]


__all__ = ["UNITS", "crop_depth", "decode_depth", "reconstruct_rgbd"]
