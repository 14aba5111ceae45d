"""Level-of-detail chains: each level decimated from the full mesh and validated."""

from __future__ import annotations

from dataclasses import dataclass

import trimesh

from validation.decimate import DecimateParams, decimate
from validation.report import Report, validate


@dataclass(frozen=True)
class Lod:
    level: int  # 0 = full detail
    ratio: float  # share of the full mesh's faces asked for
    mesh: trimesh.Trimesh
    faces: int
    max_error: float  # vs the full mesh, fraction of its bbox diagonal
    rms_error: float
    report: Report


def build_lods(
    mesh: trimesh.Trimesh,
    ratios: tuple[float, ...] = (1, 0.5, 0.25, 0.1),
    profile: str = "default",
    error_samples: int = 20_000,
) -> list[Lod]:
    """One `Lod` per ratio (descending), each decimated from `mesh` and validated against `profile`."""
    lods = []
    for level, ratio in enumerate(sorted(ratios, reverse=True)):
        if ratio >= 1:
            out, max_err, rms_err = mesh, 0.0, 0.0
        else:
            res = decimate(mesh, DecimateParams(target_faces=None, ratio=ratio, error_samples=error_samples))
            out, max_err, rms_err = res.mesh, res.max_error, res.rms_error
        lods.append(Lod(level, float(ratio), out, len(out.faces), max_err, rms_err, validate(out, profile)))
    return lods
