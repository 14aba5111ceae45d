"""Texture for multi-view meshes: an atlas of the views, each face taking the view that faces it best.

Atlas: one power-of-two tile per view (its crop, background filled), tiles in a 2x1, 2x2 or 4x2 grid.
Each face's view = argmax over views of (face normal . direction to that camera), averaged over its
neighbours (no speckle), among views whose silhouette holds it and in which no other part of the mesh
hides it (a z-buffer of the mesh's own points in that view; else the next best view). Seams are levelled: each view's tile gets
a smooth colour correction so that at every vertex it shows the normal-weighted blend of all views that
see it, so the two sides of a seam agree (lighting differences between photos fade across seams).
Vertices are split only where the view changes (UV seams); positions stay shared, so the solid is closed.
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.sparse as sp
import trimesh
from PIL import Image
from scipy import ndimage
from trimesh.visual import TextureVisuals
from trimesh.visual.material import PBRMaterial

from .cameras import sample
from .texture import planar_uv, pow2_at_most, smooth_texture

LEVEL_GRID = 48      # cells per tile side of the seam-levelling correction
LEVEL_BLUR = 1.5     # cells


def _layout(n: int) -> tuple[int, int]:
    """Tiles -> (cols, rows), both powers of two."""
    return (1, 1) if n == 1 else (2, 1) if n == 2 else (2, 2) if n <= 4 else (4, 2)


def _tile_side(views, cap: int, cols: int) -> int:
    big = max(max(v.seg.mask.shape) for v in views)
    want = 1 << max(4, int(np.ceil(np.log2(max(big, 16)))))
    return max(16, min(want, pow2_at_most(max(16, cap // cols))))


def _visible(cam, pts: np.ndarray, spacing: float) -> np.ndarray:
    """(N,) bool: the surface points (N, 3), about `spacing` apart, that no other point hides from `cam`.

    A z-buffer of the points themselves on blocks of 2 spacings: a point is seen when it lies within
    3 spacings of the nearest point of its block (the mesh's own depth in that view)."""
    u, v, k = cam.project(pts)
    if cam.focal:
        near = -((pts - cam.centre) @ cam.rot[2])       # minus the distance along the view axis
    else:
        near = -(pts @ cam.rot[2])                      # smaller = nearer the camera
    b = 2.0 * spacing * float(np.median(k))
    iu, iv = np.floor(u / b).astype(np.int64), np.floor(v / b).astype(np.int64)
    iu -= iu.min()
    iv -= iv.min()
    cell = iv * (int(iu.max()) + 1) + iu
    zbuf = np.full(int(cell.max()) + 1, np.inf)
    np.minimum.at(zbuf, cell, near)
    return near <= zbuf[cell] + 3.0 * spacing


def _face_views(world: np.ndarray, faces: np.ndarray, cams) -> np.ndarray:
    """(F,) index of the view that sees each face best: facing it, inside its silhouette and not hidden
    in it by another part of the mesh (else the next best)."""
    tri = world[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-20)
    cen = tri.mean(axis=1)
    spacing = float(np.median(np.linalg.norm(tri[:, 1] - tri[:, 0], axis=1)))
    score = np.empty((len(faces), len(cams)))
    for i, c in enumerate(cams):
        u, v, _ = c.project(cen)
        inside = sample(c.sdf, u.astype(np.float32), v.astype(np.float32), -1e4) > -2.0
        seen = _visible(c, cen, spacing)
        score[:, i] = np.einsum("ij,ij->i", normal, c.toward(cen)) - 3.0 * ~inside - 2.0 * ~seen
    # faces sharing a vertex: F x V incidence, F x F through it
    inc = sp.csr_matrix((np.ones(faces.size), (np.repeat(np.arange(len(faces)), 3), faces.ravel())),
                        shape=(len(faces), len(world)))
    adj = (inc @ inc.T).tocsr()
    deg = np.asarray(adj.sum(axis=1)).ravel()
    walk = sp.diags(1.0 / np.maximum(deg, 1)) @ adj
    for _ in range(2):
        score = walk @ score
    return np.argmax(score, axis=1)


def _uv(cam, view, pts: np.ndarray) -> np.ndarray:
    """World points -> (N, 2) UVs inside the view's own tile (0..1)."""
    u, v, _ = cam.project(pts)
    h, w = view.seg.mask.shape
    return planar_uv(np.column_stack([u, h - v]), w, h)


def _level(tiles: list[np.ndarray], world: np.ndarray, faces: np.ndarray, label: np.ndarray, cams, views) -> None:
    """Add to each tile a smooth correction toward the per-vertex blend of all views (in place)."""
    mesh = trimesh.Trimesh(world, faces, process=False)
    vn = mesh.vertex_normals
    n, t = len(cams), tiles[0].shape[0]
    colour = np.zeros((len(world), n, 3))
    weight = np.zeros((len(world), n))
    uvs = []
    spacing = float(np.median(np.linalg.norm(world[faces[:, 1]] - world[faces[:, 0]], axis=1)))
    for i, (c, v) in enumerate(zip(cams, views)):
        uv = _uv(c, v, world)
        uvs.append(uv)
        colour[:, i] = sample(tiles[i], (uv[:, 0] * t).astype(np.float32), ((1 - uv[:, 1]) * t).astype(np.float32), 0.0)
        u, vv, _ = c.project(world)
        inside = sample(c.sdf, u.astype(np.float32), vv.astype(np.float32), -1e4) > -1.0
        seen = _visible(c, world, spacing)
        weight[:, i] = np.clip(np.einsum("ij,ij->i", vn, c.toward(world)), 0, 1) ** 4 * inside * seen
    total = weight.sum(axis=1)
    blend = (colour * weight[..., None]).sum(axis=1) / np.maximum(total, 1e-9)[:, None]
    for i in range(n):
        used = np.zeros(len(world), bool)
        used[faces[label == i].ravel()] = True
        used &= total > 1e-6
        if not used.any():
            continue
        g = LEVEL_GRID
        cell = np.clip((uvs[i][used] * [g, g]).astype(int), 0, g - 1)
        row, col = g - 1 - cell[:, 1], cell[:, 0]
        acc = np.zeros((g, g, 3))
        cnt = np.zeros((g, g))
        np.add.at(acc, (row, col), blend[used] - colour[used, i])
        np.add.at(cnt, (row, col), 1.0)
        have = cnt > 0
        acc[have] /= cnt[have, None]
        _, (iy, ix) = ndimage.distance_transform_edt(~have, return_indices=True)
        acc = ndimage.gaussian_filter(acc[iy, ix], (LEVEL_BLUR, LEVEL_BLUR, 0))
        corr = cv2.resize(acc.astype(np.float32), (t, t), interpolation=cv2.INTER_LINEAR)
        tiles[i] = np.clip(tiles[i] + corr, 0, 255)


def texture_mesh(placed: np.ndarray, faces: np.ndarray, world: np.ndarray, views, cams, cap: int) -> trimesh.Trimesh:
    """Placed vertices (N, 3) + faces (M, 3) (closed, outward) and the same vertices in the cameras' world
    frame -> trimesh with one PBR material and a power-of-two atlas of the views."""
    cols, rows = _layout(len(views))
    t = _tile_side(views, cap, cols)
    tiles = []
    for v in views:
        img = smooth_texture(v.seg.rgba, v.seg.mask, t)
        tiles.append(np.asarray(img.resize((t, t), Image.BILINEAR), np.float32))
    label = _face_views(world, faces, cams)
    _level(tiles, world, faces, label, cams, views)
    atlas = np.zeros((rows * t, cols * t, 3), np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        atlas[r * t:(r + 1) * t, c * t:(c + 1) * t] = np.clip(tile + 0.5, 0, 255).astype(np.uint8)
    # split vertices per (vertex, view) used
    corner_v, corner_l = faces.ravel(), np.repeat(label, 3)
    key = corner_v * len(views) + corner_l
    uniq, inverse = np.unique(key, return_inverse=True)
    src, lab = uniq // len(views), uniq % len(views)
    uv = np.empty((len(uniq), 2))
    for i, (c, v) in enumerate(zip(cams, views)):
        sel = lab == i
        if sel.any():
            local = _uv(c, v, world[src[sel]])
            r, col = divmod(i, cols)
            uv[sel, 0] = (col + local[:, 0]) / cols
            uv[sel, 1] = (rows - 1 - r + local[:, 1]) / rows
    new_faces = inverse.reshape(-1, 3)
    mesh = trimesh.Trimesh(vertices=placed[src], faces=new_faces, process=False, validate=False)
    material = PBRMaterial(baseColorTexture=Image.fromarray(atlas, "RGB"), metallicFactor=0.0, roughnessFactor=0.9)
    mesh.visual = TextureVisuals(uv=uv, material=material)
    return mesh
