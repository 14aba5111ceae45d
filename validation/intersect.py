"""Resolve self-intersections of closed meshes for printing: a local solid remesh plus exact booleans.

Each closed part whose surface crosses itself (a scan's fold, a leg pushed through a body) is fixed only
where it crosses: the crossing faces are grouped into boxes, inside each box the part's *union* solid
(generalised winding number >= 1/2, from signed ray crossings) is rebuilt by marching cubes on a signed
distance field of cell h, and manifold3d splices it in: (part - boxes) + (remeshed solid & boxes). Outside
the boxes the surface is untouched, bit for bit. Overlapping parts are then united exactly (solid.fuse),
which also swallows inner shells; enclosed voids (negative shells) are dropped.

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


def resolve(vertices: np.ndarray, faces: np.ndarray, source: np.ndarray, params: IntersectParams = IntersectParams()):
    """Every closed part rid of its own crossings -> (vertices, faces, source, crossing faces before, notes).
    Crossings between parts are left to the union (solid.fuse)."""
    diagonal = float(np.linalg.norm(np.ptp(vertices, axis=0)))
    labels = topology.components(faces)
    pieces, notes, before = [], [], 0
    for part in range(int(labels.max()) + 1 if len(faces) else 0):
        sel = labels == part
        used, local = np.unique(faces[sel], return_inverse=True)
        pv, pf, ps = vertices[used], local.reshape(-1, 3), source[sel]
        crossing = crossing_faces(pv, pf)
        if crossing.any():
            before += int(crossing.sum())
            count, first = len(pf), int(crossing.sum())
            best, best_score = None, None
            old_triangles = pv[pf]
            for share in params.cell_shares:
                trial = _remesh_rounds(pv, pf, ps, crossing, params, diagonal, share)
                if trial is None:
                    continue
                # how far the new surface strays from the old one (a seam can leave a spike)
                stray = float(_distances(old_triangles, trial[0][np.unique(trial[1])]).max()) / diagonal
                score = (int(trial[3].sum()), stray)
                if best is None or score < best_score:
                    best, best_score = trial, score
                if score[0] == 0 and stray <= params.max_stray:
                    break
            if best is None:
                notes.append(f"self-intersections: part {part} is not a closed manifold; {first} crossing faces left")
            else:
                pv, pf, ps, crossing, boxes = best
                left = f"; {int(crossing.sum())} left" if crossing.any() else ""
                notes.append(f"self-intersections: part {part}: {first} crossing faces remeshed locally in {boxes} "
                             f"box(es) ({count} -> {len(pf)} faces, surface within {best_score[1]:.3%} of the "
                             f"diagonal from the old one){left}")
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
