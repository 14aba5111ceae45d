"""A perfect depth sensor: ray-cast a mesh from the front -> aligned RGBA picture + z-depth map.

For benchmarks and known-answer tests of RGB-D input (not used by the service). Orthographic: the mesh's
x/y bounding box fills the picture minus `margin`, centred (like render.Camera fit "view"). Perspective
(fov_deg): a pinhole on +Z at the distance where the bounding sphere just fits the vertical field of view,
looking at the bounding-box centre; the principal point is the picture centre.
"""

from __future__ import annotations

import math

import numpy as np
import trimesh


def rgbd(mesh: trimesh.Trimesh, size: int = 256, fov_deg: float | None = None, margin: float = 0.05,
         colour: tuple[int, int, int] = (200, 120, 60)) -> tuple[np.ndarray, np.ndarray]:
    """-> ((S, S, 4) uint8 RGBA, alpha 0 off the object; (S, S) float64 z-depth in mesh units, NaN off it)."""
    lo, hi = mesh.bounds
    centre = (lo + hi) / 2
    j, i = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)  # j: column, i: row (pixel centres)
    if fov_deg is None:
        span = float((hi - lo)[:2].max()) / (1 - 2 * margin)
        x = centre[0] + (j - size / 2) * span / size
        y = centre[1] - (i - size / 2) * span / size
        z0 = hi[2] + 1.0
        origins = np.stack([x, y, np.full_like(x, z0)], -1).reshape(-1, 3)
        dirs = np.tile([0.0, 0.0, -1.0], (size * size, 1))
        cam_z = z0
    else:
        radius = float(np.linalg.norm(mesh.vertices - centre, axis=1).max())
        half = math.radians(fov_deg) / 2
        cam = centre + [0, 0, radius / math.sin(half) / (1 - 2 * margin)]
        f = (size / 2) / math.tan(half)
        dirs = np.stack([(j - size / 2) / f, -(i - size / 2) / f, -np.ones_like(j)], -1).reshape(-1, 3)
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        origins = np.tile(cam, (size * size, 1))
        cam_z = cam[2]
    hits, rays, tris = mesh.ray.intersects_location(origins, dirs, multiple_hits=False)
    depth = np.full(size * size, np.nan)
    depth[rays] = cam_z - hits[:, 2]
    normal = mesh.face_normals[tris]
    light = np.clip(normal @ np.array([-0.3, 0.4, 0.87]), 0, 1) * 0.7 + 0.3
    rgba = np.zeros((size * size, 4), np.uint8)
    rgba[rays, :3] = np.clip(np.asarray(colour)[None, :] * light[:, None], 0, 255).astype(np.uint8)
    rgba[rays, 3] = 255
    return rgba.reshape(size, size, 4), depth.reshape(size, size)
