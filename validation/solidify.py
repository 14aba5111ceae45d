"""Give a flat or zero-thickness sheet a wall thickness: offset it both ways along its normals and close the rim.

Like Blender's Solidify modifier (offset 0: centred on the sheet). Closed parts are left as they are.
"""

from __future__ import annotations

import numpy as np
import trimesh

from validation import topology


def solidify(vertices: np.ndarray, faces: np.ndarray, thickness: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(V, 3), (F, 3) merged by position -> (vertices, faces, source face per new face, open parts thickened).

    Each open part becomes a closed slab `thickness` thick: the sheet moved +t/2 and -t/2 along its area-weighted
    vertex normals (the second copy reversed), joined along every boundary edge by a wall of two triangles.
    """
    faces = np.asarray(faces, np.int64)
    labels = topology.components(faces)
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    edges = np.sort(mesh.edges, axis=1)
    _, inverse, counts = np.unique(edges, axis=0, return_inverse=True, return_counts=True)
    boundary = counts[inverse.reshape(-1)] == 1  # (3F,) directed edges a -> b of faces, on the rim
    open_part = np.zeros(int(labels.max()) + 1, bool)
    open_part[labels[np.asarray(mesh.edges_face)[boundary]]] = True
    if not open_part.any():
        return vertices, faces, np.arange(len(faces)), 0
    sheet = open_part[labels]
    n = len(vertices)
    normals = np.asarray(mesh.vertex_normals)
    top, bottom = vertices + normals * thickness / 2, vertices - normals * thickness / 2
    used = np.zeros(n, bool)
    used[faces[sheet].ravel()] = True
    top = np.where(used[:, None], top, vertices)
    rim = np.asarray(mesh.edges)[boundary]  # (E, 2) a -> b as the top faces run
    rim_face = np.asarray(mesh.edges_face)[boundary]
    a, b = rim[:, 0], rim[:, 1]
    walls = np.concatenate([np.stack([b, a, a + n], 1), np.stack([b, a + n, b + n], 1)])
    out_faces = np.concatenate([faces, faces[sheet][:, ::-1] + n, walls])
    source = np.concatenate([np.arange(len(faces)), np.nonzero(sheet)[0], rim_face, rim_face])
    return np.vstack([top, bottom]), out_faces, source, int(open_part.sum())
