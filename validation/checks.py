"""Geometry, budget and glTF checks. Each returns `Check` data with a stable id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import trimesh

from validation import gltf_validator
from validation.profiles import Budget, Profile
from validation.topology import Topology

if TYPE_CHECKING:
    from validation.report import MeshStats

LEVELS = ("pass", "warn", "fail")
MIN_SIZE_M, MAX_SIZE_M = 0.001, 100.0
UP_RATIO = 2.5  # depth (Z) over height (Y) above which a model looks Z-up


@dataclass(frozen=True)
class Check:
    id: str
    level: str  # "pass" | "warn" | "fail"
    value: float
    threshold: float
    unit: str
    message: str

    def __post_init__(self) -> None:  # numbers are doubles on the wire, whatever computed them
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "threshold", float(self.threshold))


def budget(check_id: str, value: int, limit: Budget, unit: str, advice: str) -> Check:
    """Count against a budget: fail over `limit.fail`, warn over `limit.warn`."""
    if limit.fail is not None and value > limit.fail:
        return Check(check_id, "fail", value, limit.fail, unit, f"{value:,} {unit} > limit {limit.fail:,}: {advice}")
    if limit.warn is not None and value > limit.warn:
        return Check(check_id, "warn", value, limit.warn, unit, f"{value:,} {unit} > budget {limit.warn:,}: {advice}")
    bound = limit.warn if limit.warn is not None else limit.fail
    return Check(check_id, "pass", value, float(bound or 0), unit, f"{value:,} {unit} within budget {bound:,}")


def _flag(check_id: str, bad: int, level: str, unit: str, ok: str, problem: str) -> Check:
    if bad == 0:
        return Check(check_id, "pass", 0, 0, unit, ok)
    return Check(check_id, level, bad, 0, unit, problem)


def topology_checks(stats: MeshStats, topo: Topology, profile: Profile) -> list[Check]:
    """Watertight, 2-manifold, consistent winding, positive volume, bodies, degenerate faces."""
    out = [
        _flag(
            "watertight", topo.boundary_edges + topo.nonmanifold_edges, profile.open_level, "edges",
            "closed surface: no open edges",
            f"{topo.boundary_edges} open edges ({topo.nonmanifold_edges} shared by 3+ faces): "
            "run repair with hole closing (meshsmith validate FILE --repair -o FIXED.stl writes the repaired mesh) "
            "or close the holes in your modeller",
        ),
        _flag(
            "manifold", topo.nonmanifold_edges + topo.nonmanifold_vertices, "fail", "elements",
            "every edge has at most 2 faces and every vertex one fan",
            f"{topo.nonmanifold_edges} non-manifold edges and {topo.nonmanifold_vertices} non-manifold vertices: "
            "run repair (it splits or removes them)",
        ),
        _flag(
            "winding", topo.inconsistent_edges, "fail", "edges",
            "neighbouring faces are wound the same way",
            f"{topo.inconsistent_edges} edges join faces wound in opposite directions (flipped faces show as holes "
            "with back-face culling): run repair to re-orient faces coherently",
        ),
    ]
    vol = stats.volume_m3
    if stats.watertight and vol <= 0:
        level, msg = "fail", (
            "the mesh is inside-out (negative volume): flip all normals (repair does this)"
            if vol < 0 else "the mesh encloses no volume (flat or collapsed): give it thickness (solidify/extrude)"
        )
    elif vol <= 0:
        level, msg = profile.open_level, (
            "open mesh with negative or zero approximate volume: it is inside-out or flat; "
            "repair re-orients it, flat shapes need thickness"
        )
    else:
        level, msg = "pass", "encloses a positive volume (normals point outward)" + ("" if stats.watertight else " (approximate: mesh is open)")
    out.append(Check("volume.positive", level, vol, 0.0, "m3", msg))
    out.append(
        Check("bodies", "warn" if stats.bodies > 1 else "pass", stats.bodies, 1, "bodies",
              f"{stats.bodies} separate bodies: fine for assemblies; remove stray fragments with repair"
              if stats.bodies > 1 else "one connected body")
    )
    out.append(
        _flag("faces.degenerate", topo.degenerate_faces, "warn", "faces", "no zero-area faces",
              f"{topo.degenerate_faces} zero-area faces: run repair to remove null faces")
    )
    return out


def size_check(stats: MeshStats) -> Check:
    """Largest bbox side in metres between 1 mm and 100 m, else the units are probably wrong."""
    side = float(np.max(np.subtract(stats.bbox_max, stats.bbox_min)))
    if side < MIN_SIZE_M:
        return Check("units.bbox", "warn", side, MIN_SIZE_M, "m",
                     f"largest side is {side * 1000:.3g} mm: glTF is in metres; was it exported in km or scaled down? rescale it")
    if side > MAX_SIZE_M:
        return Check("units.bbox", "warn", side, MAX_SIZE_M, "m",
                     f"largest side is {side:.4g} m: probably millimetres or centimetres read as metres; scale by 0.001 or 0.01")
    return Check("units.bbox", "pass", side, MAX_SIZE_M, "m", f"largest side {side:.4g} m is a plausible size in metres")


def up_axis_check(stats: MeshStats) -> Check:
    """+Y up plausibility: a model much deeper (Z) than tall (Y) was probably authored Z-up."""
    ext = np.subtract(stats.bbox_max, stats.bbox_min)
    ratio = float(ext[2] / max(ext[1], 1e-12))
    if ratio > UP_RATIO and ext[2] >= ext[0]:
        return Check("up.axis", "warn", ratio, UP_RATIO, "ratio",
                     f"depth (Z) is {ratio:.2g}x the height (Y): if it came from a Z-up tool (Blender, CAD, STL) rotate it "
                     "-90 deg about X; ignore for long objects lying along Z")
    return Check("up.axis", "pass", ratio, UP_RATIO, "ratio", "proportions fit +Y up")


def geometry_checks(mesh: trimesh.Trimesh, stats: MeshStats, topo: Topology, profile: Profile) -> list[Check]:
    """All non-printing checks a profile asks for."""
    out = topology_checks(stats, topo, profile)
    out.append(size_check(stats))
    out.append(budget("faces.count", stats.faces, profile.faces, "faces", "decimate to a lower target_faces or use a LOD"))
    out.append(budget("vertices.count", stats.vertices, profile.vertices, "vertices", "decimate, or reduce UV seams and hard edges"))
    if profile.mesh_vertices is not None:
        out.append(budget("vertices.per_mesh", stats.vertices, profile.mesh_vertices, "vertices",
                          "over 65,535 vertices needs 32-bit indices: decimate or split the mesh"))
    if profile.texture_px is not None:
        out.append(budget("texture.size", stats.texture_size, profile.texture_px, "px", "downscale the texture"))
    if profile.check_up_axis:
        out.append(up_axis_check(stats))
    return out


def real_back_check(back: str | None) -> Check:
    """The `real-back` requirement: fail when the version's back was inferred (parameters.quality.back), warn when
    nothing says (a mesh file carries no record of how its back was made), pass when it was seen or is a plate."""
    if back == "inferred":
        return Check("back.real", "fail", 1, 0, "inferred", "the back was not seen: it was inferred from the front "
                     "(one picture, or no view of the back); send a view of the back (--view back=IMAGE) or drop "
                     "--require-real-back")
    if back in ("seen", "plate"):
        return Check("back.real", "pass", 0, 0, "inferred", f"the back was {'seen' if back == 'seen' else 'a flat plate by design'}")
    return Check("back.real", "warn", 0, 0, "inferred", "nothing says whether this mesh's back was seen or guessed")


def gltf_checks(glb: bytes) -> list[Check]:
    """Khronos glTF-Validator errors and warnings as checks (none when Node is missing)."""
    if not gltf_validator.available():
        return []
    try:
        rep = gltf_validator.validate_glb(glb)
    except Exception as exc:  # noqa: BLE001  (a validator crash or timeout is a finding, not an error)
        return [Check("gltf.errors", "warn", 0, 0, "issues", f"glTF-Validator could not run: {exc}")]
    if rep is None:
        return []
    first = {sev: next((f"{m.code} at {m.pointer}: {m.message}" for m in rep.messages if m.severity == sev), "") for sev in (0, 1)}
    return [
        Check("gltf.errors", "fail" if rep.errors else "pass", rep.errors, 0, "issues",
              f"glTF-Validator: {rep.errors} errors, first: {first[0]}; re-export the GLB" if rep.errors
              else "glTF-Validator found no errors"),
        Check("gltf.warnings", "warn" if rep.warnings else "pass", rep.warnings, 0, "issues",
              f"glTF-Validator: {rep.warnings} warnings, first: {first[1]}" if rep.warnings
              else "glTF-Validator found no warnings"),
    ]
