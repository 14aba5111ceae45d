"""inflate: a rounded closed solid from the silhouette (front and back), like a plush toy or a balloon.

Prior: every part of the silhouette is as deep as it is wide. The height field is the union of the
silhouette's medial balls (ball_field): a strip becomes a cylinder, a disc a sphere, and a leg or handle
beside a body keeps its own round section instead of being lifted by the body (the Poisson height the
mode used before gave discs 0.71 of their width and a depth that depended on the whole outline).
Depth is then scaled by DEPTH_SCALE = 1.2, one global constant: on the ten corpus meshes, rendered
front-on, round sections gave 0.80 of the true depth on average (real objects carry depth the
silhouette cannot show: noses, feet, spread legs), 1.2 brings the mean to about 1 (benchmarks/shape.py).
The surface is the zero level of the smooth field H(x, y) - (z / scale)^2 (H = R^2 - r^2, linear across
the outline), so marching cubes leaves no depth-grid terraces on the rim.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import trimesh
from scipy import ndimage
from skimage.measure import marching_cubes

from .assemble import finish, join_parts, unproject, work_mask
from .params import ReconstructParams
from .segment import Segmented
from .texture import planar_uv, smooth_texture

WORK_SIDE = 200          # long side of the working mask, pixels
WORK_AREA = 7000.0      # object area of the working mask, pixels (sets the face count, ~50-80k)
MIN_HALF_THICKNESS = 1.0  # working pixels: thin parts stay solid and connected
BACK_RATIO = 0.5         # symmetry=False: the back is this much flatter than the front
RIDGE = 0.75             # working pixels: see ball_field
SMOOTH_SIGMA = 1.5       # working pixels, blur of the ball field
POWER = 2.0              # cross-section superellipse exponent (2 = round)
DEPTH_SCALE = 1.2        # front depth / ball radius: calibrated (see the module docstring)


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


def ball_field(inside: np.ndarray, power: float = 2.0) -> np.ndarray:
    """(h, w) bool -> (h, w) float H = R^p - r^p of the union of the silhouette's medial balls.

    For each medial-axis pixel c (radius R = its distance to the outline) and a pixel p at r = |p - c|,
    R^p - r^p; H takes the ball with the largest R^2 - r^2 at each pixel. The solid |z|^p <= H has, across
    every part, the superellipse profile |z|^p + r^p = R^p: round (p = 2) or fuller (p > 2); a strip
    becomes a cylinder, a disc a sphere, a leg stays a leg beside a body. H is negative outside and
    varies linearly across the outline, so its zero level needs no fix-ups and has no terraces.
    """
    dist = np.where(inside, ndimage.distance_transform_edt(inside) - 0.5, 0.0)  # to the pixel edge
    # ridge pixels (no neighbour more than RIDGE deeper): the medial axis and a little more; balls
    # that lie inside bigger ones are skipped below, so extra centres cost little and change nothing
    skel = inside & (ndimage.maximum_filter(dist, size=3) - dist < RIDGE)
    ys, xs = np.nonzero(skel)
    r = np.maximum(dist[ys, xs], 0.5)
    order = np.lexsort((xs, ys, r))[::-1]          # big balls first: small ones inside them are skipped
    h, w = inside.shape
    reach = float(r.max()) + 3.0
    h2 = np.full((h, w), -reach * reach)
    big = np.full((h, w), reach)
    gy, gx = np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64)
    for i in order:
        cy, cx, rc = ys[i], xs[i], r[i]
        if h2[cy, cx] >= rc * rc - 1e-9:           # inside a bigger ball already: adds nothing
            continue
        e = int(np.ceil(rc + 3))
        y0, y1, x0, x1 = max(0, cy - e), min(h, cy + e + 1), max(0, cx - e), min(w, cx + e + 1)
        val = rc * rc - (gy[y0:y1, None] - cy) ** 2 - (gx[None, x0:x1] - cx) ** 2
        win = val > h2[y0:y1, x0:x1]
        h2[y0:y1, x0:x1][win] = val[win]
        big[y0:y1, x0:x1][win] = rc
    if power != 2.0:
        rr = np.sqrt(np.maximum(big * big - h2, 0.0))   # distance from the winning ball's centre
        h2 = big ** power - rr ** power
    # the ridge of a pixel mask zigzags: neighbouring balls sit half a pixel apart, which leaves
    # creases and ripples; a small blur removes them (on a ball R^2 - r^2 it subtracts 2 sigma^2, pulling
    # the outline in by sigma^2 / R: a small fraction of a pixel except on the thinnest parts; adding it
    # back dilated the outlines and lowered the input-view IoU on the corpus)
    return ndimage.gaussian_filter(h2, SMOOTH_SIGMA, mode="nearest")


def inflate(seg: Segmented, params: ReconstructParams) -> trimesh.Trimesh:
    """Segmented -> rounded watertight solid; texture = front projection, the back sees it mirrored.

    Height: the union of medial balls (ball_height2) times DEPTH_SCALE; the back mirrors the front
    (symmetry) or is BACK_RATIO as deep. The surface is the zero level of a smooth field
    h^2 - (z / scale)^2, so the rim has no depth-grid terraces; Taubin smoothing removes the pixel grid.
    """
    cov, k = work_mask(seg.mask, WORK_SIDE, WORK_AREA)
    inside = join_parts(cov > 0.5, width=3)
    h2 = ball_field(inside, POWER)
    h2 = np.where(inside, np.maximum(h2, MIN_HALF_THICKNESS ** POWER), np.minimum(h2, -0.25))
    top = float(h2.max() ** (1.0 / POWER))
    front = DEPTH_SCALE * top
    back = front if params.symmetry else BACK_RATIO * front
    pad = 2
    g = np.pad(h2, pad, constant_values=float(h2.min()))
    zs = np.arange(-np.ceil(back) - pad, np.ceil(front) + pad + 1, 1.0)
    scale = np.where(zs >= 0, top / front, top / back)   # |z| in units of the ball radius
    field = g[:, :, None] - np.abs(zs * scale)[None, None, :] ** POWER
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
    v = unproject(v, seg, params.fov_deg)
    tex = smooth_texture(seg.rgba, seg.mask, params.texture_size)
    return finish(v, faces, uv, tex, params, z_extent_m=params.depth_m)
