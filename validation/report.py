"""Validation reports: mesh statistics and the checks of a profile, as plain data.

`validate` never raises for a bad mesh: failing checks are data; the server decides statuses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from meshsmith.errors import InvalidInput
from validation import checks, printing, topology
from validation.checks import LEVELS, Check
from validation.profiles import PROFILES, Profile

__all__ = ["Check", "MeshStats", "Report", "PROFILES", "Profile", "mesh_stats", "validate", "verdict"]


@dataclass(frozen=True)
class MeshStats:
    faces: int
    vertices: int
    watertight: bool
    two_manifold: bool
    winding_consistent: bool
    volume_m3: float
    bodies: int
    bbox_min: tuple[float, float, float]
    bbox_max: tuple[float, float, float]
    area_m2: float
    texture_size: int


@dataclass(frozen=True)
class Report:
    profile: str
    verdict: str
    checks: tuple[Check, ...]
    stats: MeshStats


def texture_size(mesh: trimesh.Trimesh) -> int:
    """Largest edge in pixels of the mesh's textures, 0 when untextured."""
    material = getattr(mesh.visual, "material", None)
    if material is None:
        return 0
    images = [getattr(material, n, None) for n in ("image", "baseColorTexture", "metallicRoughnessTexture", "normalTexture")]
    return max((max(im.size) for im in images if im is not None and hasattr(im, "size")), default=0)


def signed_volume(mesh: trimesh.Trimesh) -> float:
    """Signed enclosed volume (negative when inside-out; approximate for open meshes)."""
    tri = np.asarray(mesh.triangles, dtype=np.float64)
    return float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0)


def _stats(mesh: trimesh.Trimesh, topo: topology.Topology) -> MeshStats:
    lo, hi = np.asarray(mesh.bounds, dtype=np.float64)
    closed = topo.boundary_edges == 0 and topo.nonmanifold_edges == 0
    return MeshStats(
        faces=int(len(mesh.faces)),
        vertices=int(len(mesh.vertices)),
        watertight=closed,
        two_manifold=topo.nonmanifold_edges == 0 and topo.nonmanifold_vertices == 0,
        winding_consistent=topo.inconsistent_edges == 0,
        volume_m3=signed_volume(mesh),
        bodies=topo.components,
        bbox_min=(float(lo[0]), float(lo[1]), float(lo[2])),
        bbox_max=(float(hi[0]), float(hi[1]), float(hi[2])),
        area_m2=float(mesh.area),
        texture_size=texture_size(mesh),
    )


def mesh_stats(mesh: trimesh.Trimesh) -> MeshStats:
    """Geometric and topological facts; topology ignores UV seams (vertices merged by position)."""
    return _stats(mesh, topology.measure(mesh))


def verdict(found: tuple[Check, ...] | list[Check]) -> str:
    """The worst level among the checks."""
    return max((c.level for c in found), key=LEVELS.index, default="pass")


def validate(mesh: trimesh.Trimesh, profile: str = "default", glb: bytes | None = None,
             back: str | None = None) -> Report:
    """Run the checks of `profile`; `glb` (the stored bytes) adds glTF-Validator findings; `back` (a generated
    version's parameters.quality.back: inferred, seen or plate; None unknown) feeds the real-back requirement."""
    spec: Profile | None = PROFILES.get(profile)
    if spec is None:
        raise InvalidInput(f"unknown validation profile {profile!r}: use one of {', '.join(PROFILES)}")
    topo = topology.measure(mesh)
    stats = _stats(mesh, topo)
    found = checks.geometry_checks(mesh, stats, topo, spec)
    if spec.printer is not None:
        found += printing.print_checks(mesh, stats, spec.printer)
    if spec.require_real_back:
        found.append(checks.real_back_check(back))
    if glb is not None:
        found += checks.gltf_checks(glb)
    return Report(profile=spec.name, verdict=verdict(found), checks=tuple(found), stats=stats)
