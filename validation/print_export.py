"""Sizing, orienting and placing a mesh for printing, before it is written as STL/OBJ/3MF.

Works in the build frame (millimetres, +Z up; `formats.TO_PRINT` from the scene frame) and hands back
a scene-frame mesh, so the print exporters (which convert to the build frame) write what was asked.

`orient="auto"` follows Tweaker-3 (C. Schranz, github.com/ChristophSchranz/Tweaker-3): candidate
orientations are the mesh's largest area-accumulated flat regions, here the convex hull's facets (a part
can only rest stably on one of those) plus the six axes; each candidate is scored by the area that needs
support (faces pointing down steeper than the overhang angle, not on the bed); unstable poses (centre
of mass outside the contact polygon) are skipped; ties go to the larger bed contact, then the lower part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial import ConvexHull, QhullError

from meshsmith.errors import InvalidInput
from validation.formats import TO_PRINT
from validation.printing import fit_ratio

PRINTERS: dict[str, tuple[float, float, float]] = {
    "prusa-mk4": (250.0, 210.0, 220.0),
    "prusa-mini": (180.0, 180.0, 180.0),
    "bambu-x1c": (256.0, 256.0, 256.0),
}
ORIENTS = ("", "auto")
PRINT_FORMATS = ("stl", "obj", "obj.zip", "3mf")
DEFAULT_MARGIN_MM = 5.0
OVERHANG_DEG = 45.0
CANDIDATES = 64  # hull facets tried, largest first
_BED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[xX]\s*(\d+(?:\.\d+)?)\s*[xX]\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class PrintParams:
    """At most one sizing: scale (x stored size in mm), height_mm (Z), max_mm (longest side), fit (printer), bed."""

    scale: float = 0.0
    height_mm: float = 0.0
    max_mm: float = 0.0
    fit: str = ""
    bed: str = ""
    margin_mm: float = DEFAULT_MARGIN_MM
    orient: str = ""

    @property
    def active(self) -> bool:
        return bool(self.scale or self.height_mm or self.max_mm or self.fit or self.bed or self.orient)


@dataclass(frozen=True)
class Placement:
    scale: float  # applied on top of metres -> millimetres
    down: tuple[float, float, float]  # build-frame direction turned to face the bed
    overhang_mm2: float
    extents_mm: tuple[float, float, float]
    bed_mm: tuple[float, float, float] | None


def parse_bed(text: str) -> tuple[float, float, float]:
    m = _BED.match(text)
    if not m or min(float(g) for g in m.groups()) <= 0:
        raise InvalidInput(f"bed {text[:40]!r} is not XxYxZ millimetres (e.g. 250x210x220)")
    return tuple(float(g) for g in m.groups())  # type: ignore[return-value]


def check_params(p: PrintParams, fmt: str) -> tuple[float, float, float] | None:
    """Validate `p` for export format `fmt`; returns the bed to fit (mm) or None. Raises InvalidInput."""
    chosen = [n for n in ("scale", "height_mm", "max_mm", "fit", "bed") if getattr(p, n)]
    if len(chosen) > 1:
        raise InvalidInput(f"give at most one of scale, height_mm, max_mm, fit, bed (got {', '.join(chosen)})")
    if p.orient not in ORIENTS:
        raise InvalidInput(f"unknown orient {p.orient[:40]!r}: use one of auto or leave it empty")
    if p.active and fmt not in PRINT_FORMATS:
        raise InvalidInput(f"scale/fit/orient apply to print formats ({', '.join(PRINT_FORMATS)}), not {fmt}")
    for n in ("scale", "height_mm", "max_mm"):
        if getattr(p, n) < 0:
            raise InvalidInput(f"{n} must be positive, got {getattr(p, n)}")
    if p.fit:
        if p.fit not in PRINTERS:
            raise InvalidInput(f"unknown printer {p.fit[:40]!r}: use one of {', '.join(PRINTERS)}, or bed=XxYxZ")
        bed = PRINTERS[p.fit]
    else:
        bed = parse_bed(p.bed) if p.bed else None
    if bed is not None and min(bed[0], bed[1]) <= 2 * p.margin_mm or (bed and bed[2] <= p.margin_mm):
        raise InvalidInput(f"a {p.margin_mm:g} mm margin leaves no room on a {'x'.join(f'{b:g}' for b in bed)} mm bed")
    return bed


def _stable(points2d: np.ndarray, com2d: np.ndarray) -> bool:
    try:
        hull = ConvexHull(points2d)
    except (QhullError, ValueError):
        return False
    return bool((hull.equations[:, :2] @ com2d + hull.equations[:, 2] <= 1e-9).all())


def _overhang(mesh: trimesh.Trimesh, down: np.ndarray) -> tuple[float, float]:
    """(support-needing area, bed contact area) in mm^2 with `down` (unit, build frame) facing the bed."""
    n = mesh.face_normals @ down
    heights = mesh.triangles @ down  # (F, 3): distance along `down`
    lowest = float(heights.max())
    on_bed = heights.min(axis=1) >= lowest - 0.2
    steep = n > np.cos(np.radians(OVERHANG_DEG))
    areas = mesh.area_faces
    return float(areas[steep & ~on_bed].sum()), float(areas[on_bed & (n > 0.99)].sum())


def auto_orient(mesh: trimesh.Trimesh) -> tuple[np.ndarray, float]:
    """The build-frame direction to put down (unit 3-vector) and its overhang area (mm^2)."""
    hull = mesh.convex_hull
    com = mesh.center_mass if mesh.is_volume else hull.center_mass
    order = np.argsort(-hull.facets_area)[:CANDIDATES]
    cands = [(-hull.facets_normal[i], hull.vertices[np.unique(hull.faces[hull.facets[i]])]) for i in order]
    cands += [(d, None) for d in (np.eye(3)[[2, 0, 1]].tolist() + (-np.eye(3)).tolist())]
    best = None
    for down, pts in cands:
        down = np.asarray(down, dtype=np.float64)
        down /= np.linalg.norm(down)
        if pts is None:  # an axis: its contact points are the hull vertices on the lowest plane
            h = hull.vertices @ down
            pts = hull.vertices[h >= h.max() - 0.2]
        basis = trimesh.geometry.align_vectors(down, [0, 0, -1])[:3, :3]
        if len(pts) < 3 or not _stable((pts @ basis.T)[:, :2], (basis @ com)[:2]):
            continue
        over, contact = _overhang(mesh, down)
        height = float(np.ptp(mesh.vertices @ down))
        key = (round(over, 1), -round(contact, 1), height)
        if best is None or key < best[0]:
            best = (key, down)
    if best is None:  # nothing rests stably (should not happen for a closed part): keep it upright
        down = np.array([0.0, 0.0, -1.0])
        return down, _overhang(mesh, down)[0]
    return best[1], best[0][0]


def prepare(mesh: trimesh.Trimesh, p: PrintParams, fmt: str) -> tuple[trimesh.Trimesh, Placement | None]:
    """`mesh` (scene frame) sized, turned and placed per `p`, still in the scene frame for the exporters."""
    bed = check_params(p, fmt)
    if not p.active:
        return mesh, None
    build = mesh.copy()
    build.apply_transform(TO_PRINT)
    down = np.array([0.0, 0.0, -1.0])
    over = 0.0
    if p.orient == "auto":
        down, over = auto_orient(build)
        build.apply_transform(trimesh.geometry.align_vectors(down, [0, 0, -1]))
    ext = np.asarray(build.extents)
    scale = 1.0
    if p.scale:
        scale = p.scale
    elif p.height_mm:
        scale = p.height_mm / max(ext[2], 1e-12)
    elif p.max_mm:
        scale = p.max_mm / max(ext.max(), 1e-12)
    elif bed is not None:
        room = (bed[0] - 2 * p.margin_mm, bed[1] - 2 * p.margin_mm, bed[2] - p.margin_mm)
        ratio = fit_ratio(ext, room)
        if max(ext[0] / room[0], ext[1] / room[1], ext[2] / room[2]) > ratio + 1e-12:  # fits better turned
            build.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [0, 0, 1]))
        scale = min(1.0, 1.0 / ratio)  # never enlarges
    build.apply_scale(scale)
    lo, hi = build.bounds
    centre = np.array([bed[0] / 2, bed[1] / 2]) if bed is not None else np.zeros(2)
    build.apply_translation([centre[0] - (lo[0] + hi[0]) / 2, centre[1] - (lo[1] + hi[1]) / 2, -lo[2]])
    ext_mm = tuple(float(e) for e in build.extents)
    out = build.apply_transform(np.linalg.inv(TO_PRINT))  # the copy keeps UVs and material
    return out, Placement(float(scale), tuple(float(d) for d in down), float(over * scale**2), ext_mm, bed)
