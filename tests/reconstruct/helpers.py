"""Synthetic pictures with known answers, and the checks every reconstructed mesh must pass."""

from __future__ import annotations

import io

import numpy as np
import trimesh
from PIL import Image

from validation.gltf_validator import validate_glb


def png(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG")
    return buf.getvalue()


def shaded_profile(radius_of_row, height: int, size: tuple[int, int] = (400, 600), top: int = 50) -> np.ndarray:
    """(H, W, 4) RGB-on-white picture of a lit solid of revolution, axis at the image centre.

    radius_of_row(i) gives the radius in pixels of object row i (0 = top), `height` rows tall.
    Shading darkens towards the silhouette like a lit cylinder; the background is plain white.
    """
    w, h = size
    img = np.full((h, w, 4), 255, np.uint8)
    cx = w / 2.0
    xs = np.arange(w) + 0.5
    for i in range(height):
        r = radius_of_row(i)
        t = (xs - cx) / max(r, 1e-9)
        inside = np.abs(t) <= 1.0
        light = np.sqrt(np.clip(1 - t * t, 0, 1))
        img[top + i, inside, 0] = (90 + 150 * light[inside]).astype(np.uint8)
        img[top + i, inside, 1] = (20 + 60 * light[inside]).astype(np.uint8)
        img[top + i, inside, 2] = (20 + 40 * light[inside]).astype(np.uint8)
    return img


def cutout(mask: np.ndarray, colour=(200, 60, 40)) -> np.ndarray:
    """(H, W) bool -> (H, W, 4) uint8 RGBA, opaque colour where mask, transparent elsewhere."""
    img = np.zeros(mask.shape + (4,), np.uint8)
    img[mask] = (*colour, 255)
    return img


def euler(mesh: trimesh.Trimesh) -> int:
    m = mesh.copy()
    m.merge_vertices(merge_tex=True, merge_norm=True)
    return int(m.euler_number)


def assert_clean(mesh: trimesh.Trimesh, texture_cap: int = 1024) -> None:
    """The reconstruct contract: one closed, outward, textured volume, placed at the bottom centre (closed once
    UV-seam copies share positions: inflate's back and multiview's atlases split vertices at seams)."""
    solid = mesh.copy()
    solid.merge_vertices(merge_tex=True, merge_norm=True)
    assert solid.is_watertight and solid.is_winding_consistent and solid.is_volume, "not a clean volume"
    assert solid.volume > 0
    assert solid.body_count == 1
    lo, hi = mesh.bounds
    assert abs(lo[1]) < 1e-9, "pivot: min y must be 0"
    assert abs(lo[0] + hi[0]) < 1e-6 and abs(lo[2] + hi[2]) < 1e-6, "pivot: x and z must be centred"
    assert isinstance(mesh.visual, trimesh.visual.TextureVisuals)
    uv = mesh.visual.uv
    assert uv.shape == (len(mesh.vertices), 2) and np.isfinite(uv).all()
    assert uv.min() > 0.0 and uv.max() < 1.0, "UVs must keep clear of the (REPEAT-wrapped) texture edges"
    tex = mesh.visual.material.baseColorTexture
    for side in tex.size:
        assert side & (side - 1) == 0 and side <= texture_cap, f"texture {tex.size} not a power of two <= cap"
    assert mesh.visual.material.metallicFactor == 0.0


def assert_valid_glb(mesh: trimesh.Trimesh, seams: bool = False) -> bytes:
    """Export to GLB, run Khronos glTF-Validator (0 errors), and check it reloads as a volume; seams: once
    UV/normal-seam copies share positions, as one closed volume."""
    glb = mesh.export(file_type="glb")
    report = validate_glb(glb)
    assert report is not None, "node / gltf-validator missing (npm ci at the repo root)"
    assert report.errors == 0, [m for m in report.messages if m.severity == 0]
    back = trimesh.load(io.BytesIO(glb), file_type="glb", force="mesh")
    if seams:
        back.merge_vertices(merge_tex=True, merge_norm=True)
        assert back.is_volume and back.body_count == 1, "the GLB does not reload as one closed volume"
    else:  # UV seams (inflate's back tile) are closed by position too
        back.merge_vertices(merge_tex=True, merge_norm=True)
        assert back.is_volume, "the GLB does not reload as a closed volume"
    return glb
