"""Defect meshes that look like raw scans, for print-repair tests and benchmarks."""

from __future__ import annotations

import numpy as np
import trimesh


def folded_scan() -> trimesh.Trimesh:
    """Two overlapping closed shells (a 0.1 m ball and a 0.07 m one pushed into it) where the big one has a
    self-intersecting fold: a patch of its surface sheared sideways over its neighbours, as a scanner's
    misregistered sweep leaves. Hundreds of crossing faces; metres, +Y up."""
    ball = trimesh.creation.icosphere(subdivisions=5, radius=0.05)
    v = ball.vertices.copy()
    angle = np.arccos(np.clip(v[:, 1] / 0.05, -1, 1))  # from the top pole
    weight = np.exp(-((angle / 0.35) ** 2))
    v[:, 0] += 0.03 * weight  # the top cap slides along +x over the shoulder...
    v[:, 1] -= 0.012 * weight * np.sin(6 * angle)  # ...rippling through itself
    folded = trimesh.Trimesh(v, ball.faces, process=False)
    other = trimesh.creation.icosphere(subdivisions=3, radius=0.035)
    other.apply_translation([0.06, -0.01, 0.0])
    return trimesh.util.concatenate([folded, other])
