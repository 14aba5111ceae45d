"""Parameters and result of reconstruction (re-exported by reconstruct.modes)."""

from __future__ import annotations

from dataclasses import dataclass

import trimesh

from meshsmith import limits
from meshsmith.errors import InvalidInput

MODE_NAMES = ("auto", "inflate", "revolve", "extrude", "relief", "voxel")


@dataclass(frozen=True)
class ReconstructParams:
    """What to build. Sizes in metres; the mesh is scaled to target_width_m if set, else target_height_m.

    depth_m: extrude slab thickness (default a quarter of the outline's shorter side), relief depth above its base plate
    (default 3% of the plate's long side), voxel thickness rounded to whole voxels (default 1/16 of the
    long side), inflate total thickness (default from the silhouette); revolve ignores it.
    fov_deg: inflate and multiview undo the pinhole (back-projection along rays), revolve reads its profile
    at the axis' depth and puts its end rings where their near edge is; relief and voxel take a flat subject
    facing the camera, which a pinhole only scales uniformly, so it changes nothing there.
    symmetry: revolve about one common vertical axis (False: each row is centred on itself); auto may
    pick revolve only when True.
    symmetric: inflate's unseen back mirrors the front (False, the default: a flatter back, see inflate).
    seed: for stochastic steps; all current modes are deterministic and ignore it (GrabCut's seed is
    SegmentParams.seed).
    """

    mode: str = "auto"                      # auto|inflate|revolve|extrude|relief|voxel
    target_height_m: float | None = 1.0
    target_width_m: float | None = None     # overrides height when set
    depth_m: float | None = None            # see above; None = mode default
    texture_size: int = 1024                # cap; texture is a power of two <= this
    seed: int = 0
    symmetry: bool = True
    symmetric: bool = False                 # inflate: mirror the front onto the back
    fov_deg: float = 0.0                    # vertical field of view of the picture in degrees; 0 = orthographic


@dataclass(frozen=True)
class Reconstruction:
    mesh: trimesh.Trimesh
    mode: str      # the mode actually used
    reason: str    # one human sentence: why auto chose it, or "requested"
    confidence: float = 1.0  # 0..1: how sure auto is of its choice (1.0 for a requested mode)


def check_params(p: ReconstructParams) -> None:
    """Raise InvalidInput for values no mode can honour (ranges: meshsmith.limits)."""
    if p.mode not in MODE_NAMES:
        raise InvalidInput(f"unknown reconstruction mode {limits.quote(p.mode)}; use one of {', '.join(MODE_NAMES)}")
    for name in ("target_height_m", "target_width_m", "depth_m"):
        if getattr(p, name) is not None:
            limits.check(name, getattr(p, name))
    limits.check("texture_size", p.texture_size)
    limits.check("seed", p.seed)
    limits.check("fov_deg", p.fov_deg)


def metres_per_pixel(p: ReconstructParams, width_px: float, height_px: float) -> float:
    """Scale that makes the object target_width_m wide (if set) or target_height_m tall (default 1 m)."""
    if p.target_width_m is not None:
        return p.target_width_m / max(width_px, 1e-9)
    return (p.target_height_m if p.target_height_m is not None else 1.0) / max(height_px, 1e-9)
