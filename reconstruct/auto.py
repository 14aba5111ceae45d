"""auto: pick a mode from the segmented picture, with a one-sentence reason."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .params import ReconstructParams
from .revolve import symmetry_axis
from .segment import Segmented
from .voxel import pixel_grid

REVOLVE_SYMMETRY = 0.97     # mirror overlap needed to revolve
REVOLVE_SOLID_ROWS = 0.99   # fraction of rows that must be one solid run (no legs, arms, handles)
FLAT_COVERAGE = 0.92        # fraction of object pixels covered by the FLAT_COLOURS most common colours
FLAT_COLOURS = 16
VOXEL_MAX_CELLS = 64        # pixel art up to this many cells on its long side becomes voxels
SHADE_SHARE = 0.02          # other shades of the main colour covering this share of the object together...
SHADE_RATIO = (0.15, 0.99)  # ...at these brightness ratios to it (not black vs white) are lighting


@dataclass(frozen=True)
class Features:
    symmetry: float          # best left-right mirror overlap, 0..1
    solid_rows: float        # fraction of object rows that are a single run
    flat: float              # fraction of object pixels in the FLAT_COLOURS most common exact colours
    cells: int               # long side of the pixel-art grid when flat, else of the picture
    shaded: bool             # one colour in several shades: facets of a lit solid, not flat art


def features(seg: Segmented) -> Features:
    """Cheap shape and colour statistics of a segmented picture (pixel-art grid only for flat colours)."""
    mask = seg.mask
    step = max(1, max(mask.shape) // 256)
    small = mask[::step, ::step]
    sym = symmetry_axis(small)[1]
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
    return Features(sym, solid, flat, cells, _shaded(top.astype(np.float64), counts[order] / max(code.size, 1)))


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
    if f.flat >= FLAT_COVERAGE and f.shaded:
        return "inflate", (f"auto chose inflate: the picture is in flat colours ({f.flat:.0%} in {FLAT_COLOURS}) "
                           "but one of them appears in several shades, as the lit facets of a solid do "
                           "(a flat subject shows each colour in one shade)"), 0.6
    if f.flat >= FLAT_COVERAGE:
        return "extrude", (f"auto chose extrude: the picture is flat-colour art ({f.flat:.0%} of it in "
                           f"{FLAT_COLOURS} colours with hard edges), like a logo, an icon or a cut-out"), flat_sure
    sym_sure = min(_sure(f.symmetry, REVOLVE_SYMMETRY, 1.0 - REVOLVE_SYMMETRY),
                   _sure(f.solid_rows, REVOLVE_SOLID_ROWS, 1.0 - REVOLVE_SOLID_ROWS))
    if params.symmetry and f.symmetry >= REVOLVE_SYMMETRY and f.solid_rows >= REVOLVE_SOLID_ROWS:
        return "revolve", (f"auto chose revolve: the silhouette is left-right symmetric ({f.symmetry:.0%} mirror "
                           f"overlap) and solid across every row, like a bottle, vase or chess piece"), \
            min(flat_sure, sym_sure)
    c = flat_sure if not params.symmetry else min(flat_sure, max(
        _sure(f.symmetry, REVOLVE_SYMMETRY, 0.2), _sure(f.solid_rows, REVOLVE_SOLID_ROWS, 0.2)))
    return "inflate", (f"auto chose inflate: a rounded solid suits this picture (left-right symmetry "
                       f"{f.symmetry:.0%}, {f.flat:.0%} in flat colours)"), c
