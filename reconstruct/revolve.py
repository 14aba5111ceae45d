"""revolve: a surface of revolution about the silhouette's vertical axis (bottles, vases, cups, chess pieces)."""

from __future__ import annotations

import cv2
import numpy as np
import trimesh
from scipy import ndimage

from .assemble import finish
from .cameras import focal_px
from .params import ReconstructParams
from .segment import Segmented
from .texture import planar_uv, smooth_texture

SEGMENTS = 128        # vertices per ring (a multiple of 4: the ring reaches exactly +-r in x and z)
RINGS = 180           # profile samples from bottom to top
PROFILE_SMOOTH = 0.006  # Gaussian sigma of the profile, fraction of the object's height (>= 1 row): a pixel mask
                        # steps by whole pixels, which revolved into terraces (stair-step rings) where the outline
                        # runs at a slant (a bust's shoulders, a bottle's neck); benchmarks/README.md section 10g
AXIS_SIDE = 512       # the axis is searched on a mask at most this wide


def symmetry_axis(mask: np.ndarray) -> tuple[float, float]:
    """(H, W) bool -> (axis x in pixel units from the left edge, mirror overlap score in [0, 1]).

    The score is |mask AND mirror(mask)| / |mask| for the best vertical mirror line.
    """
    h, w = mask.shape
    f = min(1.0, AXIS_SIDE / w)
    m = mask.astype(np.float32)
    if f < 1.0:
        m = cv2.resize(m, (max(2, round(w * f)), max(2, round(h * f))), interpolation=cv2.INTER_AREA)
    n = 2 * m.shape[1]
    spec = np.fft.rfft(m, n=n, axis=1)
    conv = np.fft.irfft((spec * spec).sum(axis=0), n=n)  # conv[t] = sum m[x] m[t - x]: mirror about t/2
    t = int(np.argmax(conv))
    off = 0.0
    if 0 < t < n - 1:  # parabolic refinement
        y0, y1, y2 = conv[t - 1], conv[t], conv[t + 1]
        den = y0 - 2 * y1 + y2
        off = 0.5 * (y0 - y2) / den if den < 0 else 0.0
    score = float(conv[t] / max((m * m).sum(), 1e-9))
    axis_small = (t + off) / 2.0 + 0.5  # pixel centres are at index + 0.5
    return axis_small * w / m.shape[1], min(score, 1.0)


def _runs_about(mask: np.ndarray, axis: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the left/right extents (pixel units) of the run that contains the axis; 0 where none."""
    h, w = mask.shape
    j = int(np.clip(np.floor(axis), 0, w - 1))
    right = np.concatenate([mask[:, j:], np.zeros((h, 1), bool)], axis=1)
    left = np.concatenate([mask[:, :j + 1][:, ::-1], np.zeros((h, 1), bool)], axis=1)
    r_end = j + np.argmin(right, axis=1)            # first empty column at or right of j
    l_end = j + 1 - np.argmin(left, axis=1)         # one past the last empty column at or left of j
    has = mask[:, j]
    return np.where(has, axis - l_end, 0.0), np.where(has, r_end - axis, 0.0)


def _main_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, (centre, half-width) of the longest run; 0, 0 for empty rows."""
    h, w = mask.shape
    p = np.zeros((h, w + 2), np.int8)
    p[:, 1:-1] = mask
    d = np.diff(p, axis=1)
    centre, half = np.zeros(h), np.zeros(h)
    for i in range(h):
        starts, ends = np.flatnonzero(d[i] == 1), np.flatnonzero(d[i] == -1)
        if starts.size:
            k = int(np.argmax(ends - starts))
            centre[i], half[i] = (starts[k] + ends[k]) / 2.0, (ends[k] - starts[k]) / 2.0
    return centre, half


def profile(mask: np.ndarray, symmetry: bool) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(H, W) bool -> per object row (centre x, radius) arrays and the first/last object row."""
    rows = np.flatnonzero(mask.any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    m = mask[top:bottom]
    if symmetry:
        axis, _ = symmetry_axis(mask)
        w = m.shape[1]
        src = np.rint(2 * axis - 1 - np.arange(w)).astype(int)  # mirror of column x about the axis
        ok = (src >= 0) & (src < w)
        mirrored = np.zeros_like(m)
        mirrored[:, ok] = m[:, src[ok]]
        left, right = _runs_about(m & mirrored, axis)
        centre, radius = np.full(len(m), axis), (left + right) / 2.0
    else:
        centre, radius = _main_runs(m)
    floor = max(0.5, 0.004 * (bottom - top))  # a thin neck instead of separate pieces
    empty = radius < floor
    if empty.all():
        radius[:] = floor
    else:
        fill = np.flatnonzero(~empty)
        centre[empty] = np.interp(np.flatnonzero(empty), fill, centre[fill])
        radius = np.maximum(radius, floor)
    return centre, radius, top, bottom


def _resample(values: np.ndarray, n: int) -> np.ndarray:
    """Average (L,) values into n equal bins (L >= n), or linearly interpolate (L < n)."""
    L = len(values)
    edges = np.linspace(0, L, n + 1)
    if L >= n:
        c = np.concatenate([[0.0], np.cumsum(values)])
        return (np.interp(edges[1:], np.arange(L + 1), c) - np.interp(edges[:-1], np.arange(L + 1), c)) / (L / n)
    return np.interp((edges[:-1] + edges[1:]) / 2 - 0.5, np.arange(L), values)


def perspective_profile(seg: Segmented, radius: np.ndarray, top: int, bottom: int, fov_deg: float
                        ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Undo a pinhole camera (vertical fov_deg, principal point at the picture's centre) on a profile.

    radius (L,) per crop row top..bottom, pixels -> (radius (L,) at the axis' depth, keep (L,) bool: rows that
    show the side, not an end's ellipse; top and bottom edge rows, crop pixels down, of the end rings).
    Units stay pixels at the axis' depth D = f (as assemble.unproject). The side edges are the tangent
    points, about at the axis' depth: r = D sin(atan(r_px / D)). An end ring above the eye is seen from below:
    the picture's top edge is its near point, D - r away, drawn D / (D - r) too far from the centre; below
    the eye, its far point (D + r). The rows between the end ring's near and far points show the ellipse of
    the end, not the radius: they take the radius of the first row below it.
    """
    if not fov_deg:
        return radius, np.ones(len(radius), bool), float(top), float(bottom)
    width, height = seg.image_size or seg.mask.shape[::-1]
    f = focal_px(height, fov_deg)
    r = f * np.sin(np.arctan(radius / f))
    rows = top + np.arange(len(r)) + 0.5
    y_rel = height / 2.0 - (seg.origin[1] + rows)        # up from the principal point, px
    keep = np.ones(len(r), bool)
    ends = []
    for edge, inward in ((top, 1.0), (bottom, -1.0)):
        y_edge = height / 2.0 - (seg.origin[1] + edge)
        s = 1.0 if y_edge * inward > 0 else -1.0          # +1: the extreme row is the ring's near point
        band = np.zeros(len(r), bool)
        for _ in range(4):                                 # the band depends on the ring's radius
            inner = np.flatnonzero(~band)
            r_end = float(r[inner[0]] if inward > 0 else r[inner[-1]])
            y_ring = y_edge * (f - s * r_end) / f          # the ring's true height
            y_other = y_ring * f / (f + s * r_end)         # where its other side is drawn
            band = (y_rel - y_other) * inward > 0
            if band.all():
                band[:] = False
                break
        keep &= ~band
        ends.append(height / 2.0 - y_ring - seg.origin[1])
    return r, keep, ends[0], ends[1]


def smooth_profile(radius: np.ndarray) -> np.ndarray:
    """(L,) radius per row -> the same, smoothed along the height by PROFILE_SMOOTH (ends kept: reflected
    borders), so whole-pixel steps of the mask do not become terraces. Mean r^2 is kept per row window,
    so the volume is."""
    sigma = max(1.0, PROFILE_SMOOTH * len(radius))
    return np.sqrt(np.maximum(ndimage.gaussian_filter1d(radius ** 2, sigma, mode="nearest"), 0.0))


def revolve(seg: Segmented, params: ReconstructParams) -> trimesh.Trimesh:
    """Segmented -> closed surface of revolution with flat caps; texture = front projection, mirrored behind
    (auto revolves only pictures with no features across their rows, whose far side may look like the near one).

    fov_deg: the profile is read at the axis' depth and the end rings put where their near (or far) point
    makes the silhouette's end (perspective_profile)."""
    hc, wc = seg.mask.shape
    centre, radius, top, bottom = profile(seg.mask, params.symmetry)
    radius, keep, y_top, y_bottom = perspective_profile(seg, radius, top, bottom, params.fov_deg)
    if keep.any() and not keep.all():  # the ends' ellipse rows take the radius of the nearest side row
        idx = np.flatnonzero(keep)
        near = np.clip(np.arange(len(keep)), idx[0], idx[-1])
        radius, centre = radius[near], centre[near]
    radius = smooth_profile(radius)
    n = min(RINGS, max(8, bottom - top))
    c, r = _resample(centre, n), np.sqrt(_resample(radius**2, n))  # mean r^2 keeps the volume
    ys_down = y_top + (np.arange(n) + 0.5) * (y_bottom - y_top) / n
    ys_down = np.concatenate([[y_top], ys_down, [y_bottom]])  # rims at the exact edges
    c, r = np.concatenate([[c[0]], c, [c[-1]]]), np.concatenate([[r[0]], r, [r[-1]]])
    theta = 2 * np.pi * np.arange(SEGMENTS) / SEGMENTS
    x = c[:, None] + r[:, None] * np.sin(theta)[None, :]
    z = r[:, None] * np.cos(theta)[None, :]
    y = np.broadcast_to((hc - ys_down)[:, None], x.shape)
    rings = len(r)
    v = np.column_stack([x.ravel(), y.ravel(), z.ravel()])
    v = np.vstack([v, [[c[0], hc - y_top, 0.0], [c[-1], hc - y_bottom, 0.0]]])
    top_i, bot_i = len(v) - 2, len(v) - 1
    i = np.arange(rings - 1)[:, None] * SEGMENTS
    j = np.arange(SEGMENTS)[None, :]
    j1 = (j + 1) % SEGMENTS
    a, b, cc, d = i + j, i + j1, i + SEGMENTS + j1, i + SEGMENTS + j
    quads = np.concatenate([np.stack([a, d, cc], -1).reshape(-1, 3), np.stack([a, cc, b], -1).reshape(-1, 3)])
    last = (rings - 1) * SEGMENTS
    cap_top = np.column_stack([np.full(SEGMENTS, top_i), j.ravel(), j1.ravel()])
    cap_bot = np.column_stack([np.full(SEGMENTS, bot_i), last + j1.ravel(), last + j.ravel()])
    faces = np.concatenate([quads, cap_top, cap_bot])
    uv = planar_uv(v[:, :2], wc, hc)
    tex = smooth_texture(seg.rgba, seg.mask, params.texture_size)
    return finish(v, faces, uv, tex, params)
