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


def merge_positions(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    """(unique positions, faces into them): the mesh with UV seams closed."""
    v = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    rows = v.view(np.dtype((np.void, 24))).reshape(-1)
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return v[first], inverse.reshape(-1)[np.asarray(mesh.faces)]


def transfer(
    vertices: np.ndarray,
    faces: np.ndarray,
    source: np.ndarray,
    old_corners: np.ndarray,
    attrs: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Carry corner attributes to a new mesh whose face i came from old face source[i] (-1: new).

    Each corner interpolates its source face's corner values at its barycentric position (exact
    for unchanged corners, right for split faces); corners of new faces (hole fills) take a value
    already used at the same vertex.
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
