"""Sizing, orienting and placing a mesh for printing, before it is written as STL/OBJ/3MF.

Works in the build frame (millimetres, +Z up; `formats.TO_PRINT` from the scene frame) and hands back
a scene-frame mesh, so the print exporters (which convert to the build frame) write what was asked.

`orient="auto"` follows Tweaker-3 (C. Schranz, github.com/ChristophSchranz/Tweaker-3, MeshTweaker.py):
candidate orientations are the mesh's largest area-accumulated flat regions, here the convex hull's planes
(a part can only rest stably on one of those), the six axes and, as Tweaker-3's extended mode adds random
candidates (its `death_star`: random triangles, plus a fixed set of directions), RANDOM_CANDIDATES directions
drawn by a generator seeded with SEED (the same mesh always gets the same pose), each tried as it is and
settled onto the hull plane it is nearest to. Each candidate is scored by the area that needs support
(faces pointing down steeper than the overhang angle, not on the bed); unstable poses (centre of mass
outside the contact polygon) are skipped; ties go to the larger bed contact, then the lower part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial import ConvexHull, QhullError

from meshsmith.errors import FailedPrecondition, InvalidInput
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
CANDIDATES = 64  # hull planes tried, largest first
RANDOM_CANDIDATES = 64  # seeded random directions tried beside them (Tweaker-3's extended mode)
SEED = 0
CONTACT_MM = 0.2  # hull vertices this close to the lowest plane touch the bed
_BED = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*[xX]\s*([0-9]+(?:\.[0-9]+)?)\s*[xX]\s*([0-9]+(?:\.[0-9]+)?)\s*",
                  re.ASCII)  # ASCII digits only: float() would take '２５０' and '٢٥٠'


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
    # the turn applied in the build frame (mm, +Z up) before scaling: orient auto's, then 90 deg about Z
    # when the part fits a bed larger turned; row-major 3x3
    rotation: tuple[tuple[float, float, float], ...] = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    turned_on_bed: bool = False


def parse_bed(text: str) -> tuple[float, float, float]:
    m = _BED.fullmatch(text)
    if not m or min(float(g) for g in m.groups()) <= 0:
        raise InvalidInput(f"bed {text[:40]!r} is not XxYxZ millimetres in ASCII digits, each above 0 (e.g. 250x210x220)")
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


def _hull_planes(hull: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    """The hull's planes: coplanar face groups (facets) and single faces -> (outward normals (P, 3), areas (P,))."""
    grouped = np.zeros(len(hull.faces), bool)
    normals, areas = [np.zeros((0, 3))], [np.zeros(0)]
    if len(hull.facets):
        grouped[np.concatenate(hull.facets)] = True
        normals.append(np.asarray(hull.facets_normal))
        areas.append(np.asarray(hull.facets_area))
    normals.append(np.asarray(hull.face_normals)[~grouped])
    areas.append(np.asarray(hull.area_faces)[~grouped])
    return np.vstack(normals), np.concatenate(areas)


def random_directions(n: int = RANDOM_CANDIDATES, seed: int = SEED) -> np.ndarray:
    """(n, 3) unit vectors spread uniformly over the sphere, the same for the same seed."""
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def candidates(hull: trimesh.Trimesh, random: int = RANDOM_CANDIDATES) -> np.ndarray:
    """(C, 3) build-frame directions to try facing the bed: the CANDIDATES largest hull planes, the six axes,
    `random` seeded random directions and the hull plane each of those is nearest to; duplicates dropped, order
    kept."""
    normals, areas = _hull_planes(hull)
    largest = normals[np.argsort(-areas, kind="stable")[:CANDIDATES]]
    axes = np.vstack([np.eye(3)[[2, 0, 1]], -np.eye(3)])
    rand = random_directions(random, SEED)
    settled = normals[np.argmax(rand @ normals.T, axis=1)]
    dirs = np.vstack([largest, axes, settled, rand])
    _, first = np.unique(np.round(dirs, 9), axis=0, return_index=True)
    return dirs[np.sort(first)]


def rests(hull: trimesh.Trimesh, com: np.ndarray, down: np.ndarray) -> bool:
    """Whether the part stays put with unit `down` facing the bed: its centre of mass `com` over the contact
    polygon (the hull vertices within CONTACT_MM of the bed)."""
    h = hull.vertices @ down  # the bed touches the hull where it reaches furthest along `down`
    pts = hull.vertices[h >= h.max() - CONTACT_MM]
    basis = trimesh.geometry.align_vectors(down, [0, 0, -1])[:3, :3]
    return len(pts) >= 3 and _stable((pts @ basis.T)[:, :2], (basis @ com)[:2])


def check_solid(mesh: trimesh.Trimesh) -> None:
    """FailedPrecondition when `mesh` has no volume to rest on (its vertices lie in a plane or on a line):
    `orient auto` turns a part onto a face of its convex hull, and a flat mesh has none. The stored mesh is
    the problem, not the request (orient auto is valid for other versions), hence not InvalidInput."""
    v = np.asarray(mesh.vertices, np.float64)
    ext = float(np.ptp(v, axis=0).max()) if len(v) else 0.0
    flat = len(v) < 4 or ext == 0.0
    if not flat:
        s = np.linalg.svd(v - v.mean(axis=0), compute_uv=False)
        flat = bool(s[2] <= 1e-9 * s[0])  # no thickness at all, to rounding
    if flat:
        raise FailedPrecondition(
            f"orient auto needs a solid to stand on the bed, but this mesh is flat ({len(mesh.faces)} triangles, "
            f"{len(v)} vertices in one plane): it has no stable resting pose; export it without orient auto "
            "(it is written as stored), or give it thickness first (import with --solidify MM)")


def auto_orient(mesh: trimesh.Trimesh, random: int = RANDOM_CANDIDATES) -> tuple[np.ndarray, float]:
    """The build-frame direction to put down (unit 3-vector) and its overhang area (mm^2); `random`: how many
    seeded random candidates to add (0: hull planes and axes only). FailedPrecondition for a flat mesh."""
    check_solid(mesh)
    try:
        hull = mesh.convex_hull
    except (QhullError, ValueError) as exc:  # nearly flat past check_solid's tolerance
        raise FailedPrecondition(f"orient auto found no convex hull for this mesh ({str(exc)[:80]}): it is too "
                                 "thin to stand on the bed; export it without orient auto") from None
    com = mesh.center_mass if mesh.is_volume else hull.center_mass
    best = None
    for down in candidates(hull, random):
        if not rests(hull, com, down):
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
    turn = np.eye(4)
    if p.orient == "auto":
        down, over = auto_orient(build)
        turn = trimesh.geometry.align_vectors(down, [0, 0, -1])
        build.apply_transform(turn)
    turned = False
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
            quarter = trimesh.transformations.rotation_matrix(np.pi / 2, [0, 0, 1])
            build.apply_transform(quarter)
            turn, turned = quarter @ turn, True
        scale = min(1.0, 1.0 / ratio)  # never enlarges
    build.apply_scale(scale)
    lo, hi = build.bounds
    centre = np.array([bed[0] / 2, bed[1] / 2]) if bed is not None else np.zeros(2)
    build.apply_translation([centre[0] - (lo[0] + hi[0]) / 2, centre[1] - (lo[1] + hi[1]) / 2, -lo[2]])
    ext_mm = tuple(float(e) for e in build.extents)
    out = build.apply_transform(np.linalg.inv(TO_PRINT))  # the copy keeps UVs and material
    rotation = tuple(tuple(float(x) for x in row) for row in np.round(turn[:3, :3], 12))
    return out, Placement(float(scale), tuple(float(d) for d in down), float(over * scale**2), ext_mm, bed,
                          rotation, turned)


def describe(placement: Placement | None, p: PrintParams, mesh: trimesh.Trimesh) -> dict:
    """What an export chose, as JSON-able data: the scale (x the stored size, 1 m -> 1000 mm), the final size
    in mm, the pose (orient auto's rotation, or none) and the bed or printer fitted. `mesh` is the exported
    (scene-frame) mesh; its size is measured when nothing was placed."""
    if placement is None:
        size = np.asarray(mesh.extents, np.float64) * 1000.0
        size = (size[0], size[2], size[1])  # scene X, Y up, Z -> build X, Y, Z up (formats.TO_PRINT)
        return {"units": "mm", "up": "z", "sizing": "as stored", "scale": 1.0, "mm_per_stored_m": 1000.0,
                "size_mm": [round(float(x), 4) for x in size], "orient": "none", "rotation": None,
                "down": None, "turned_on_bed": False, "printer": None, "bed_mm": None, "margin_mm": None,
                "overhang_mm2": None}
    if p.fit or p.bed:
        sizing = f"fit {p.fit}" if p.fit else f"bed {p.bed.strip()}"
        sizing += " (shrunk)" if placement.scale < 1.0 - 1e-12 else " (fits as stored: never enlarged)"
    elif p.scale:
        sizing = f"scale {p.scale:g}"
    elif p.height_mm:
        sizing = f"height {p.height_mm:g} mm"
    elif p.max_mm:
        sizing = f"longest side {p.max_mm:g} mm"
    else:
        sizing = "as stored"
    turned = p.orient == "auto"
    return {"units": "mm", "up": "z", "sizing": sizing, "scale": placement.scale,
            "mm_per_stored_m": placement.scale * 1000.0,
            "size_mm": [round(x, 4) for x in placement.extents_mm],
            "orient": "auto" if turned else "none",
            "rotation": [list(r) for r in placement.rotation] if turned or placement.turned_on_bed else None,
            "down": list(placement.down) if turned else None, "turned_on_bed": placement.turned_on_bed,
            "printer": p.fit or None, "bed_mm": list(placement.bed_mm) if placement.bed_mm else None,
            "margin_mm": p.margin_mm if placement.bed_mm else None,
            "overhang_mm2": round(placement.overhang_mm2, 2) if turned else None}
