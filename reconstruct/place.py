"""Placement: real-world size and pivot, applied last so decimation cannot drift them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh


@dataclass(frozen=True)
class PlaceParams:
    target_height_m: float | None = 1.0
    target_width_m: float | None = None  # overrides the height when set
    pivot: str = "bottom-center"  # or "center"


def place(mesh: trimesh.Trimesh, params: PlaceParams) -> trimesh.Trimesh:
    """Scale uniformly to the target height (Y extent) or width (X extent), then move the pivot to the origin.

    bottom-center: min y = 0, x and z centred (glTF/Unity convention for props); center: the bbox centre at 0.
    """
    lo, hi = mesh.bounds
    size = hi - lo
    scale = 1.0
    if params.target_width_m and size[0] > 0:
        scale = params.target_width_m / size[0]
    elif params.target_height_m and size[1] > 0:
        scale = params.target_height_m / size[1]
    out = mesh.copy()
    out.apply_scale(scale)
    lo, hi = out.bounds
    offset = -(lo + hi) / 2
    if params.pivot == "bottom-center":
        offset[1] = -lo[1]
    out.apply_translation(offset)
    out.vertices[np.abs(out.vertices) < 1e-12] = 0.0  # no -0.0 in the bytes
    return out
