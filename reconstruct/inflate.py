"""inflate: a rounded closed solid from the silhouette (front and back), like a plush toy or a balloon."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import trimesh
from scipy import ndimage
from scipy.sparse.linalg import spsolve
from skimage.measure import marching_cubes

from .assemble import finish, join_parts, work_mask
from .params import ReconstructParams
from .segment import Segmented
from .texture import planar_uv, smooth_texture

WORK_SIDE = 200          # long side of the working mask, pixels
WORK_AREA = 7000.0      # object area of the working mask, pixels (sets the face count, ~50-80k)
MIN_HALF_THICKNESS = 1.0  # working pixels: thin parts stay solid and connected
BACK_RATIO = 0.5         # symmetry=False: the back is this much flatter than the front


def poisson_height(inside: np.ndarray) -> np.ndarray:
    """(h, w) bool -> (h, w) float height: sqrt(2u), -lap(u) = 1 inside, u = 0 outside.

    A strip of half-width a gets a circular cross-section of radius a; a disc a flattened sphere.
    """
    ys, xs = np.nonzero(inside)
    n = ys.size
    index = -np.ones(inside.shape, np.int64)
    index[ys, xs] = np.arange(n)
    rows, cols = [np.arange(n)], [np.arange(n)]
    vals = [np.full(n, 4.0)]
    padded = np.pad(index, 1, constant_values=-1)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        nb = padded[ys + 1 + dy, xs + 1 + dx]
        ok = nb >= 0
        rows.append(np.arange(n)[ok])
        cols.append(nb[ok])
        vals.append(np.full(int(ok.sum()), -1.0))
    lap = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    u = spsolve(lap, np.ones(n))
    height = np.zeros(inside.shape, np.float64)
    height[ys, xs] = np.sqrt(2.0 * np.maximum(u, 0.0))
    return height


def taubin(vertices: np.ndarray, faces: np.ndarray, iterations: int = 6,
           lam: float = 0.5, mu: float = -0.53) -> np.ndarray:
    """Volume-preserving-ish smoothing of (N, 3) vertices over the (M, 3) face graph; topology unchanged."""
    n = len(vertices)
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    adj = sp.csr_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    adj = ((adj + adj.T) > 0).astype(np.float64)
    deg = np.asarray(adj.sum(axis=1)).ravel()
    walk = sp.diags(1.0 / np.maximum(deg, 1)) @ adj
    v = vertices.copy()
    for _ in range(iterations):
        v = v + lam * (walk @ v - v)
        v = v + mu * (walk @ v - v)
    return v


def inflate(seg: Segmented, params: ReconstructParams) -> trimesh.Trimesh:
    """Segmented -> rounded watertight solid; texture = front projection, the back sees it mirrored."""
    cov, k = work_mask(seg.mask, WORK_SIDE, WORK_AREA)
    inside = join_parts(cov > 0.5, width=3)
    height = np.where(inside, np.maximum(poisson_height(inside), MIN_HALF_THICKNESS), 0.0)
    outside, (iy, ix) = ndimage.distance_transform_edt(~inside, return_indices=True)
    g = np.where(inside, height, -outside)
    # first ring outside: minus its nearest inside height, so the zero level sits on the pixel edge
    # (with -1 there it sat ~0.34 working px beyond the mask: the silhouette grew ~1 input px all round)
    ring = (outside > 0) & (outside < 1.5)
    g[ring] = -height[iy[ring], ix[ring]]
    front = float(height.max())
    back = front if params.symmetry else BACK_RATIO * front
    pad = 2
    g = np.pad(g, pad, constant_values=-pad - 1.0)
    zs = np.arange(-np.ceil(back) - pad, np.ceil(front) + pad + 1, 1.0)
    scale = np.where(zs >= 0, 1.0, front / back)  # stretch |z| on the back so it is `back` deep
    field = g[:, :, None] - np.abs(zs)[None, None, :] * scale[None, None, :]
    field[field == 0.0] = 1e-6  # no vertex exactly on a grid point: no degenerate triangles
    verts, faces, _, _ = marching_cubes(field.astype(np.float32), 0.0, allow_degenerate=False)
    verts = verts.astype(np.float64)
    verts = taubin(verts, faces)
    hc, wc = seg.mask.shape
    ky, kx = hc / inside.shape[0], wc / inside.shape[1]
    x = (verts[:, 1] - pad + 0.5) * kx
    y = hc - (verts[:, 0] - pad + 0.5) * ky
    z = (verts[:, 2] + zs[0]) * kx
    v = np.column_stack([x, y, z])
    uv = planar_uv(v[:, :2], wc, hc)
    tex = smooth_texture(seg.rgba, seg.mask, params.texture_size)
    z_extent = params.depth_m
    return finish(v, faces, uv, tex, params, z_extent_m=z_extent)
