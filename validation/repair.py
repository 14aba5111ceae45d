"""Mesh repair on PyMeshLab, with an admesh-style before/after log.

Run only in a worker process or a single-threaded CLI: PyMeshLab is not thread-safe.
UVs and vertex colours are carried per face corner and re-attached by face correspondence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import trimesh

from meshsmith.errors import InvalidInput
from validation import corners, intersect, solid, solidify, topology
from validation.report import signed_volume


@dataclass(frozen=True)
class RepairParams:
    merge_tolerance: float = 1e-6  # merge vertices closer than this share of the bbox diagonal
    min_component_share: float = 0.02  # drop parts whose diagonal is below this share of the whole one
    max_hole_edges: int = 100  # close holes bounded by at most this many edges
    orient_outward: bool = True  # flip parts that enclose negative volume (inside-out)
    watertight: bool = False  # printing: close every hole and fuse overlapping bodies into one solid
    printable: bool = False  # watertight, and resolve self-intersections (local remesh), drop voids
    solidify_m: float = 0.0  # give open sheets (a flat or zero-thickness model) this wall thickness, metres


@dataclass(frozen=True)
class RepairLog:
    parts_before: int
    parts_after: int
    open_edges_before: int
    open_edges_after: int
    edges_fixed: int
    vertices_merged: int
    faces_removed: int
    faces_added: int
    faces_reversed: int
    holes_closed: int
    notes: tuple[str, ...]


# steps that only drop degenerate geometry: a mesh they empty had no face with area
_CLEANING = ("meshing_remove_duplicate_vertices", "meshing_merge_close_vertices", "meshing_remove_null_faces",
             "meshing_remove_duplicate_faces")


class _Chain:
    """A MeshSet plus counters; each step notes what it changed."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray):
        import pymeshlab  # noqa: PLC0415  (workers import it once; 1 s)

        self.pml = pymeshlab
        self.ms = pymeshlab.MeshSet()
        self.ms.add_mesh(
            pymeshlab.Mesh(
                vertex_matrix=np.asarray(vertices, dtype=np.float64),
                face_matrix=np.asarray(faces, dtype=np.int32),
                f_scalar_array=np.arange(1, len(faces) + 1, dtype=np.float64),  # source face + 1; 0 = new
            )
        )
        self.notes: list[str] = []
        self.merged = self.removed = self.added = 0

    def counts(self) -> tuple[int, int]:
        m = self.ms.current_mesh()
        return m.vertex_number(), m.face_number()

    def step(self, label: str, filter_name: str, **kwargs) -> None:
        v0, f0 = self.counts()
        getattr(self.ms, filter_name)(**kwargs)
        v1, f1 = self.counts()
        if f1 == 0:  # the next filter would fail with "does not have any faces"
            if filter_name in _CLEANING:
                raise InvalidInput(
                    f"the mesh has no faces with area after removing degenerate ones ({label} left none of its "
                    f"{f0} faces): export real geometry, check node scales and the unit scale"
                )
            raise InvalidInput(
                f"repair step '{label}' left none of the mesh's {f0} faces: it is too small or too open to "
                "repair (e.g. a lone sheet asked to be watertight); send a closed mesh or repair without watertight"
            )
        if f1 < f0:
            self.removed += f0 - f1
            self.notes.append(f"{label}: removed {f0 - f1} faces")
        elif f1 > f0:
            self.added += f1 - f0
            self.notes.append(f"{label}: added {f1 - f0} faces")
        if filter_name in ("meshing_remove_duplicate_vertices", "meshing_merge_close_vertices") and v1 < v0:
            self.merged += v0 - v1
            self.notes.append(f"{label}: merged {v0 - v1} vertices")
        elif filter_name == "meshing_repair_non_manifold_vertices" and v1 > v0:
            self.notes.append(f"{label}: split {v1 - v0} vertices")

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.ms.meshing_remove_unreferenced_vertices()
        m = self.ms.current_mesh()
        source = np.rint(m.face_scalar_array()).astype(np.int64) - 1
        return m.vertex_matrix().copy(), m.face_matrix().astype(np.int64), source


def _boundary_loops(faces: np.ndarray) -> int:
    return topology.boundary_loops(faces) if len(faces) else 0


def _orient_outward(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, int]:
    """Flip every part whose signed volume is clearly negative; returns (faces, parts flipped)."""
    labels = topology.components(faces)
    tri = vertices[faces]
    vol = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])) / 6.0
    per_part = np.bincount(labels, weights=vol)
    scale = float(np.prod(np.maximum(np.ptp(vertices, axis=0), 1e-12)))
    flip_part = per_part < -1e-9 * scale
    flip = flip_part[labels]
    out = faces.copy()
    out[flip] = out[flip][:, ::-1]
    return out, int(flip_part.sum())


def _is_clean(t: topology.Topology) -> bool:
    """One closed, 2-manifold, consistently wound part without degenerate faces: nothing for the chain to fix."""
    return (t.boundary_edges, t.nonmanifold_edges, t.nonmanifold_vertices, t.inconsistent_edges,
            t.degenerate_faces, t.components) == (0, 0, 0, 0, 0, 1)


def _orient_only(mesh: trimesh.Trimesh, params: RepairParams) -> tuple[trimesh.Trimesh, RepairLog]:
    """The fast path for a clean mesh (most generated ones): no PyMeshLab pass, only the outward check."""
    out, notes, reversed_ = mesh, ["already clean: one closed, 2-manifold, consistently wound part"], 0
    if params.orient_outward:
        # per triangle, so UV seams (split vertices) do not matter; same threshold as _orient_outward
        if signed_volume(mesh) < -1e-9 * float(np.prod(np.maximum(mesh.extents, 1e-12))):
            out = mesh.copy()
            out.faces = np.asarray(mesh.faces)[:, ::-1]
            reversed_ = len(out.faces)
            notes.append("orient outward: flipped 1 inside-out part(s)")
    log = RepairLog(parts_before=1, parts_after=1, open_edges_before=0, open_edges_after=0, edges_fixed=0,
                    vertices_merged=0, faces_removed=0, faces_added=0, faces_reversed=reversed_, holes_closed=0,
                    notes=tuple(notes))
    return out, log


def repair(mesh: trimesh.Trimesh, params: RepairParams = RepairParams()) -> tuple[trimesh.Trimesh, RepairLog]:
    """Merge, clean, fix non-manifold parts, drop debris, close holes, orient outward (optionally make a solid).

    A mesh that is already one clean closed part skips the PyMeshLab chain (it would change nothing)."""
    before = topology.measure(mesh)
    every_vertex_used = np.bincount(np.asarray(mesh.faces).reshape(-1), minlength=len(mesh.vertices)).all()
    if params.printable or params.solidify_m > 0:
        params = replace(params, watertight=True, printable=True)
    if _is_clean(before) and every_vertex_used and not params.watertight:
        return _orient_only(mesh, params)
    attrs = corners.corner_attributes(mesh)
    old_corners = np.asarray(mesh.vertices, dtype=np.float64)[mesh.faces]
    old_normals = np.asarray(mesh.face_normals)
    positions, faces = corners.merge_positions(mesh)
    loops_before = _boundary_loops(faces)
    pre_notes, pre_source = [], None
    if params.solidify_m > 0:
        positions, faces, pre_source, sheets = solidify.solidify(positions, faces, params.solidify_m)
        if sheets:
            pre_notes.append(f"solidify: {sheets} open part(s) given walls {params.solidify_m * 1000:g} mm thick "
                             f"({len(mesh.faces)} -> {len(faces)} faces)")
        else:
            pre_notes.append("solidify: nothing to do, every part is closed")

    c = _Chain(positions, faces)
    c.notes.extend(pre_notes)
    pv = c.pml.PercentageValue
    c.step("merge duplicate vertices", "meshing_remove_duplicate_vertices")
    c.step("merge close vertices", "meshing_merge_close_vertices", threshold=pv(params.merge_tolerance * 100))
    c.step("remove null faces", "meshing_remove_null_faces")
    c.step("remove duplicate faces", "meshing_remove_duplicate_faces")
    c.step("repair non-manifold edges", "meshing_repair_non_manifold_edges", method=0)
    c.step("repair non-manifold vertices", "meshing_repair_non_manifold_vertices", vertdispratio=0.01)
    if params.min_component_share > 0:
        c.step("remove small floating parts", "meshing_remove_connected_component_by_diameter",
               mincomponentdiag=pv(params.min_component_share * 100))
    c.step("orient faces coherently", "meshing_re_orient_faces_coherently")
    if params.max_hole_edges > 0:
        c.step("close holes", "meshing_close_holes", maxholesize=int(params.max_hole_edges), selfintersection=True)
    if params.watertight:  # every hole: first with fills that avoid self-intersections, then any fill
        big = int(before.boundary_edges + 1)
        c.step("close remaining holes", "meshing_close_holes", maxholesize=big, selfintersection=True)
        if c.ms.get_topological_measures()["boundary_edges"] > 0:  # stubborn rims: cut them back, refill
            c.ms.compute_selection_from_mesh_border()
            c.ms.apply_selection_dilatation()
            c.step("trim hole rims", "meshing_remove_selected_faces")
            c.step("close remaining holes", "meshing_close_holes", maxholesize=big + 64, selfintersection=True)
        for _ in range(2):
            c.step("repair non-manifold edges", "meshing_repair_non_manifold_edges", method=0)
            c.step("repair non-manifold vertices", "meshing_repair_non_manifold_vertices", vertdispratio=0.01)
            c.step("close remaining holes", "meshing_close_holes", maxholesize=big, selfintersection=False)
    vertices, faces, source = c.arrays()
    notes = c.notes
    if params.orient_outward and len(faces):
        faces, flipped = _orient_outward(vertices, faces)
        if flipped:
            notes.append(f"orient outward: flipped {flipped} inside-out part(s)")
    if params.printable and len(faces):
        vertices, faces, source, crossing, more = intersect.resolve(vertices, faces, source)
        notes.extend(more)
    if params.watertight and len(faces):
        count = len(faces)
        vertices, faces, source, note = solid.fuse(vertices, faces, source)
        c.added += max(0, len(faces) - count)
        c.removed += max(0, count - len(faces))
        if note:
            notes.append(note)

    if params.printable and len(faces):
        left = int(intersect.crossing_faces(vertices, faces).sum())
        notes.append(f"self-intersecting faces: {crossing} -> {left}")
    if pre_source is not None:  # faces of the solidified sheet -> the input's faces
        source = np.where(source >= 0, pre_source[np.maximum(source, 0)], -1)
    out = corners.rebuild(vertices, faces, corners.transfer(vertices, faces, source, old_corners, attrs), mesh)
    after = topology.measure(out)
    known = source >= 0
    new_normals = out.face_normals
    reversed_ = int((np.einsum("ij,ij->i", new_normals[known], old_normals[source[known]]) < -0.5).sum())
    open_before = before.boundary_edges + before.nonmanifold_edges
    open_after = after.boundary_edges + after.nonmanifold_edges
    log = RepairLog(
        parts_before=before.components,
        parts_after=after.components,
        open_edges_before=before.boundary_edges,
        open_edges_after=after.boundary_edges,
        edges_fixed=max(0, open_before - open_after) + max(0, before.inconsistent_edges - after.inconsistent_edges),
        vertices_merged=c.merged,
        faces_removed=c.removed,
        faces_added=c.added,
        faces_reversed=reversed_,
        holes_closed=max(0, loops_before - _boundary_loops(np.asarray(topology.merged(out).faces))),
        notes=tuple(notes),
    )
    return out, log
