"""Decimation to a face budget with fast-simplification (quadric collapse), UV-aware, error measured.

Untextured meshes are simplified with their vertices merged by position. Textured meshes are
simplified as split at UV seams with the seams locked (both sides stay identical, so a closed mesh
stays closed and no texture chart bleeds into another); each kept vertex keeps its UV. Copies of a vertex
whose UVs differ by under SEAM_UV_TOLERANCE are welded first (`weld_false_seams`): such a "seam" (repair's
interpolation noise) would stay locked and keep a low LOD far over its face budget.
A closed mesh that comes out with edges of more than two faces (thin parts folded at a low budget) is tried
again more carefully, then with PyMeshLab's quadric collapse (`_meshlab`), kept when it stays closed.
The error is the sampled two-sided Hausdorff distance (PyMeshLab) over the bbox diagonal (`hausdorff`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from meshsmith.errors import InvalidInput
from validation import corners, topology


@dataclass(frozen=True)
class DecimateParams:
    target_faces: int | None = 20000
    ratio: float | None = None  # share of faces to keep; wins over target_faces when set
    aggressiveness: float = 2.0  # fast-simplification `agg`: lower is slower and more accurate (7 gives spikes)
    error_samples: int = 50_000  # surface samples per direction for the Hausdorff estimate (0: skip)


@dataclass(frozen=True)
class DecimateResult:
    mesh: trimesh.Trimesh
    faces_before: int
    faces_after: int
    max_error: float  # fraction of the bbox diagonal
    rms_error: float


def target_count(faces: int, params: DecimateParams) -> int:
    if params.ratio is not None:
        if not 0 < params.ratio <= 1:
            raise InvalidInput(f"decimation ratio must be in (0, 1], got {params.ratio}")
        return max(4, int(round(faces * params.ratio)))
    if params.target_faces is None or params.target_faces < 4:
        raise InvalidInput(f"target_faces must be at least 4, got {params.target_faces}")
    return int(params.target_faces)


# b -> a samples are looked up in a grid over a's faces: ~10 us each on a 1.5M-face scan (a -> b, into the small
# decimated mesh, ~4 us), so on a reference this big that direction takes at most BACK_SAMPLES_BIG of them
BIG_REFERENCE_FACES = 500_000
BACK_SAMPLES_BIG = 10_000


def hausdorff(a: trimesh.Trimesh, b: trimesh.Trimesh, samples: int = 50_000) -> tuple[float, float]:
    """Sampled two-sided Hausdorff (max, RMS) between surfaces, as fractions of a's bbox diagonal.

    a -> b: `samples` points on a's faces; b -> a: as many on b's vertices and faces (each at most
    BACK_SAMPLES_BIG when a has over BIG_REFERENCE_FACES faces). Random samples (PyMeshLab's), exact distances."""
    import pymeshlab  # noqa: PLC0415  (worker processes only)

    diag = float(np.linalg.norm(a.extents)) or 1.0
    ms = pymeshlab.MeshSet()
    for m in (a, b):
        ms.add_mesh(pymeshlab.Mesh(vertex_matrix=np.asarray(m.vertices, dtype=np.float64),
                                   face_matrix=np.asarray(m.faces, dtype=np.int32)))
    worst, sq, n = 0.0, 0.0, 0
    # a -> b on surface samples; b -> a also on b's vertices, where collapses place new points
    back = min(samples, BACK_SAMPLES_BIG) if len(a.faces) > BIG_REFERENCE_FACES else samples
    for sampled, target, verts, count in ((0, 1, False, samples), (1, 0, True, back)):
        r = ms.get_hausdorff_distance(sampledmesh=sampled, targetmesh=target, samplevert=verts, sampleface=True,
                                      samplenum=count, maxdist=pymeshlab.PercentageValue(50))
        worst = max(worst, r["max"])
        sq += r["RMS"] ** 2 * r["n_samples"]
        n += r["n_samples"]
    return worst / diag, float(np.sqrt(sq / max(n, 1))) / diag


def _simplify(vertices: np.ndarray, faces: np.ndarray, target: int, agg: float, lock_border: bool):
    """(vertices, faces, index of the input vertex each output vertex is) after quadric collapse.

    Runs on a copy scaled to a unit bbox diagonal (fast-simplification's thresholds are absolute);
    when the careful pass stops short of the target, more aggressive passes continue from it.
    """
    import fast_simplification  # noqa: PLC0415

    vertices = np.asarray(vertices, dtype=np.float64)
    lo = vertices.min(axis=0)
    scale = float(np.linalg.norm(vertices.max(axis=0) - lo)) or 1.0
    v, f = (vertices - lo) / scale, np.asarray(faces, dtype=np.int64)
    origin = np.arange(len(v))
    for level in (agg, max(agg, 5.0), max(agg, 8.0)):
        if len(f) <= target * 1.01:
            break
        referenced = np.zeros(len(v), dtype=bool)
        referenced[f.reshape(-1)] = True
        v2, f2, collapses = fast_simplification.simplify(
            v, f, target_count=target, agg=level, return_collapses=True, preserve_border=lock_border
        )
        gone = np.zeros(len(v), dtype=bool)
        if len(collapses):
            gone[collapses[:, 1]] = True
        kept = np.nonzero(referenced & ~gone)[0]  # fast-simplification compacts in input order
        if len(kept) != len(v2):
            kept = np.asarray(trimesh.points.PointCloud(v).kdtree.query(v2)[1])
        v, f, origin = np.asarray(v2, dtype=np.float64), np.asarray(f2, dtype=np.int64), origin[kept]
    return v * scale + lo, f, origin


# UV distance (each axis) under which two copies of a vertex are one point of the texture: about a texel of a
# 1024 px texture. Real seams (charts apart) differ far more; copies made by repair (a pinch split, faces
# re-made over a decimated surface whose UVs are no longer exactly planar) differ by up to ~7e-4 (teapot.png).
SEAM_UV_TOLERANCE = 1e-3


def weld_false_seams(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    """(used (U,) input vertex indices, faces (F, 3) into them): copies of a vertex at the same position whose UVs
    are within SEAM_UV_TOLERANCE of its first copy's (vertex colours: equal) merged into that first copy."""
    values = getattr(mesh.visual, "uv", None) if isinstance(mesh.visual, trimesh.visual.TextureVisuals) else None
    tol = SEAM_UV_TOLERANCE if values is not None else 0.0
    values = np.asarray(values if values is not None else mesh.visual.vertex_colors, dtype=np.float64)
    first, inverse = corners.weld(np.ascontiguousarray(mesh.vertices, dtype=np.float64))
    rep = first[inverse]
    target = np.where(np.abs(values - values[rep]).max(axis=1) <= tol, rep, np.arange(len(rep)))
    used, index = np.unique(target, return_inverse=True)
    return used, index.reshape(-1)[np.asarray(mesh.faces)]


def _textured(mesh: trimesh.Trimesh, positions, faces, is_open: bool, target: int, agg: float) -> trimesh.Trimesh:
    used, welded = weld_false_seams(mesh)
    v, f, kept = _simplify(np.asarray(mesh.vertices)[used], welded, target, agg, lock_border=True)
    kept = used[kept]
    visual = mesh.visual
    if isinstance(visual, trimesh.visual.TextureVisuals):
        new_visual = trimesh.visual.TextureVisuals(uv=np.asarray(visual.uv)[kept], material=visual.material)
    else:
        new_visual = trimesh.visual.ColorVisuals(vertex_colors=np.asarray(visual.vertex_colors)[kept])
    return trimesh.Trimesh(vertices=v, faces=f, visual=new_visual, process=False)


def _plain(mesh: trimesh.Trimesh, positions, faces, is_open: bool, target: int, agg: float) -> trimesh.Trimesh:
    v, f, _ = _simplify(positions, faces, target, agg, lock_border=is_open)  # free borders would shrink
    return trimesh.Trimesh(vertices=v, faces=f, process=False)


def _closed(mesh: trimesh.Trimesh) -> bool:
    return topology.open_edges(corners.merge_positions(mesh)[1]) == 0


def _meshlab(mesh: trimesh.Trimesh, target: int) -> trimesh.Trimesh | None:
    """MeshLab's quadric collapse (texture-aware, UV seams kept as preserved borders): ~10x slower than
    fast-simplification, but it does not fold thin parts into edges of three or four faces, which
    fast-simplification does at low budgets (a plush toy's ears at 1,500 faces). None for vertex colours."""
    import pymeshlab  # noqa: PLC0415  (worker processes only)

    attrs = corners.corner_attributes(mesh)
    if "color" in attrs:
        return None
    used, welded = weld_false_seams(mesh)
    extra = {"v_tex_coords_matrix": np.asarray(mesh.visual.uv, dtype=np.float64)[used]} if attrs else {}
    ms = pymeshlab.MeshSet()
    ms.add_mesh(pymeshlab.Mesh(vertex_matrix=np.asarray(mesh.vertices, dtype=np.float64)[used],
                               face_matrix=welded.astype(np.int32), **extra))
    if attrs:
        ms.compute_texcoord_transfer_vertex_to_wedge()
        ms.meshing_decimation_quadric_edge_collapse_with_texture(
            targetfacenum=target, preserveboundary=True, boundaryweight=1000.0, preservenormal=True)
    else:
        ms.meshing_decimation_quadric_edge_collapse(
            targetfacenum=target, preservetopology=True, preserveboundary=True, preservenormal=True)
    out = ms.current_mesh()
    faces = out.face_matrix().astype(np.int64)
    uv = {"uv": out.wedge_tex_coord_matrix().reshape(len(faces), 3, 2)} if attrs else {}
    return corners.rebuild(out.vertex_matrix().astype(np.float64), faces, uv, like=mesh)


def decimate(mesh: trimesh.Trimesh, params: DecimateParams) -> DecimateResult:
    """Reduce to the target face count; no-op when already there. Keeps UVs and closedness."""
    before = len(mesh.faces)
    target = target_count(before, params)
    if before <= target:
        return DecimateResult(mesh, before, before, 0.0, 0.0)
    positions, faces = corners.merge_positions(mesh)
    is_open = topology.open_edges(faces) > 0
    run = _textured if corners.corner_attributes(mesh) else _plain
    out = run(mesh, positions, faces, is_open, target, params.aggressiveness)
    if not is_open and not _closed(out):  # rare pinch: retry more carefully
        out = run(mesh, positions, faces, is_open, target, min(1.0, params.aggressiveness))
        if not _closed(out):  # still folded: MeshLab's collapse, when it keeps the solid closed
            alt = _meshlab(mesh, target)
            out = alt if alt is not None and _closed(alt) else out
    err = hausdorff(mesh, out, params.error_samples) if params.error_samples > 0 else (float("nan"), float("nan"))
    return DecimateResult(out, before, len(out.faces), err[0], err[1])
