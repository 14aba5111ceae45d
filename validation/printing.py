"""3D-printing checks (in the print frame: millimetres, +Z up), after Blender's 3D-Print Toolbox.

Self-intersections use PyMeshLab: call from a worker process or a single-threaded CLI only.
Ray casts use trimesh's embree backend (package `embreex`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import trimesh

from validation.checks import Check
from validation.formats import print_frame
from validation.profiles import Printer
from validation.topology import merged

if TYPE_CHECKING:
    from validation.report import MeshStats


@dataclass(frozen=True)
class ThicknessParams:
    samples: int = 4000  # faces ray-cast (area-weighted, seeded)
    percentile: float = 1.0  # reported thickness: this area percentile (ignores single-ray noise)
    seed: int = 0


def fit_ratio(extents_mm: np.ndarray, build_mm: tuple[float, float, float]) -> float:
    """Smallest max(extent / build) over the model as is and turned 90 deg on the bed (<= 1 fits)."""
    x, y, z = extents_mm
    bx, by, bz = build_mm
    return float(min(max(x / bx, y / by, z / bz), max(y / bx, x / by, z / bz)))


def self_intersections(mesh: trimesh.Trimesh) -> int:
    """Faces that intersect other faces (PyMeshLab; call only in a worker or single-threaded process)."""
    import pymeshlab  # noqa: PLC0415  (1 s import, only for print profiles)

    m = merged(mesh)
    ms = pymeshlab.MeshSet()
    ms.add_mesh(pymeshlab.Mesh(vertex_matrix=np.asarray(m.vertices, dtype=np.float64),
                               face_matrix=np.asarray(m.faces, dtype=np.int32)))
    ms.compute_selection_by_self_intersections_per_face()
    return int(ms.current_mesh().selected_face_number())


def wall_samples(mesh_mm: trimesh.Trimesh, params: ThicknessParams = ThicknessParams()) -> tuple[np.ndarray, np.ndarray, int]:
    """Wall thickness by ray casts from face centres along the inward normal (Blender's method).

    Returns (distances in mm of the rays that hit, their face areas as weights, rays cast).
    """
    areas = mesh_mm.area_faces
    n = len(areas)
    rng = np.random.default_rng(params.seed)
    idx = np.arange(n) if n <= params.samples else np.unique(rng.choice(n, params.samples, p=areas / areas.sum()))
    inward = -mesh_mm.face_normals[idx]
    centres = mesh_mm.triangles_center[idx]
    eps = 1e-5 * float(np.linalg.norm(mesh_mm.extents))
    hits, rays, _ = mesh_mm.ray.intersects_location(centres + inward * eps, inward, multiple_hits=False)
    dist = np.linalg.norm(hits - centres[rays], axis=1) if len(rays) else np.zeros(0)
    return dist, areas[idx][rays], len(idx)


def area_percentile(dist: np.ndarray, weights: np.ndarray, percent: float) -> float:
    order = np.argsort(dist)
    cum = np.cumsum(weights[order]) / weights.sum()
    return float(dist[order][min(int(np.searchsorted(cum, percent / 100.0)), len(order) - 1)])


def thickness_check(mesh_mm: trimesh.Trimesh, printer: Printer, params: ThicknessParams = ThicknessParams()) -> Check:
    wall = printer.min_wall_mm
    smallest = float(np.min(mesh_mm.extents))
    if smallest < wall:
        return Check("thickness.min", "fail", smallest, wall, "mm",
                     f"the model is flat: its thinnest side is {smallest:.3g} mm, below the {wall} mm minimum wall; "
                     "give it thickness (solidify/extrude) before printing")
    try:
        dist, weights, cast = wall_samples(mesh_mm, params)
    except ImportError as exc:  # trimesh needs embreex (or rtree) to cast rays
        return Check("thickness.min", "warn", 0.0, wall, "mm", f"wall thickness not measured: {exc}; install embreex")
    hit_share = len(dist) / max(cast, 1)
    if hit_share < 0.5:
        return Check("thickness.min", "warn", float(dist.min()) if len(dist) else 0.0, wall, "mm",
                     f"wall thickness could not be measured ({hit_share:.0%} of inward rays hit a wall): "
                     "the mesh is open or inside-out; repair it first")
    p = area_percentile(dist, weights, params.percentile)
    thin = float(weights[dist < wall].sum() / weights.sum())
    if p < wall:
        return Check("thickness.min", "fail", p, wall, "mm",
                     f"{thin:.1%} of the surface has walls under {wall} mm (thinnest 1%: {p:.3g} mm): "
                     "thicken those parts or scale the model up")
    note = f"; {thin:.1%} of the surface is thinner (small details)" if thin > 0 else ""
    return Check("thickness.min", "pass", p, wall, "mm", f"walls >= {p:.3g} mm (1st percentile of area){note}")


def overhang_check(mesh_mm: trimesh.Trimesh, printer: Printer) -> Check:
    """Share of area facing down steeper than the overhang angle (faces on the bed excluded)."""
    normals = mesh_mm.face_normals
    areas = mesh_mm.area_faces
    down = -normals[:, 2] > np.cos(np.radians(printer.overhang_deg))
    on_bed = mesh_mm.triangles[:, :, 2].max(axis=1) <= mesh_mm.bounds[0, 2] + 0.2
    share = float(areas[down & ~on_bed].sum() / max(areas.sum(), 1e-12))
    limit = printer.overhang_warn_share
    if share > limit:
        return Check("overhang.share", "warn", share * 100, limit * 100, "%",
                     f"{share:.0%} of the surface overhangs more than {printer.overhang_deg:g} deg: print with supports "
                     "or turn the model so less of it faces down")
    return Check("overhang.share", "pass", share * 100, limit * 100, "%",
                 f"{share:.0%} of the surface overhangs more than {printer.overhang_deg:g} deg (supports there)")


def print_checks(mesh: trimesh.Trimesh, stats: MeshStats, printer: Printer) -> list[Check]:
    """Build volume, self-intersections, minimum wall thickness, overhangs for one printer."""
    mesh_mm = print_frame(merged(mesh))
    if stats.volume_m3 < 0:
        mesh_mm.invert()  # measure an inside-out mesh as it would be once flipped
    ext = np.asarray(mesh_mm.extents)
    ratio = fit_ratio(ext, printer.build_mm)
    size = "x".join(f"{e:.0f}" for e in ext)
    bed = "x".join(f"{b:.0f}" for b in printer.build_mm)
    out = [
        Check("build.volume", "fail" if ratio > 1 else "pass", ratio, 1.0, "ratio",
              f"{size} mm does not fit the {bed} mm build volume of {printer.name}: scale by <= {1 / ratio:.3g} or split it"
              if ratio > 1 else f"{size} mm fits the {bed} mm build volume"),
    ]
    crossing = self_intersections(mesh)
    out.append(Check("self_intersections", "fail" if crossing else "pass", crossing, 0, "faces",
                     f"{crossing} faces intersect other faces: slicers may fill or drop those regions; "
                     "remesh or boolean-union the overlapping parts" if crossing else "no self-intersecting faces"))
    out.append(thickness_check(mesh_mm, printer))
    out.append(overhang_check(mesh_mm, printer))
    return out
