"""auto: pick a mode from the segmented picture, with a one-sentence reason."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from .params import ReconstructParams
from .revolve import symmetry_axis
from .segment import Segmented
from .voxel import pixel_grid

REVOLVE_SYMMETRY = 0.97     # mirror overlap needed to revolve
REVOLVE_SOLID_ROWS = 0.99   # fraction of rows that must be one solid run (no legs, arms, handles)
FLAT_COVERAGE = 0.92        # fraction of object pixels covered by the FLAT_COLOURS most common colours
FLAT_COLOURS = 16
VOXEL_MAX_CELLS = 64        # pixel art up to this many cells on its long side becomes voxels
REVOLVE_DETAIL = 0.008     # fine detail across rows (RMS horizontal step of the high-passed luminance / 255) above
                           # which a picture is not revolved: eyes, mouths, logos and print do not go round an axis
                           # (rendered vases and cylinders 0.002-0.003; a drawn bust 0.023, Suzanne 0.016, every
                           # corpus photo >= 0.01; benchmarks/README.md section 10g)
SHADE_AXIS = 4.0           # shading up-and-down this many times stronger than across the rows: lying, not standing
BOX_FIT = 0.97             # a box, cabinet or sign front-on: the outline fills a 4-cornered convex polygon to this IoU,
BOX_ANGLE = 12.0           # its corners within this many degrees of square,
BOX_SHADE = 0.05           # and no curved shading across it: its smoothed brightness across the short side departs
                           # from a straight line (a plane's shading) by less than this (/255); a lying cylinder,
                           # also a rectangle, bends it (benchmarks/README.md section 10g)
SHADE_SHARE = 0.02          # other shades of the main colour covering this share of the object together...
SHADE_RATIO = (0.15, 0.99)  # ...at these brightness ratios to it (not black vs white) are lighting


@dataclass(frozen=True)
class Features:
    symmetry: float          # best left-right mirror overlap, 0..1
    solid_rows: float        # fraction of object rows that are a single run
    flat: float              # fraction of object pixels in the FLAT_COLOURS most common exact colours
    cells: int               # long side of the pixel-art grid when flat, else of the picture
    shaded: bool             # one colour in several shades: facets of a lit solid, not flat art
    detail: float = 0.0      # fine detail across rows (see REVOLVE_DETAIL)
    texture_symmetry: float = 1.0  # correlation of the high-passed luminance with its mirror about the axis
    box: bool = False        # a rectangle with square corners and no shading across it (see BOX_FIT)


def features(seg: Segmented) -> Features:
    """Cheap shape and colour statistics of a segmented picture (pixel-art grid only for flat colours)."""
    mask = seg.mask
    step = max(1, max(mask.shape) // 256)
    small = mask[::step, ::step]
    axis, sym = symmetry_axis(small)
    rows = small[small.any(axis=1)]
    starts = (np.diff(rows.astype(np.int8), axis=1) == 1).sum(axis=1) + rows[:, 0]
    solid = float((starts == 1).mean())
    rgb = seg.rgba[..., :3][mask]
    rgb = rgb[:: max(1, len(rgb) // 40000)].astype(np.int64)
    code = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    values, counts = np.unique(code, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:FLAT_COLOURS]
    flat = float(counts[order].sum() / max(code.size, 1))
    cells = max(mask.shape)
    if flat >= FLAT_COVERAGE:
        cells = int(max(pixel_grid(seg)[0].shape))
    top = np.stack([(values[order] >> 16) & 255, (values[order] >> 8) & 255, values[order] & 255], axis=1)
    detail, tex_sym = _texture(seg, small.shape, axis)
    return Features(sym, solid, flat, cells, _shaded(top.astype(np.float64), counts[order] / max(code.size, 1)),
                    detail, tex_sym, _box_front(seg, small.shape))


def _box_front(seg: Segmented, shape: tuple[int, int]) -> bool:
    """True when the outline is a 4-cornered convex polygon with square corners that fills it (BOX_FIT,
    BOX_ANGLE) and the picture shows no shading across its short side (BOX_SHADE): a box, cabinet, phone or
    sign seen front-on. A lying cylinder (also a rectangle) is told apart by its shading."""
    h, w = shape
    m = (cv2.resize(seg.mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return False
    c = max(contours, key=cv2.contourArea)
    poly = cv2.approxPolyDP(cv2.convexHull(c), 0.02 * cv2.arcLength(c, True), True).reshape(-1, 2)
    if len(poly) != 4:
        return False
    fill = np.zeros_like(m)
    cv2.fillPoly(fill, [poly.astype(np.int32)], 1)
    if (fill & m).sum() / max(int((fill | m).sum()), 1) < BOX_FIT:
        return False
    for i in range(4):
        a, b = poly[i - 1] - poly[i], poly[(i + 1) % 4] - poly[i]
        cos = float(a @ b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-9)
        if abs(90.0 - np.degrees(np.arccos(np.clip(cos, -1, 1)))) > BOX_ANGLE:
            return False
    lum = cv2.resize(seg.rgba[..., :3].astype(np.float32).mean(axis=-1), (w, h), interpolation=cv2.INTER_AREA)
    rect = cv2.minAreaRect(poly.astype(np.float32))
    (cx, cy), (rw, rh), ang = rect
    turn = cv2.getRotationMatrix2D((cx, cy), ang + (90.0 if rw < rh else 0.0), 1.0)   # long side along x
    flat = cv2.warpAffine(lum, turn, (w, h), flags=cv2.INTER_LINEAR)
    inside = cv2.warpAffine(m.astype(np.float32), turn, (w, h), flags=cv2.INTER_LINEAR) > 0.99
    rows = np.flatnonzero(inside.sum(axis=1) > 0.5 * inside.sum(axis=1).max())
    if rows.size < 8:
        return False
    across = np.array([flat[r][inside[r]].mean() for r in rows])
    k = max(1, rows.size // 20)
    smooth = ndimage.gaussian_filter1d(across, max(1.0, 0.1 * rows.size), mode="nearest")[k:-k]
    t = np.arange(smooth.size, dtype=np.float64)
    line = np.polyval(np.polyfit(t, smooth, 1), t)     # a plane under a near light shades linearly
    return bool(np.abs(smooth - line).max() / 255.0 < BOX_SHADE)


def _texture(seg: Segmented, shape: tuple[int, int], axis: float) -> tuple[float, float]:
    """(fine detail across rows, mirror correlation of that detail) of the picture inside the object, at the
    (h, w) working size of `features`, about the silhouette's axis (x in working pixels). High-passed with a
    Gaussian of 2% of the long side, so smooth lighting (even from one side) does not count, and measured 3%
    of the long side inside the outline, so the silhouette's own edge does not either."""
    h, w = shape
    m = cv2.resize(seg.mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 0.5
    lum = cv2.resize(seg.rgba[..., :3].astype(np.float32).mean(axis=-1), (w, h), interpolation=cv2.INTER_AREA)
    k = max(1, int(0.03 * max(h, w)))
    inner = cv2.erode(m.astype(np.uint8), np.ones((2 * k + 1, 2 * k + 1), np.uint8)) > 0
    pair = inner[:, 1:] & inner[:, :-1]
    if pair.sum() < 16:
        return 0.0, 1.0
    det = lum - cv2.GaussianBlur(lum, (0, 0), max(1.0, 0.02 * max(h, w)))
    detail = float(np.sqrt((np.diff(det, axis=1)[pair] ** 2).mean()) / 255.0)
    low = cv2.GaussianBlur(lum, (0, 0), max(1.0, 0.03 * max(h, w)))
    vpair = inner[1:] & inner[:-1]
    across = float(np.abs(np.diff(low, axis=1)[pair]).mean())
    along = float(np.abs(np.diff(low, axis=0)[vpair]).mean()) if vpair.any() else 0.0
    if along * max(h, w) > 0.1 * 255 and along > SHADE_AXIS * across:
        detail = max(detail, 1.0)   # shaded only up and down: a body lying on its side (a lying cylinder), whose
                                    # axis is not vertical; rows of a standing body of revolution shade across
    src = np.rint(2 * axis - 1 - np.arange(w)).astype(int)
    ok = (src >= 0) & (src < w)
    mirror, seen = np.zeros_like(det), np.zeros_like(inner)
    mirror[:, ok], seen[:, ok] = det[:, src[ok]], inner[:, src[ok]]
    both = inner & seen
    a, b = det[both], mirror[both]
    sym = float(np.corrcoef(a, b)[0, 1]) if both.sum() > 16 and a.std() > 0.5 and b.std() > 0.5 else 1.0
    return detail, sym


def _shaded(colours: np.ndarray, share: np.ndarray) -> bool:
    """(K, 3) most common colours and their (K,) shares -> True when the main colour appears again,
    darker or lighter but with the same chromaticity, over SHADE_SHARE of the object: a plane has one
    normal, so a flat subject shows each of its paints in one shade; a lit solid shows its facets and
    curves in several."""
    lum = colours.sum(axis=1)
    chroma = colours / np.maximum(lum, 1.0)[:, None]
    main = int(np.argmax(share))
    same = np.abs(chroma - chroma[main]).max(axis=1) < 0.02
    ratio = np.minimum(lum, lum[main]) / np.maximum(np.maximum(lum, lum[main]), 1.0)
    hit = same & (ratio >= SHADE_RATIO[0]) & (ratio <= SHADE_RATIO[1])
    return bool(share[hit].sum() >= SHADE_SHARE)


def _sure(value: float, threshold: float, span: float) -> float:
    """0.5 at the threshold, rising linearly to 1 at `span` away from it (either side)."""
    return float(min(1.0, 0.5 + 0.5 * abs(value - threshold) / span))


def choose(seg: Segmented, params: ReconstructParams) -> tuple[str, str, float]:
    """-> (mode, reason sentence, confidence 0..1).

    Confidence: how far the deciding features sit from their thresholds (0.5 = on a threshold,
    1 = far from every threshold that could have changed the choice). The features are computed on the
    silhouette and the colours only, which a perspective and an orthographic picture of one object share.
    """
    f = features(seg)
    flat_sure = _sure(f.flat, FLAT_COVERAGE, 1.0 - FLAT_COVERAGE)
    if f.flat >= FLAT_COVERAGE and f.cells <= VOXEL_MAX_CELLS:
        c = min(flat_sure, _sure(f.cells, VOXEL_MAX_CELLS + 0.5, VOXEL_MAX_CELLS / 2))
        return "voxel", (f"auto chose voxel: the picture is pixel art ({f.cells} cells on its long side, "
                         f"{f.flat:.0%} of it in {FLAT_COLOURS} flat colours)"), c
    if f.box:
        return "extrude", ("auto chose extrude: the outline is a rectangle with square corners and no curved shading "
                           "across it, as a box, cabinet, phone or sign seen front-on shows: flat faces and square "
                           "edges (the depth is a guess: pass --depth)"), 0.7
    if f.flat >= FLAT_COVERAGE and f.shaded:
        return "inflate", (f"auto chose inflate: the picture is in flat colours ({f.flat:.0%} in {FLAT_COLOURS}) "
                           "but one of them appears in several shades, as the lit facets of a solid do "
                           "(a flat subject shows each colour in one shade)"), 0.6
    if f.flat >= FLAT_COVERAGE:
        return "extrude", (f"auto chose extrude: the picture is flat-colour art ({f.flat:.0%} of it in "
                           f"{FLAT_COLOURS} colours with hard edges), like a logo, an icon or a cut-out"), flat_sure
    sym_sure = min(_sure(f.symmetry, REVOLVE_SYMMETRY, 1.0 - REVOLVE_SYMMETRY),
                   _sure(f.solid_rows, REVOLVE_SOLID_ROWS, 1.0 - REVOLVE_SOLID_ROWS),
                   _sure(f.detail, REVOLVE_DETAIL, REVOLVE_DETAIL))
    outline_round = f.symmetry >= REVOLVE_SYMMETRY and f.solid_rows >= REVOLVE_SOLID_ROWS
    if params.symmetry and outline_round and f.detail <= REVOLVE_DETAIL:
        return "revolve", (f"auto chose revolve: the silhouette is left-right symmetric ({f.symmetry:.0%} mirror "
                           f"overlap), solid across every row and its surface shows no features across the rows "
                           f"(only shading), like a bottle, vase or chess piece"), min(flat_sure, sym_sure)
    c = flat_sure if not params.symmetry else min(flat_sure, max(
        _sure(f.symmetry, REVOLVE_SYMMETRY, 0.2), _sure(f.solid_rows, REVOLVE_SOLID_ROWS, 0.2),
        _sure(f.detail, REVOLVE_DETAIL, REVOLVE_DETAIL)))
    if params.symmetry and outline_round:
        return "inflate", (f"auto chose inflate: the silhouette is symmetric ({f.symmetry:.0%}) but the picture has "
                           f"features across its rows (detail {f.detail:.3f} > {REVOLVE_DETAIL}, texture mirror "
                           f"symmetry {f.texture_symmetry:.0%}), as a face, a figure or a print has: not a body "
                           f"of revolution"), c
    return "inflate", (f"auto chose inflate: a rounded solid suits this picture (left-right symmetry "
                       f"{f.symmetry:.0%}, {f.flat:.0%} in flat colours)"), c
