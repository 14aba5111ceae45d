"""Shared steps of every mode: the working-resolution mask, joining parts, and the final placed mesh."""

from __future__ import annotations

import cv2
import numpy as np
import scipy.sparse as sp
from scipy import ndimage
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
import trimesh
from PIL import Image
from trimesh.visual import TextureVisuals
from trimesh.visual.material import PBRMaterial

from meshsmith.errors import MeshsmithError

from .cameras import focal_px
from .params import ReconstructParams, metres_per_pixel
from .segment import Segmented


def work_mask(mask: np.ndarray, max_side: int, max_area: float) -> tuple[np.ndarray, float]:
    """(H, W) bool -> ((h, w) float32 coverage in [0, 1], crop pixels per work pixel).

    The work size keeps the object area <= max_area pixels and the long side <= max_side.
    """
    h, w = mask.shape
    area = max(float(mask.sum()), 1.0)
    f = min(1.0, max_side / max(h, w), float(np.sqrt(max_area / area)))
    sw, sh = max(2, int(round(w * f))), max(2, int(round(h * f)))
    cov = cv2.resize(mask.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
    return cov, w / sw


def join_parts(mask: np.ndarray, width: int, connectivity: int = 4) -> np.ndarray:
    """(h, w) bool -> same with all parts (4- or 8-connected) linked into one by straight bars `width` px thick.

    The bars follow the minimum spanning tree of the parts' nearest-neighbour (Voronoi) graph: short and few.
    """
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=connectivity)
    if n <= 2:
        return mask.copy()
    _, (iy, ix) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    near = labels[iy, ix]                                  # the part nearest to each pixel
    dist = np.hypot(iy - np.arange(mask.shape[0])[:, None], ix - np.arange(mask.shape[1])[None, :])
    flat = np.arange(mask.size).reshape(mask.shape)
    pairs = []
    for a, b in ((flat[:, :-1], flat[:, 1:]), (flat[:-1, :], flat[1:, :])):
        a, b = a.ravel(), b.ravel()
        cut = near.ravel()[a] != near.ravel()[b]
        pairs.append(np.stack([a[cut], b[cut]], axis=1))
    p, q = np.concatenate(pairs).T
    la, lb = near.ravel()[p], near.ravel()[q]
    swap = la > lb
    p, q, la, lb = np.where(swap, q, p), np.where(swap, p, q), np.minimum(la, lb), np.maximum(la, lb)
    cost = dist.ravel()[p] + dist.ravel()[q] + 1.0
    order = np.lexsort((q, p, cost, lb, la))                # cheapest link per pair of parts, deterministic
    la, lb, p, q, cost = la[order], lb[order], p[order], q[order], cost[order]
    first = np.ones(la.size, bool)
    first[1:] = (la[1:] != la[:-1]) | (lb[1:] != lb[:-1])
    la, lb, p, q, cost = la[first], lb[first], p[first], q[first], cost[first]
    tree = minimum_spanning_tree(sp.csr_matrix((cost, (la, lb)), shape=(n, n))).tocoo()
    keep = {(int(r), int(c)) for r, c in zip(tree.row, tree.col)}
    out = mask.astype(np.uint8)
    ys, xs = iy.ravel(), ix.ravel()
    for i in range(la.size):
        if (int(la[i]), int(lb[i])) in keep:
            a = (int(xs[p[i]]), int(ys[p[i]]))
            b = (int(xs[q[i]]), int(ys[q[i]]))
            cv2.line(out, a, b, 1, thickness=max(1, width))
    return out.astype(bool)


def unproject(v: np.ndarray, seg: Segmented, fov_deg: float) -> np.ndarray:
    """Undo a pinhole camera: (N, 3) crop-pixel points (x right, y up, z to the viewer, z = 0 the
    object's mid-depth) -> the same points in a metric frame, units = pixels at the mid-depth.

    The camera looks at the picture's centre with vertical field of view fov_deg; the object's mid-depth
    plane is at distance f = (H / 2) / tan(fov / 2) pixels, so a point z nearer is seen (f / (f - z))x
    larger: it is moved back along its ray. Points at z = 0 (the outline) do not move.
    """
    if not fov_deg:
        return v
    hc = seg.mask.shape[0]
    width, height = seg.image_size or seg.mask.shape[::-1]
    f = focal_px(height, fov_deg)
    du = v[:, 0] + seg.origin[0] - width / 2.0
    dv = (height / 2.0) - (seg.origin[1] + hc - v[:, 1])
    k = np.clip((f - v[:, 2]) / f, 0.05, None)
    out = v.copy()
    out[:, 0] = du * k + width / 2.0 - seg.origin[0]
    out[:, 1] = dv * k - (height / 2.0) + seg.origin[1] + hc
    return out


def _fail(msg: str) -> MeshsmithError:
    return MeshsmithError(f"reconstruction produced an invalid mesh ({msg}); please report this image")


def check_closed(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Signed volume of one closed, 2-manifold, consistently wound body; raises otherwise."""
    n = len(vertices)
    if len(faces) < 4 or (faces[:, 0] == faces[:, 1]).any() or (faces[:, 1] == faces[:, 2]).any() \
            or (faces[:, 2] == faces[:, 0]).any():
        raise _fail("degenerate faces")
    a = faces.ravel()
    b = faces[:, [1, 2, 0]].ravel()
    directed = sp.csr_matrix((np.ones(a.size, np.int32), (a, b)), shape=(n, n))
    if directed.nnz != a.size:
        raise _fail("inconsistent winding or non-manifold edges")
    if (directed != directed.T).nnz:  # every edge a->b needs exactly one b->a
        raise _fail("not watertight or inconsistent winding")
    used = np.zeros(n, bool)
    used[a] = True
    _, labels = connected_components(directed, directed=False)
    bodies = np.unique(labels[used]).size
    if bodies != 1:
        raise _fail(f"{bodies} separate bodies")
    tri = vertices[faces]
    return float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0)


def finish(vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, texture: Image.Image,
           params: ReconstructParams, z_extent_m: float | None = None) -> trimesh.Trimesh:
    """Crop-pixel coordinates (x right, y up, z to the viewer) -> placed, scaled, textured volume.

    vertices (N, 3) float, faces (M, 3) int, uv (N, 2) in [0, 1]. Scales to the target height (or width),
    puts the pivot at the bottom centre, sets z extent to z_extent_m when given, and checks the result
    is one watertight, consistently wound, outward-facing volume.
    """
    v = np.asarray(vertices, np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    s = metres_per_pixel(params, hi[0] - lo[0], hi[1] - lo[1])
    v = (v - [(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2]) * s
    if z_extent_m is not None and hi[2] > lo[2]:
        v[:, 2] *= z_extent_m / ((hi[2] - lo[2]) * s)
    f = np.ascontiguousarray(faces, np.int64)
    volume = check_closed(v, f)
    if volume < 0:
        f = np.ascontiguousarray(f[:, ::-1])
    mesh = trimesh.Trimesh(vertices=v, faces=f, process=False, validate=False)
    material = PBRMaterial(baseColorTexture=texture, metallicFactor=0.0, roughnessFactor=0.9)
    mesh.visual = TextureVisuals(uv=np.asarray(uv, np.float64), material=material)
    return mesh
