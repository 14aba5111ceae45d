"""voxel: pixel art / icons -> one cube per opaque pixel, merged into one clean watertight mesh."""

from __future__ import annotations

import math

import cv2
import numpy as np
import trimesh

from .assemble import finish, join_parts
from .extrude import pixel_section, slab
from .params import ReconstructParams, metres_per_pixel
from .segment import Segmented
from .texture import blocky_texture, planar_uv

MAX_CELLS = 128     # a picture that is not pixel art is resampled to at most this many cells per side
BRIDGE = 0.005      # cells that touch only at a corner get a bridge this wide (cell units) so edges stay 2-manifold
DEFAULT_DEPTH = 1 / 16  # default thickness in voxels, fraction of the long side (a 16x16 icon: 1 voxel)
MATCH = 0.99        # share of pixels that must equal their cell's centre pixel for pixel art


def _period(changes: np.ndarray) -> int:
    """(L,) bool 'colour changes between i and i+1' -> the largest step that all change positions share."""
    pos = np.flatnonzero(changes) + 1
    return int(np.gcd.reduce(np.diff(pos))) if pos.size > 1 else 0


def _art_cells(seg: Segmented) -> tuple[np.ndarray, np.ndarray] | None:
    """Upscaled pixel art -> (cells, colours), one cell per art pixel; None when the picture is not that."""
    img = seg.rgba if seg.method == "alpha" else seg.rgba[..., :3]  # colour masks have soft, off-grid edges
    img = np.where(seg.mask[..., None], img, 0) if seg.method == "alpha" else img
    col_change = (img[:, 1:] != img[:, :-1]).any(axis=2).any(axis=0)
    row_change = (img[1:] != img[:-1]).any(axis=2).any(axis=1)
    s = math.gcd(_period(col_change), _period(row_change))
    if s < 2:
        return None
    h, w = seg.mask.shape
    ox, oy = (np.flatnonzero(col_change)[0] + 1) % s, (np.flatnonzero(row_change)[0] + 1) % s
    nx, ny = (w - ox) // s, (h - oy) // s
    inside = np.zeros_like(seg.mask)
    inside[oy:oy + ny * s, ox:ox + nx * s] = True
    if nx < 1 or ny < 1 or (seg.mask & ~inside).any():
        return None
    block = img[oy:oy + ny * s, ox:ox + nx * s]
    centre = block[s // 2::s, s // 2::s]
    if (np.repeat(np.repeat(centre, s, axis=0), s, axis=1) == block).all(axis=2).mean() < MATCH:
        return None
    cover = seg.mask[oy:oy + ny * s, ox:ox + nx * s].reshape(ny, s, nx, s).mean(axis=(1, 3))
    colours = seg.rgba[oy:oy + ny * s, ox:ox + nx * s][s // 2::s, s // 2::s, :3]
    return cover >= 0.5, np.ascontiguousarray(colours)


def pixel_grid(seg: Segmented) -> tuple[np.ndarray, np.ndarray]:
    """Segmented -> ((h, w) bool occupied cells, (h, w, 3) uint8 cell colours).

    Upscaled pixel art is detected (blocks of equal pixels) and mapped back to one cell per art pixel;
    any other picture is area-resampled to at most MAX_CELLS cells on its long side.
    """
    art = _art_cells(seg)
    if art is not None:
        return art
    h, w = seg.mask.shape
    f = min(1.0, MAX_CELLS / max(h, w))
    cw, ch = max(1, round(w * f)), max(1, round(h * f))
    cov = cv2.resize(seg.mask.astype(np.float32), (cw, ch), interpolation=cv2.INTER_AREA)
    rgb = np.where(seg.mask[..., None], seg.rgba[..., :3], 0).astype(np.float32)
    rgb = cv2.resize(rgb, (cw, ch), interpolation=cv2.INTER_AREA)
    colours = np.clip(rgb / np.maximum(cov, 1e-6)[..., None] + 0.5, 0, 255).astype(np.uint8)
    return cov >= 0.5, colours


def voxel(seg: Segmented, params: ReconstructParams) -> trimesh.Trimesh:
    """Segmented -> voxel slab (depth_m rounded to whole voxels, default 1/16 of the long side, >= 1 voxel).

    Colours come from a blocky texture (one flat texel block per cell), never vertex colours.
    """
    cells, colours = pixel_grid(seg)
    opaque = cells
    cells = join_parts(cells, width=1, connectivity=8)
    rows, cols = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
    depth = max(1, round(DEFAULT_DEPTH * max(rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0])))
    if params.depth_m is not None:
        cell_m = metres_per_pixel(params, cols[-1] + 1 - cols[0], rows[-1] + 1 - rows[0])
        depth = max(1, int(round(params.depth_m / cell_m)))
    v, f = slab(pixel_section(cells, BRIDGE), float(depth))
    h, w = cells.shape
    uv = planar_uv(v[:, :2], w, h, pad=1)  # one empty cell of gutter around the grid
    # bars joining parts are not `opaque`: they take nearby colours
    tex = blocky_texture(np.pad(colours, ((1, 1), (1, 1), (0, 0))), np.pad(opaque, 1), params.texture_size)
    return finish(v, f, uv, tex, params)
