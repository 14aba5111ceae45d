"""extrude: the silhouette (holes kept) as a flat slab, like a logo, a cookie cutter or a game token."""

from __future__ import annotations

import cv2
import manifold3d as m3d
import numpy as np
import trimesh

from meshsmith.errors import NoObjectFound

from .assemble import finish, join_parts, unproject, work_mask
from .params import ReconstructParams, metres_per_pixel
from .segment import Segmented
from .texture import planar_uv, smooth_texture

WORK_SIDE = 512            # long side of the working mask, pixels
SIMPLIFY_PX = 0.6          # polygon simplification tolerance, working pixels
# Default thickness (no depth_m): this share of the outline's shorter side. It was 10% of the height, which with the
# assumed 1 m height made a dresser a 10 cm card and a 1 m sword 10 cm thick; the shorter side keeps a sword
# a blade (2.5 cm for a 10 cm wide one), a token a token (a quarter of its diameter) and a dresser a slab
# (25 cm for a 1 m one): still a guess, which the job's "size" event says, pointing to --depth.
DEFAULT_DEPTH_SHARE = 0.25


def slab(section: m3d.CrossSection, depth: float) -> tuple[np.ndarray, np.ndarray]:
    """CrossSection (x, y up) -> ((N, 3) float64 vertices with z in [-depth/2, depth/2], (M, 3) int64 faces)."""
    if section.is_empty():
        raise NoObjectFound("the object outline vanished at working resolution; send a larger picture of it")
    mesh = m3d.Manifold.extrude(section, depth).translate((0.0, 0.0, -depth / 2)).to_mesh()
    return np.asarray(mesh.vert_properties[:, :3], np.float64), np.asarray(mesh.tri_verts, np.int64)


def pixel_section(cells: np.ndarray, bridge: float = 0.005) -> m3d.CrossSection:
    """(h, w) bool -> exact union of unit pixel squares (x right, y up); corner-only contacts get a tiny bridge
    (`bridge` wide) so that the extruded solid stays 2-manifold and in one piece."""
    h, w = cells.shape
    rects = []
    for r in range(h):
        d = np.diff(np.concatenate([[0], cells[r].astype(np.int8), [0]]))
        y0, y1 = h - r - 1.0, h - r * 1.0
        for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
            rects.append(np.array([[a, y0], [b, y0], [b, y1], [a, y1]], np.float64))
    c = np.pad(cells, 1)
    tl, tr, bl, br = c[:-1, :-1], c[:-1, 1:], c[1:, :-1], c[1:, 1:]
    diag = (tl & br & ~tr & ~bl) | (tr & bl & ~tl & ~br)
    e = bridge
    for r, x in zip(*np.nonzero(diag)):  # the corner at x, y = h - r
        y = h - r
        rects.append(np.array([[x - e, y - e], [x + e, y - e], [x + e, y + e], [x - e, y + e]], np.float64))
    return m3d.CrossSection(rects, m3d.FillRule.NonZero)


def outline(inside: np.ndarray) -> m3d.CrossSection:
    """(h, w) bool -> CrossSection in pixel units (x right, y up), holes and islands kept, one piece.

    Smooth simplified contours (traced at 2x so 1-pixel necks survive); if they fall apart into several
    pieces, the exact pixel outline instead.
    """
    h = inside.shape[0]
    up = np.repeat(np.repeat(inside.astype(np.uint8), 2, axis=0), 2, axis=1)
    contours, _ = cv2.findContours(up, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    polys = []
    for c in contours:
        c = cv2.approxPolyDP(c, 2 * SIMPLIFY_PX, True)[:, 0, :].astype(np.float64)
        if len(c) >= 3:
            polys.append(np.column_stack([(c[:, 0] + 0.5) / 2, h - (c[:, 1] + 0.5) / 2]))
    section = m3d.CrossSection(polys, m3d.FillRule.EvenOdd)
    # grow from (2x) pixel centres to pixel edges; the extra grow/shrink closes point contacts
    section = section.offset(0.30, m3d.JoinType.Miter).offset(-0.05, m3d.JoinType.Miter)
    if len(section.decompose()) != 1:
        section = pixel_section(inside)
    return section


def extrude(seg: Segmented, params: ReconstructParams) -> trimesh.Trimesh:
    """Segmented -> slab of depth_m (default DEFAULT_DEPTH_SHARE of the outline's shorter side); front/back show the
    picture, sides its edge."""
    hc, wc = seg.mask.shape
    cov, _ = work_mask(seg.mask, WORK_SIDE, float("inf"))
    inside = join_parts(cov > 0.5, width=3, connectivity=4)
    section = outline(inside).scale((wc / inside.shape[1], hc / inside.shape[0]))
    b = section.bounds()
    width_px, height_px = b[2] - b[0], b[3] - b[1]
    depth_px = DEFAULT_DEPTH_SHARE * min(width_px, height_px)
    if params.depth_m is not None:
        depth_px = params.depth_m / metres_per_pixel(params, width_px, height_px)
    v, f = slab(section, depth_px)
    uv = planar_uv(v[:, :2], wc, hc)
    v = unproject(v, seg, params.fov_deg)  # perspective: the front face shrinks, the back grows
    tex = smooth_texture(seg.rgba, seg.mask, params.texture_size)
    return finish(v, f, uv, tex, params, z_extent_m=params.depth_m)
