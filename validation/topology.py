"""Topology facts measured on the position-merged mesh (UV seams do not split it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import trimesh

from validation import corners


@dataclass(frozen=True)
class Topology:
    boundary_edges: int  # edges used by one face (open edges)
    nonmanifold_edges: int  # edges used by more than two faces
    nonmanifold_vertices: int  # vertices whose faces form more than one fan
    inconsistent_edges: int  # edges walked in the same direction by both faces
    components: int  # face-connected parts
    degenerate_faces: int  # zero-area or repeated-index faces


def merged(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Geometry-only copy with vertices merged by position (exactly equal coordinates)."""
    unique, faces = corners.merge_positions(mesh)
    return trimesh.Trimesh(vertices=unique, faces=faces, process=False)


def _edge_table(faces: np.ndarray):
    """Directed half-edges, their undirected key index and use counts."""
    half = faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2).astype(np.int64)
    n = int(half.max()) + 1
    key = np.minimum(half[:, 0], half[:, 1]) * n + np.maximum(half[:, 0], half[:, 1])
    _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
    return half, inv.reshape(-1), counts


def components(faces: np.ndarray) -> np.ndarray:
    """Label of the edge-connected part of each face."""
    n = len(faces)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    _, inv, counts = _edge_table(faces)
    face_of = np.repeat(np.arange(n), 3)
    order = np.argsort(inv, kind="stable")
    inv_s, face_s = inv[order], face_of[order]
    same = inv_s[1:] == inv_s[:-1]
    graph = scipy.sparse.coo_matrix((np.ones(same.sum()), (face_s[:-1][same], face_s[1:][same])), shape=(n, n))
    return scipy.sparse.csgraph.connected_components(graph, directed=False)[1]


def _nonmanifold_vertices(faces: np.ndarray, n_vertices: int, inv: np.ndarray, counts: np.ndarray) -> int:
    """Vertices whose incident corners split into more than one fan across 2-face edges."""
    n = len(faces)
    corner = np.arange(3 * n).reshape(n, 3)
    half = faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    # corner ids of the two ends of each half-edge
    ends = np.stack([corner[:, [0, 1, 2]].reshape(-1), corner[:, [1, 2, 0]].reshape(-1)], axis=1)
    interior = counts[inv] == 2
    idx = np.nonzero(interior)[0]
    order = idx[np.argsort(inv[idx], kind="stable")]
    a, b = order[0::2], order[1::2]  # the two half-edges of each interior edge
    links_u, links_v = [], []
    for end in (0, 1):  # link each end's corner to the other face's corner on the same vertex
        same_vertex = half[b, 0] == half[a, end]
        links_u.append(ends[a, end])
        links_v.append(np.where(same_vertex, ends[b, 0], ends[b, 1]))
    u, v = np.concatenate(links_u), np.concatenate(links_v)
    graph = scipy.sparse.coo_matrix((np.ones(len(u)), (u, v)), shape=(3 * n, 3 * n))
    labels = scipy.sparse.csgraph.connected_components(graph, directed=False)[1]
    pairs = np.unique(faces.reshape(-1).astype(np.int64) * (3 * n) + labels)
    fans = np.bincount(pairs // (3 * n), minlength=n_vertices)
    return int((fans > 1).sum())


def measure(mesh: trimesh.Trimesh) -> Topology:
    """Topology of `mesh` after merging vertices by position."""
    m = merged(mesh)
    faces = np.asarray(m.faces, dtype=np.int64)
    degenerate = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2])
    area = m.area_faces
    scale = max(float(np.linalg.norm(m.extents)), 1e-12)
    degenerate |= area <= (1e-10 * scale) ** 2
    good = faces[~((faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2]))]
    if len(good) == 0:
        return Topology(0, 0, 0, 0, 0, int(degenerate.sum()))
    half, inv, counts = _edge_table(good)
    # a 2-face edge is consistent when its two half-edges run in opposite directions
    two = np.nonzero(counts[inv] == 2)[0]
    order = two[np.argsort(inv[two], kind="stable")]
    a, b = order[0::2], order[1::2]
    inconsistent = int((half[a, 0] == half[b, 0]).sum())
    return Topology(
        boundary_edges=int((counts == 1).sum()),
        nonmanifold_edges=int((counts > 2).sum()),
        nonmanifold_vertices=_nonmanifold_vertices(good, len(m.vertices), inv, counts),
        inconsistent_edges=inconsistent,
        components=int(components(good).max() + 1),
        degenerate_faces=int(degenerate.sum()),
    )


def boundary_loops(faces: np.ndarray) -> int:
    """Number of holes: connected loops of edges used by a single face."""
    half, inv, counts = _edge_table(np.asarray(faces, dtype=np.int64))
    edges = half[counts[inv] == 1]
    if len(edges) == 0:
        return 0
    nodes, local = np.unique(edges.reshape(-1), return_inverse=True)
    local = local.reshape(-1, 2)
    graph = scipy.sparse.coo_matrix((np.ones(len(local)), (local[:, 0], local[:, 1])), shape=(len(nodes),) * 2)
    return int(scipy.sparse.csgraph.connected_components(graph, directed=False)[0])


def open_edges(faces: np.ndarray) -> int:
    """Edges not shared by exactly two faces (0 for a closed 2-manifold surface); one sort."""
    faces = np.asarray(faces, dtype=np.int64)
    if len(faces) == 0:
        return 0
    a = faces.reshape(-1)
    b = faces[:, [1, 2, 0]].reshape(-1)
    n = int(a.max()) + 1
    key = np.sort(np.minimum(a, b) * n + np.maximum(a, b))
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    counts = np.diff(np.r_[starts, len(key)])
    return int((counts != 2).sum())
