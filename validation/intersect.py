"""Resolve self-intersections of closed meshes for printing: an exact mesh arrangement, then a local solid remesh.

A mesh whose surface crosses itself (a scan's fold, a leg pushed through a body, two overlapping shells) is
replaced by its *union* solid (generalised winding number >= 1/2) computed exactly: libigl's mesh boolean
(CGAL exact arithmetic; PyMeshLab's generate_boolean_union, which also accepts self-intersecting input) splits
the crossing triangles along their crossing curves and keeps the patches that bound the union, so every output
point lies on the source surface and faces that cross nothing are kept bit for bit (Zhou, Grinspun, Zorin,
Jacobson, "Mesh Arrangements for Solid Geometry", SIGGRAPH 2016). When every part is closed they go in together
(crossings between parts resolved too); else each closed part alone and solid.fuse unites them later. Where
rounding the exact result to doubles (or to float32, as GLB stores it) leaves faces crossing, the result
rounded to float32 goes through the exact union again. Where faces still cross, or the exact path fails, they
are fixed locally: grouped into boxes, inside each box the union solid is rebuilt by marching cubes on a signed
distance field of cell h, and manifold3d splices it in: (part - boxes) + (remeshed solid & boxes). Enclosed
voids (negative shells) are dropped.

Run in a worker process (PyMeshLab counts the crossings; it is not thread-safe).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from validation import topology

_RAYS = np.array([[1.0, 1e-4, 2e-4], [-3e-4, 1.0, 1e-4], [2e-4, -1e-4, 1.0]])  # off-axis: no grazing along grid rows


_TAG = 2**40  # the part's face ids are source + _TAG; manifold3d numbers the boxes' and remeshes' faces from 0


@dataclass(frozen=True)
class IntersectParams:
    # marching-cubes cell h as shares of the bbox diagonal (error ~ h/2 in the boxes), tried in turn until no
    # crossing is left (a seam where the remesh meets the untouched surface can cross at one cell and not another)
    cell_shares: tuple[float, ...] = (0.002, 0.0025, 0.003, 0.0035, 0.004)
    margin_cells: int = 4  # boxes reach this many cells past the crossing faces
    max_cells: int = 4_000_000  # grid points per box; a bigger box gets a coarser cell
    rounds: int = 3  # remesh passes while crossings remain
    weld_share: float = 1e-5  # merge remeshed vertices closer than this share of the diagonal
    max_stray: float = 0.002  # accept a cell size whose new surface stays this close to the old (share of diagonal)
    # cells for the few faces the exact union leaves crossing after rounding (small boxes: finer cells are cheap)
    residual_cell_shares: tuple[float, ...] = (0.0015, 0.002, 0.0025, 0.003, 0.004)
    exact: bool = True  # False: the local remesh alone (the earlier method; benchmarks/print_repair.py compares)
    exact_rounds: int = 2  # exact unions again, of the result rounded to float32, while rounding leaves crossings


def crossing_faces(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(F,) bool: faces that intersect another face of the same mesh (PyMeshLab's per-face test), as given or once
    rounded to float32 (as GLB stores them: a near-degenerate sliver can cross after rounding)."""
    import pymeshlab  # noqa: PLC0415

    out = np.zeros(len(faces), bool)
    for v in (np.asarray(vertices, np.float64), np.asarray(vertices, np.float32).astype(np.float64)):
        ms = pymeshlab.MeshSet()
        ms.add_mesh(pymeshlab.Mesh(vertex_matrix=v, face_matrix=np.asarray(faces, np.int32)))
        ms.compute_selection_by_self_intersections_per_face()
        out |= ms.current_mesh().face_selection_array().astype(bool)
    return out


def winding_numbers(mesh: trimesh.Trimesh, points: np.ndarray) -> np.ndarray:
    """(P,) winding number of the closed `mesh` at `points`: signed crossings of a ray (exact for closed surfaces,
    self-crossing ones included: 2 where two layers overlap); the median of three rays, as a ray caster can miss a
    hit on an edge."""
    normals = np.asarray(mesh.face_normals)
    counts = []
    for ray in _RAYS / np.linalg.norm(_RAYS, axis=1, keepdims=True):
        _, index, tri = mesh.ray.intersects_location(points, np.tile(ray, (len(points), 1)), multiple_hits=True)
        counts.append(np.bincount(index, weights=np.sign(normals[tri] @ ray), minlength=len(points)))
    return np.median(counts, axis=0)


def _distances(triangles: np.ndarray, points: np.ndarray, k: int = 16) -> np.ndarray:
    """(P,) distance from each point to the nearest of `triangles` (T, 3, 3), checking the k nearest by centre."""
    k = min(k, len(triangles))
    _, idx = cKDTree(triangles.mean(axis=1)).query(points, k=k)
    idx = idx.reshape(len(points), -1)
    rep = np.repeat(points, idx.shape[1], axis=0)
    closest = trimesh.triangles.closest_point(triangles[idx.ravel()], rep)
    return np.linalg.norm(closest - rep, axis=1).reshape(len(points), -1).min(axis=1)


def _boxes(triangles: np.ndarray, h: float, pad: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Axis-aligned boxes around clusters of crossing triangles (T, 3, 3) (centres within 8 cells of each
    other), grown by `pad`; boxes closer than 2 cells merged."""
    from scipy.sparse import coo_matrix  # noqa: PLC0415
    from scipy.sparse.csgraph import connected_components  # noqa: PLC0415

    centres = triangles.mean(axis=1)
    pairs = cKDTree(centres).query_pairs(8 * h, output_type="ndarray")
    n = len(centres)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    corners = triangles.reshape(-1, 3)
    boxes = [(corners[np.repeat(labels == c, 3)].min(axis=0) - pad, corners[np.repeat(labels == c, 3)].max(axis=0) + pad)
             for c in range(int(labels.max()) + 1)]
    merged = True
    while merged and len(boxes) > 1:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                (alo, ahi), (blo, bhi) = boxes[i], boxes[j]
                if np.all(alo <= bhi + 2 * h) and np.all(blo <= ahi + 2 * h):
                    boxes[i] = (np.minimum(alo, blo), np.maximum(ahi, bhi))
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return boxes


def _remeshed_solid(mesh: trimesh.Trimesh, lo: np.ndarray, hi: np.ndarray, h: float):
    """The union solid of `mesh` inside [lo, hi] grown by 2 cells, as a closed marching-cubes manifold."""
    import manifold3d  # noqa: PLC0415
    from skimage.measure import marching_cubes  # noqa: PLC0415

    glo, ghi = lo - 2.5 * h, hi + 2.5 * h  # box planes mid-cell: no marching-cubes vertex on them
    shape = np.ceil((ghi - glo) / h).astype(int) + 1
    axes = [glo[i] + h * np.arange(shape[i]) for i in range(3)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    inside = winding_numbers(mesh, points) > 0.5
    centres = mesh.triangles_center
    near = np.all((centres > glo - 8 * h) & (centres < ghi + 8 * h), axis=1)
    dist = _distances(np.asarray(mesh.triangles)[near], points)
    field = np.pad(np.where(inside, dist, -dist).reshape(shape), 1, constant_values=-h)
    verts, tris, _, _ = marching_cubes(field, 0.0, spacing=(h, h, h))
    chunk = trimesh.Trimesh(verts + glo - h, tris[:, ::-1], process=True)
    if chunk.volume < 0:
        chunk.invert()
    return manifold3d.Manifold(manifold3d.Mesh64(
        vert_properties=np.asarray(chunk.vertices, np.float64), tri_verts=np.asarray(chunk.faces, np.uint64)))


def resolve_part(vertices: np.ndarray, faces: np.ndarray, source: np.ndarray, crossing: np.ndarray,
                 params: IntersectParams, diagonal: float, cell_share: float):
    """One closed part with crossing faces -> (vertices, faces, source, boxes used). New faces' source: the
    nearest old face (so UVs carry over); None when the part is not a closed manifold."""
    import manifold3d  # noqa: PLC0415

    mesh = trimesh.Trimesh(vertices, faces, process=False)
    h = cell_share * diagonal
    part = manifold3d.Manifold(manifold3d.Mesh64(
        vert_properties=np.array(vertices, np.float64, order="C"), tri_verts=np.array(faces, np.uint64, order="C"),
        face_id=np.array(source + _TAG, np.uint64, order="C")))  # writable copies (nanobind refuses read-only)
    if part.status() != manifold3d.Error.NoError:
        return None
    tri = np.asarray(mesh.triangles)[crossing]
    boxes = _boxes(tri, h, params.margin_cells * h)
    solids, cubes = [], []
    for lo, hi in boxes:
        cells = float(np.prod((hi - lo) / h + 5))
        hb = h * max(1.0, (cells / params.max_cells) ** (1 / 3))
        cube = manifold3d.Manifold.cube(hi - lo).translate(lo)
        solids.append(_remeshed_solid(mesh, lo, hi, hb) ^ cube)  # each its own box: no two remeshes overlap
        cubes.append(cube)
    region = manifold3d.Manifold.batch_boolean(cubes, manifold3d.OpType.Add)
    inner = manifold3d.Manifold.batch_boolean(solids, manifold3d.OpType.Add)
    out = ((part - region) + inner).to_mesh64()
    v = np.array(out.vert_properties, np.float64)[:, :3]
    f = np.array(out.tri_verts, np.int64)
    src = np.asarray(out.face_id, np.int64) - _TAG
    src[src < -1] = -1  # faces of the cut boxes and the remeshed solid carry small ids of their own
    new = src < 0
    if new.any():  # marching-cubes faces: attributes from the nearest old face
        _, nearest = cKDTree(mesh.triangles_center).query(v[f[new]].mean(axis=1))
        src[new] = source[nearest]
    v, f, src = _weld(v, f, src, params.weld_share * diagonal)
    return v, f, src, len(boxes)


def exact_union(vertices: np.ndarray, faces: np.ndarray, source: np.ndarray):
    """Closed part(s) -> their union solid (winding number >= 1) as (vertices, faces, source), exactly (libigl's
    mesh boolean with CGAL, through PyMeshLab): crossing faces are split along their crossing curves and the
    patches inside the solid dropped; each output face keeps its old face's source id (quality transfer), every
    other vertex and face is kept. None when the boolean fails or leaves nothing."""
    import pymeshlab  # noqa: PLC0415

    ms = pymeshlab.MeshSet()
    ms.add_mesh(pymeshlab.Mesh(vertex_matrix=np.asarray(vertices, np.float64), face_matrix=np.asarray(faces, np.int32),
                               f_scalar_array=np.arange(len(faces), dtype=np.float64)))
    # the filter unites two meshes: the second is a speck far away, dropped again below
    lo, hi = np.min(vertices, axis=0), np.max(vertices, axis=0)
    speck = trimesh.creation.box(bounds=[hi + (hi - lo) + 1.0, hi + (hi - lo) + 1.0 + 1e-3])
    ms.add_mesh(pymeshlab.Mesh(vertex_matrix=np.asarray(speck.vertices, np.float64),
                               face_matrix=np.asarray(speck.faces, np.int32), f_scalar_array=np.full(12, -1.0)))
    try:
        ms.generate_boolean_union(first_mesh=0, second_mesh=1, transfer_face_quality=True)
    except pymeshlab.PyMeshLabException:
        return None
    m = ms.current_mesh()
    ids = np.rint(m.face_scalar_array()).astype(np.int64)
    keep = (ids >= 0) & (ids < len(faces))
    if not keep.any():
        return None
    used, local = np.unique(m.face_matrix()[keep], return_inverse=True)
    return m.vertex_matrix()[used].copy(), local.reshape(-1, 3).astype(np.int64), np.asarray(source)[ids[keep]]


def _weld(vertices: np.ndarray, faces: np.ndarray, source: np.ndarray, distance: float):
    """Merge vertices closer than `distance` and drop the null faces left: the seam's slivers, which can cross
    their neighbours once coordinates are rounded to float32 (GLB) or moved."""
    import pymeshlab  # noqa: PLC0415

    ms = pymeshlab.MeshSet()
    ms.add_mesh(pymeshlab.Mesh(vertex_matrix=vertices, face_matrix=np.asarray(faces, np.int32),
                               f_scalar_array=np.asarray(source + 1, np.float64)))
    ms.meshing_merge_close_vertices(threshold=pymeshlab.PureValue(distance))
    ms.meshing_remove_null_faces()
    ms.meshing_remove_unreferenced_vertices()
    m = ms.current_mesh()
    return (m.vertex_matrix().copy(), m.face_matrix().astype(np.int64),
            np.rint(m.face_scalar_array()).astype(np.int64) - 1)


def drop_voids(vertices: np.ndarray, faces: np.ndarray, source: np.ndarray, min_share: float = 0.02):
    """Remove closed shells enclosing negative volume (voids inside a solid) and specks (a bbox diagonal below
    min_share of the whole one: remesh debris). Returns (faces, source, voids dropped, specks dropped)."""
    labels = topology.components(faces)
    tri = vertices[faces]
    vol = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])) / 6.0
    void = np.bincount(labels, weights=vol) < 0
    parts = int(labels.max()) + 1
    lo = np.full((parts, 3), np.inf)
    hi = np.full((parts, 3), -np.inf)
    corner_labels = np.repeat(labels, 3)
    np.minimum.at(lo, corner_labels, tri.reshape(-1, 3))
    np.maximum.at(hi, corner_labels, tri.reshape(-1, 3))
    speck = ~void & (np.linalg.norm(hi - lo, axis=1) < min_share * float(np.linalg.norm(np.ptp(vertices, axis=0))))
    keep = ~(void | speck)[labels]
    return faces[keep], source[keep], int(void.sum()), int(speck.sum())


def _remesh_rounds(pv, pf, ps, crossing, params: IntersectParams, diagonal: float, share: float):
    """resolve_part, again on what is left while crossings remain -> (v, f, source, crossing, boxes) or None."""
    boxes = 0
    for _ in range(params.rounds):  # a seam can cross itself where two remeshes meet: remesh it again
        done = resolve_part(pv, pf, ps, crossing, params, diagonal, share)
        if done is None:
            return None
        pv, pf, ps, more = done
        boxes += more
        crossing = crossing_faces(pv, pf)
        if not crossing.any():
            break
    return pv, pf, ps, crossing, boxes


def _closed(vertices: np.ndarray, faces: np.ndarray) -> bool:
    """Whether the part is a closed, oriented 2-manifold (what the exact boolean needs), per manifold3d."""
    import manifold3d  # noqa: PLC0415

    return manifold3d.Manifold(manifold3d.Mesh64(
        vert_properties=np.array(vertices, np.float64, order="C"),
        tri_verts=np.array(faces, np.uint64, order="C"))).status() == manifold3d.Error.NoError


def _stray(old_triangles: np.ndarray, vertices: np.ndarray) -> float:
    """How far the new surface strays from the old one (a seam can leave a spike): the largest distance from a
    vertex that is not an old vertex to the old triangles (T, 3, 3)."""
    old = {tuple(p) for p in old_triangles.reshape(-1, 3)}
    new = np.array([tuple(p) not in old for p in vertices], bool)
    return float(_distances(old_triangles, vertices[new], k=32).max()) if new.any() else 0.0


def _search(pv, pf, ps, crossing, params: IntersectParams, diagonal: float, old_triangles: np.ndarray,
            shares: tuple[float, ...]):
    """The local remesh at each cell size in turn -> (best (v, f, source, crossing, boxes), (crossings left, stray))
    or (None, None); stops at the first size that leaves no crossing and strays at most params.max_stray."""
    best, best_score = None, None
    for share in shares:
        trial = _remesh_rounds(pv, pf, ps, crossing, params, diagonal, share)
        if trial is None:
            continue
        stray = _stray(old_triangles, trial[0][np.unique(trial[1])]) / diagonal
        score = (int(trial[3].sum()), stray)
        if best is None or score < best_score:
            best, best_score = trial, score
        if score[0] == 0 and stray <= params.max_stray:
            break
    return best, best_score


def _resolve_part(part: str, pv, pf, ps, crossing, params: IntersectParams, diagonal: float):
    """Closed part(s) with crossing faces -> (vertices, faces, source, note): the exact union, its leftover crossings
    (float rounding) remeshed locally; the local remesh of the whole crossing region when the exact path fails."""
    count, first, old_triangles = len(pf), int(crossing.sum()), pv[pf]
    exact = exact_union(pv, pf, ps) if params.exact and _closed(pv, pf) else None
    if exact is not None:
        ev, ef, es = exact
        left = crossing_faces(ev, ef)
        again = 0
        while left.any() and again < params.exact_rounds:  # rounding made new near-crossings: round as GLB will
            redo = exact_union(ev.astype(np.float32).astype(np.float64), ef, es)  # store it, resolve exactly again
            if redo is None:
                break
            (ev, ef, es), again = redo, again + 1
            left = crossing_faces(ev, ef)
        parts = int(topology.components(ef).max()) + 1
        how = f"{first} crossing faces resolved exactly (mesh arrangement: the union solid, {parts} part(s)"
        how += f"; again after rounding to float32: {again}x)" if again else ")"
        if not left.any():
            stray = _stray(old_triangles, ev) / diagonal
            return ev, ef, es, (f"self-intersections: {part}: {how} ({count} -> {len(ef)} faces, surface "
                                f"within {stray:.3%} of the diagonal from the old one)")
        best, score = _search(ev, ef, es, left, params, diagonal, old_triangles, params.residual_cell_shares)
        if best is not None and score[0] == 0:
            v, f, s, _, boxes = best
            return v, f, s, (f"self-intersections: {part}: {how}; {int(left.sum())} faces still crossing after "
                             f"rounding remeshed locally in {boxes} box(es) ({count} -> {len(f)} faces, surface within "
                             f"{score[1]:.3%} of the diagonal from the old one)")
    best, score = _search(pv, pf, ps, crossing, params, diagonal, old_triangles, params.cell_shares)
    if best is None:
        return pv, pf, ps, f"self-intersections: {part} is not a closed manifold; {first} crossing faces left"
    v, f, s, crossing, boxes = best
    left = f"; {int(crossing.sum())} left" if crossing.any() else ""
    return v, f, s, (f"self-intersections: {part}: {first} crossing faces remeshed locally in {boxes} box(es) "
                     f"({count} -> {len(f)} faces, surface within {score[1]:.3%} of the diagonal from the old one){left}")


def resolve(vertices: np.ndarray, faces: np.ndarray, source: np.ndarray, params: IntersectParams = IntersectParams()):
    """The mesh rid of crossing faces -> (vertices, faces, source, crossing faces before, notes). When every part is
    closed, all of them at once (crossings between parts too: one union solid); else each closed part on its own,
    crossings between parts left to the union (solid.fuse)."""
    diagonal = float(np.linalg.norm(np.ptp(vertices, axis=0)))
    labels = topology.components(faces)
    parts = int(labels.max()) + 1 if len(faces) else 0
    pieces, notes, before = [], [], 0
    crossing = crossing_faces(vertices, faces) if parts > 0 else np.zeros(0, bool)
    if crossing.any() and params.exact and _closed(vertices, faces):
        before = int(crossing.sum())
        name = "part 0" if parts == 1 else f"{parts} parts"
        v, f, s, note = _resolve_part(name, vertices, faces, source, crossing, params, diagonal)
        notes.append(note)
        parts = 0  # done: skip the per-part loop
        pieces.append((v, f, s))
    for part in range(parts):
        sel = labels == part
        used, local = np.unique(faces[sel], return_inverse=True)
        pv, pf, ps = vertices[used], local.reshape(-1, 3), source[sel]
        crossing = crossing_faces(pv, pf)
        if crossing.any():
            before += int(crossing.sum())
            pv, pf, ps, note = _resolve_part(f"part {part}", pv, pf, ps, crossing, params, diagonal)
            notes.append(note)
        pieces.append((pv, pf, ps))
    offsets = np.cumsum([0] + [len(p[0]) for p in pieces])
    v = np.vstack([p[0] for p in pieces])
    f = np.vstack([p[1] + o for p, o in zip(pieces, offsets)])
    s = np.concatenate([p[2] for p in pieces])
    f, s, voids, specks = drop_voids(v, f, s)
    if voids:
        notes.append(f"inner voids: dropped {voids} enclosed empty shell(s)")
    if specks:
        notes.append(f"slivers: dropped {specks} speck(s) left by the remesh")
    return v, f, s, before, notes
