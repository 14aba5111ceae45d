"""inflate: a rounded closed solid from the silhouette (front and back), like a plush toy or a balloon.

Prior: every part of the silhouette is as deep as it is wide. The height field is the union of the
silhouette's medial balls (ball_field): a strip becomes a cylinder, a disc a sphere, and a leg or handle
beside a body keeps its own round section instead of being lifted by the body (the Poisson height the
mode used before gave discs 0.71 of their width and a depth that depended on the whole outline).
Depth is then scaled by DEPTH_SCALE = 1.4, one global constant, calibrated on the corpus meshes over
front-on and three-quarter (35 deg yaw) pictures, orthographic and perspective (benchmarks/shape.py): real
objects carry depth the silhouette cannot show (noses, feet, spread legs), and a three-quarter picture,
the usual product-photo angle, hides more of it (round sections give 0.64 of the true depth there, 0.91
front-on, at the earlier front-on calibration 1.2). At 1.4 the depth ratio is 1.06 front-on and 0.88 over
all views; leave-one-mesh-out picks 1.35-1.5 in every fold (benchmarks/README.md section 10e).
Cross-sections are round (POWER = 2). Fuller superellipses |z|^3 + r^3 = R^3 were measured better from the
side on the corpus (side IoU 0.617 vs 0.599, leave-one-mesh-out picks 3 in every fold) but their steep rims
bring the front and back surfaces so close that decimation pinches them apart (teapot: 3-6 bodies at
1,500-5,000 faces; chair, hamburger, poly_fox: 2), so round sections stay until the decimator can keep
topology (benchmarks/README.md section 10d).
The surface is the zero level of the smooth field H(x, y) - |z / scale|^p (H = R^p - r^p, linear across
the outline), so marching cubes leaves no depth-grid terraces on the rim. Near the outline H is replaced by
the full-resolution mask's signed distance times H's slope (snap_outline): the rim follows the picture's
outline to a fraction of an input pixel, not the working grid (thin tips and the blur's pull-in were
costing up to 3% of the input-view IoU).
The unseen back is a completion, not a mirror, unless asked (params.symmetric): it bulges BACK_RATIO as
much as the front, the total depth kept (front and back split 1 : BACK_RATIO). Real objects are rarely
front/back mirror images seen from the front, and a flatter back is the cheaper guess to correct; on the
corpus it costs 0.004 side IoU and 0.007 volume IoU against the mirror (benchmarks/README.md section 10).
Large planar faces (one shade over >= 15% of the object in a lit picture, or a flat-coloured box/sign
outline: reconstruct/planes.py) are slabs, not domes: their front is a plateau at the dome's mean height
over the face with a rounded edge at the outline, blended into the dome at their inner edges (fandisk's
front face; depth ratio 1.49 -> see benchmarks/README.md section 10c). Smoothly lit or textured parts keep
the dome unchanged.
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.sparse as sp
import trimesh
from scipy import ndimage
from skimage.measure import marching_cubes

from .assemble import finish, join_parts, unproject, work_mask
from .params import ReconstructParams
from .planes import flatten, planar_regions
from .segment import Segmented
from .texture import back_texture, planar_uv, smooth_texture, with_back

WORK_SIDE = 200          # long side of the working mask, pixels
WORK_AREA = 7000.0      # object area of the working mask, pixels (sets the face count, ~50-80k)
MIN_HALF_THICKNESS = 1.0  # working pixels: thin parts stay solid and connected
BACK_RATIO = 0.7         # the back's bulge / the front's unless params.symmetric (see the docstring)
RIM_BAND = 3.0           # working pixels inside the outline over which the field turns into snap_outline's
RIDGE = 0.75             # working pixels: see ball_field
SMOOTH_SIGMA = 1.5       # working pixels, blur of the ball field
POWER = 2.0              # cross-section exponent: 2 = round (3, fuller, measured better from the side but pinched
                         # apart under decimation: teapot 3-6 bodies at 1,500-5,000 faces; see benchmarks §10d)
DEPTH_SCALE = 1.4        # total depth / ball diameter: calibrated (see the module docstring)


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


def ball_field(inside: np.ndarray, power: float = 2.0, blur: bool = True) -> np.ndarray:
    """(h, w) bool -> (h, w) float H = R^p - r^p of the union of the silhouette's medial balls.

    For each medial-axis pixel c (radius R = its distance to the outline) and a pixel p at r = |p - c|,
    R^p - r^p; H takes the ball with the largest R^2 - r^2 at each pixel. The solid |z|^p <= H has, across
    every part, the superellipse profile |z|^p + r^p = R^p: round (p = 2) or fuller (p > 2); a strip
    becomes a cylinder, a disc a sphere, a leg stays a leg beside a body. H is negative outside and
    varies linearly across the outline, so its zero level needs no fix-ups and has no terraces.
    blur=False: without the final smoothing (inflate smooths after snap_outline instead).
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
    # the outline in by sigma^2 / R; snap_outline undoes that near the outline: blur=False leaves it to it)
    return ndimage.gaussian_filter(h2, SMOOTH_SIGMA, mode="nearest") if blur else h2


def outline_distance(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool full-resolution mask -> (h, w) float32 signed distance to its outline at the centres
    of the (h, w) working pixels, in working pixels, positive inside (sub-pixel: the mean over each
    working pixel's block of the full-resolution distance)."""
    m = mask.astype(np.uint8)
    d = cv2.distanceTransform(m, cv2.DIST_L2, cv2.DIST_MASK_PRECISE) \
        - cv2.distanceTransform(1 - m, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)   # exact, 5x scipy's speed
    d = np.where(d > 0, d - 0.5, d + 0.5).astype(np.float32)     # to the pixel edge, not its centre
    small = cv2.resize(d, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return small * np.float32(shape[1] / mask.shape[1])


def snap_outline(h2: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """(h, w) unblurred ball field, (h, w) signed outline distance -> smooth field whose zero level is sd's.

    Outside the outline and at it the field is S * sd (S: the ball field's slope along the outline,
    spread smoothly); RIM_BAND pixels inside it turns linearly into the blurred ball field (the blur sees
    S * sd outside, not the ball field's far floor, so it no longer pulls the outline in).
    """
    gy, gx = np.gradient(h2)
    band = ((sd > 0) & (sd < 2.5)).astype(np.float64)
    spread = ndimage.gaussian_filter(band, 3.0)
    slope = ndimage.gaussian_filter(np.hypot(gx, gy) * band, 3.0) / np.maximum(spread, 1e-6)
    fallback = float(np.hypot(gx, gy)[band > 0].mean()) if band.any() else 1.0
    lin = np.where(spread > 1e-3, slope, fallback) * sd
    smooth = ndimage.gaussian_filter(np.where(sd > 0, h2, lin), SMOOTH_SIGMA, mode="nearest")
    w = np.clip(sd / RIM_BAND, 0.0, 1.0)
    return w * smooth + (1.0 - w) * lin


def inflate(seg: Segmented, params: ReconstructParams) -> trimesh.Trimesh:
    """Segmented -> rounded watertight solid; texture = front projection, the back its colours continued
    without its features (texture.back_texture: no second face behind a figure).

    Height: the union of medial balls (ball_field) with its outline snapped to the picture's
    (snap_outline), planar faces made slabs (planes.flatten); total depth DEPTH_SCALE times the balls',
    split front : back = 1 : BACK_RATIO, or 1 : 1 when params.symmetric. The surface is the zero level of
    a smooth field h^2 - (z / scale)^2, so the rim has no depth-grid terraces; Taubin smoothing removes
    the pixel grid.
    """
    cov, _ = work_mask(seg.mask, WORK_SIDE, WORK_AREA)
    inside = join_parts(cov > 0.5, width=3)
    sd = outline_distance(seg.mask, inside.shape)
    h2 = snap_outline(ball_field(inside, POWER, blur=False), sd)
    h2 = flatten(h2, sd, planar_regions(seg.rgba, seg.mask, inside.shape), POWER)
    h2 = np.where(inside, np.maximum(h2, MIN_HALF_THICKNESS ** POWER), np.minimum(h2, -0.25))
    top = float(h2.max() ** (1.0 / POWER))
    ratio = 1.0 if params.symmetric else BACK_RATIO
    front = DEPTH_SCALE * top * 2.0 / (1.0 + ratio)
    back = ratio * front
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
    back_faces = z[faces].mean(axis=1) < 0.0          # behind the rim plane: the unseen back
    v = unproject(v, seg, params.fov_deg)
    tex = smooth_texture(seg.rgba, seg.mask, params.texture_size)
    mesh = finish(v, faces, uv, tex, params, z_extent_m=params.depth_m)
    return with_back(mesh, back_faces, back_texture(tex, seg.mask, params.seed), params.texture_size)
