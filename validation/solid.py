"""Fuse closed, overlapping bodies into one solid with manifold3d (the watertight print pass)."""

from __future__ import annotations

import numpy as np

from validation import topology


def fuse(vertices: np.ndarray, faces: np.ndarray, source: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Boolean union of the closed parts; returns (vertices, faces, source face ids, note).

    Leaves the mesh unchanged (with a note saying why) when a part is not a closed manifold.
    """
    import manifold3d  # noqa: PLC0415

    labels = topology.components(faces)
    parts = []
    for part in range(int(labels.max()) + 1):
        f = faces[labels == part]
        used, local = np.unique(f, return_inverse=True)
        mesh = manifold3d.Mesh64(
            vert_properties=np.ascontiguousarray(vertices[used], dtype=np.float64),
            tri_verts=np.ascontiguousarray(local.reshape(-1, 3), dtype=np.uint64),
            face_id=np.ascontiguousarray(source[labels == part] + 1, dtype=np.uint64),
        )
        solid = manifold3d.Manifold(mesh)
        if solid.status() != manifold3d.Error.NoError:
            return vertices, faces, source, f"fuse bodies: skipped, part {part} is not a closed manifold ({solid.status().name})"
        parts.append(solid)
    if len(parts) < 2:
        return vertices, faces, source, ""
    union = manifold3d.Manifold.batch_boolean(parts, manifold3d.OpType.Add)
    out = union.to_mesh64()
    v = np.asarray(out.vert_properties, dtype=np.float64)[:, :3]
    f = np.asarray(out.tri_verts, dtype=np.int64)
    src = np.asarray(out.face_id, dtype=np.int64) - 1
    note = f"fuse bodies: {len(parts)} closed parts united into {len(union.decompose())} solid(s) ({len(faces)} -> {len(f)} faces)"
    return v, f, src, note
