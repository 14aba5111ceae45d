"""Per-corner (wedge) attributes: UVs and vertex colours that survive topology edits.

Topology tools work on the position-merged mesh; attributes ride along per face corner and the
mesh is split again at UV seams (or colour edges) when it goes back to trimesh.
"""

from __future__ import annotations

import numpy as np
import trimesh


def corner_attributes(mesh: trimesh.Trimesh) -> dict[str, np.ndarray]:
    """{'uv': (F,3,2), 'color': (F,3,4)} for the attributes the mesh carries per vertex."""
    out: dict[str, np.ndarray] = {}
    visual = mesh.visual
    uv = getattr(visual, "uv", None)
    if isinstance(visual, trimesh.visual.TextureVisuals) and uv is not None and len(uv) == len(mesh.vertices):
        out["uv"] = np.asarray(uv, dtype=np.float64)[mesh.faces]
    elif isinstance(visual, trimesh.visual.ColorVisuals) and visual.kind == "vertex":
        out["color"] = np.asarray(visual.vertex_colors, dtype=np.float64)[mesh.faces]
    return out


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: every input bit reaches every output bit (coordinates' low bits are often 0)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _row_keys(bits: np.ndarray) -> np.ndarray:
    """(N,) uint64 hash of (N, K) uint64 rows."""
    key = _mix(bits[:, 0])
    for col in range(1, bits.shape[1]):
        key = _mix(key ^ bits[:, col])
    return key


def weld(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, inverse) for (N, K) rows of 8-byte numbers (float64 positions, int64 keys): bitwise-equal rows
    merged, kept in order of first occurrence (`v[first]` are the unique rows; `v[first][inverse] == v`); rows
    already unique come back as they are.

    One sort of a 64-bit hash of each row instead of a sort of 24-byte rows (2-3x faster on 1M vertices); a hash
    collision between different rows (odds ~n^2 / 2^64) falls back to the exact row sort."""
    n = len(v)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    arr = np.ascontiguousarray(v)
    if arr.dtype.itemsize != 8:
        arr = arr.astype(np.float64)
    bits = arr.view(np.uint64).reshape(n, -1)
    key = _row_keys(bits)
    order = np.argsort(key, kind="stable")
    same_key = key[order][1:] == key[order][:-1]
    if not same_key.any():
        return np.arange(n), np.arange(n)
    same_row = (bits[order][1:] == bits[order][:-1]).all(axis=1)
    if (same_key & ~same_row).any():  # a collision: exact row sort, then first-occurrence order
        rows = np.ascontiguousarray(bits).view(np.dtype((np.void, 8 * bits.shape[1]))).reshape(-1)
        _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        return np.sort(first), rank[inverse.reshape(-1)]
    new = np.r_[True, ~same_key]
    group = np.cumsum(new) - 1  # per sorted row
    first = order[new]  # stable sort: the first row of each group is its earliest occurrence
    rank = np.empty(len(first), dtype=np.int64)
    by_first = np.argsort(first, kind="stable")
    rank[by_first] = np.arange(len(first))
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = rank[group]
    return first[by_first], inverse


def merge_positions(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    """(unique positions, faces into them): the mesh with UV seams closed; unique positions in first-use order."""
    v = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    first, inverse = weld(v)
    return v[first], inverse[np.asarray(mesh.faces)]


def transfer(
    vertices: np.ndarray,
    faces: np.ndarray,
    source: np.ndarray,
    old_corners: np.ndarray,
    attrs: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Carry corner attributes to a new mesh whose face i came from old face source[i] (-1: new).

    Each corner interpolates its source face's corner values at its barycentric position (right for split
    faces); a corner at one of its source face's corners takes that corner's value bit for bit (barycentric
    coordinates of a thin triangle are off by ~1e-6, which would split the vertex into a fake seam that
    decimation keeps locked); corners of new faces (hole fills) take a value already used at the same vertex.
    """
    if not attrs:
        return {}
    faces = np.asarray(faces, dtype=np.int64)
    known = source >= 0
    src = np.where(known, source, 0)
    pos = vertices[faces].reshape(-1, 3)
    tri = np.repeat(old_corners[src], 3, axis=0)
    bary = trimesh.triangles.points_to_barycentric(tri, pos)
    bary = np.nan_to_num(bary, nan=1.0 / 3.0).clip(0.0, 1.0)
    bary /= np.maximum(bary.sum(axis=1, keepdims=True), 1e-12)
    bary = bary.reshape(len(faces), 3, 3)  # (F, corner, weight of source corner)
    same = (pos.reshape(-1, 3, 1, 3) == old_corners[src][:, None, :, :]).all(axis=3)  # (F, corner, source corner)
    first = same & (np.cumsum(same, axis=2) == 1)
    bary = np.where(same.any(axis=2, keepdims=True), first.astype(np.float64), bary)
    out = {}
    for name, values in attrs.items():
        val = np.einsum("fcw,fwk->fck", bary, values[src])
        if (~known).any():
            k = values.shape[2]
            per_vertex = np.zeros((len(vertices), k))
            kf = np.nonzero(known)[0]
            per_vertex[faces[kf].reshape(-1)] = val[kf].reshape(-1, k)
            val[~known] = per_vertex[faces[~known]]
        out[name] = val
    return out


def rebuild(vertices: np.ndarray, faces: np.ndarray, attrs: dict[str, np.ndarray], like: trimesh.Trimesh) -> trimesh.Trimesh:
    """Trimesh with vertices split where corner attributes differ; keeps `like`'s material."""
    faces = np.asarray(faces, dtype=np.int64)
    if not attrs:
        return trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    flat = [faces.reshape(-1, 1).astype(np.float64)] + [a.reshape(len(faces) * 3, -1) for a in attrs.values()]
    key = np.ascontiguousarray(np.hstack(flat))
    rows = key.view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    corner_vertex = faces.reshape(-1)[first]
    new_faces = inverse.reshape(-1, 3)
    if "uv" in attrs:
        uv = attrs["uv"].reshape(-1, 2)[first]
        visual = trimesh.visual.TextureVisuals(uv=uv, material=like.visual.material)
    else:
        visual = trimesh.visual.ColorVisuals(vertex_colors=attrs["color"].reshape(-1, 4)[first].astype(np.uint8))
    return trimesh.Trimesh(vertices=vertices[corner_vertex], faces=new_faces, visual=visual, process=False)
