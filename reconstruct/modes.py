"""Mode registry and the one entry point: reconstruct(Segmented, ReconstructParams) -> Reconstruction."""

from __future__ import annotations

from typing import Callable

import trimesh

from . import auto
from .extrude import extrude
from .inflate import inflate
from .params import MODE_NAMES, ReconstructParams, Reconstruction, check_params
from .relief import relief
from .revolve import revolve
from .segment import Segmented
from .voxel import voxel

__all__ = ["MODES", "MODE_NAMES", "ReconstructParams", "Reconstruction", "reconstruct"]

MODES: dict[str, Callable[[Segmented, ReconstructParams], trimesh.Trimesh]] = {
    "inflate": inflate,
    "revolve": revolve,
    "extrude": extrude,
    "relief": relief,
    "voxel": voxel,
}


def reconstruct(seg: Segmented, params: ReconstructParams = ReconstructParams()) -> Reconstruction:
    """Build the textured, watertight, placed mesh; `auto` picks the mode and says why."""
    check_params(params)
    if params.mode == "auto":
        mode, reason, confidence = auto.choose(seg, params)
    else:
        mode, reason, confidence = params.mode, "requested", 1.0
    return Reconstruction(mesh=MODES[mode](seg, params), mode=mode, reason=reason, confidence=confidence)
