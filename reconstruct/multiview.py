"""Multi-view input: 2-6 labelled pictures of one object -> visual hull -> smooth textured solid.

Each view's silhouette becomes a 2D signed distance (pixels); a voxel's field is the smallest of the
views' distances at its projections, in world units: the intersection of the silhouette cones (the visual
hull) as a continuous field, so marching cubes puts the surface between voxels without terraces, cone
faces come out flat and their meeting edges stay sharp. Views are brought to one scale by the extent they
share (the height in every side view; top/bottom views by the hull's width). Orthographic by default;
with `fov_deg` each view is a pinhole camera whose distance follows from the object's angular height.
The texture is an atlas of the views; each face takes the view that faces it best (see multitex). The solid
is simplified to FACE_BUDGET faces before its UVs are projected (simplify_solid: a later decimation would drag
the pictures into streaks). Views that leave one axis unmeasured (front + back) take the single-view depth
prior (_prior_body) instead of the hull, which would be the outline extruded through the grid.
Consistency: pinhole views get perspective_slack on top of MAX_EXTENT_MISMATCH; views sharing no side must
show one outline, mirrored (check_opposite).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as dc_field

import numpy as np
import scipy.sparse as sp
import trimesh
from scipy import ndimage
from scipy.sparse.csgraph import connected_components
from skimage.measure import marching_cubes
from trimesh.smoothing import filter_taubin

from meshsmith.errors import InvalidInput, MeshsmithError

from .assemble import check_closed
from .cameras import focal_px, parse_label, rotation, sample, signed_distance
from .hullprior import round_sections
from .modes import reconstruct
from .multitex import texture_mesh
from .params import Reconstruction, ReconstructParams, check_params
from .segment import Segmented

MAX_VIEWS = 6
GRID = 144              # voxels along the hull's longest side
COARSE = 56             # first pass, over the loose bounds
REFINE_GRID = 96        # perspective: the hulls that re-pose the cameras
SMOOTH_SIGMA = 0.6      # voxels: Gaussian on the field before marching cubes (anti-aliasing, no rounding)
PAIR_GRID = 64          # voxels for the pairwise hulls that find which views disagree
TAUBIN = (0.5, 0.53, 50)  # rounded hulls: lambda, mu, iterations (pass band ~0.11: only ripples go)
MIN_KEPT = 0.6          # a view keeping less than this share of its silhouette after carving disagrees
MAX_EXTENT_MISMATCH = 0.10  # shared extents (after scaling) may differ by at most this share
FACE_BUDGET = 20000     # the hull is simplified to this before texturing (the server's default decimation target)


@dataclass(frozen=True)
class View:
    """One labelled picture: the segmented crop and where it sits in its full picture (for perspective)."""

    label: str
    seg: Segmented
    offset: tuple[int, int] = (0, 0)            # (row, col) of the crop's top-left in the picture
    picture: tuple[int, int] | None = None      # (H, W) of the full picture; None = the crop itself


@dataclass
class _Cam:
    """Projection of world points into one view's crop: u right, v down, in crop pixels."""

    label: str
    rot: np.ndarray          # (3, 3) world -> view
    sdf: np.ndarray          # (h, w) float32 px, > 0 inside the silhouette
    mask: np.ndarray         # (h, w) bool
    box: tuple[float, float, float, float]  # silhouette extents in edge coordinates: u0, u1, v0, v1
    side: bool               # pitch 0: sees the height
    scale: float = 1.0       # orthographic: px per world unit
    u0: float = 0.0
    v0: float = 0.0
    focal: float = 0.0       # perspective: px; 0 = orthographic
    centre: np.ndarray | None = None  # perspective: camera position in world
    pp: tuple[float, float] = (0.0, 0.0)  # principal point in crop pixels
    rim: np.ndarray | None = None  # perspective: (h', w') depth of the hull's front per RIM_BIN px block
    rim_bin: float = 1.0
    cache: dict = dc_field(default_factory=dict)  # per-picture maps (hullprior's runs)

    def project(self, pts: np.ndarray, carve: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(..., 3) world -> (u, v, px per world unit at that point), each (...).

        carve (perspective, once `rim` is known): a point behind the depth at which the object makes the
        silhouette where it projects is seen as if at that depth: the cone becomes a cylinder behind the
        rim (see _rims), so the hull does not widen behind the object (a box's back is no wider than its
        front)."""
        if self.focal:
            q = (pts - self.centre) @ self.rot.T
            d = np.maximum(-q[..., 2], 1e-6)
            if carve and self.rim is not None:
                u = (self.pp[0] + q[..., 0] * self.focal / d) / self.rim_bin
                v = (self.pp[1] - q[..., 1] * self.focal / d) / self.rim_bin
                d = np.minimum(d, sample(self.rim, u.astype(np.float32), v.astype(np.float32), 1e9))
            k = self.focal / d
            return self.pp[0] + q[..., 0] * k, self.pp[1] - q[..., 1] * k, k
        qx, qy = _dot(pts, self.rot[0]), _dot(pts, self.rot[1])
        return self.u0 + self.scale * qx, self.v0 - self.scale * qy, np.full(qx.shape, self.scale)

    def toward(self, pts: np.ndarray) -> np.ndarray:
        """(N, 3) unit vectors from the points toward the camera."""
        if self.focal:
            d = self.centre - pts
            return d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
        return np.broadcast_to(self.rot[2], pts.shape)


def _dot(pts: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """(..., 3) . (3,) -> (...), skipping zero terms (a view on a world axis costs one multiply)."""
    out = None
    for k in range(3):
        if axis[k] != 0.0:
            term = pts[..., k] * axis[k]
            out = term if out is None else out + term
    return np.zeros(pts.shape[:-1], pts.dtype) if out is None else out


def _box(mask: np.ndarray) -> tuple[float, float, float, float]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return float(cols[0]), float(cols[-1] + 1), float(rows[0]), float(rows[-1] + 1)


def _cameras(views: list[View], fov_deg: float) -> list[_Cam]:
    cams = []
    for v in views:
        yaw, pitch = parse_label(v.label)
        mask = np.ascontiguousarray(v.seg.mask, bool)
        cams.append(_Cam(v.label, rotation(yaw, pitch), signed_distance(mask), mask, _box(mask), pitch == 0.0))
    if not any(c.side for c in cams):
        raise InvalidInput("multi-view input needs at least one side view (front, back, left, right or a yaw) "
                           "to give the object's height")
    for c, v in zip(cams, views):
        if fov_deg:
            H = (v.picture or v.seg.mask.shape)[0]
            W = (v.picture or v.seg.mask.shape)[1]
            c.focal = focal_px(H, fov_deg)
            c.pp = (W / 2.0 - v.offset[1], H / 2.0 - v.offset[0])
    return cams


def _pose(c: _Cam, lo: float, hi: float, across: tuple[float, float], centre: np.ndarray,
          near: tuple[float, float] = (0.0, 0.0)) -> None:
    """Place camera c so the world extent [lo, hi] along its anchor axis (view y for side views, view x
    for top/bottom) spans the silhouette's, and `centre` (a world point) projects to the silhouette's
    middle across it. `across`: the silhouette's extent on the other image axis. Perspective: `near` =
    how far toward the camera (from `centre`) the points that make the silhouette's two ends lie."""
    u0, u1, v0, v1 = c.box
    if c.side:
        a0, a1 = -v1, -v0           # image up = view +y
        b_mid = (u0 + u1) / 2
    else:
        a0, a1 = u0, u1
        b_mid = (v0 + v1) / 2
    cv = c.rot @ centre
    if not c.focal:
        c.scale = (a1 - a0) / max(hi - lo, 1e-9)
        if c.side:
            c.v0 = v1 + c.scale * lo
            c.u0 = b_mid - c.scale * cv[0]
        else:
            c.u0 = u0 - c.scale * lo
            c.v0 = b_mid + c.scale * cv[1]
        return
    # pinhole: the anchor extent at the object's distance D subtends the silhouette's angles
    pa = -c.pp[1] if c.side else c.pp[0]   # principal point on the anchor axis (same sign as a0, a1)
    pb = c.pp[0] if c.side else c.pp[1]
    t0, t1 = (a0 - pa) / c.focal, (a1 - pa) / c.focal
    # t1 (dist - near_hi) = hi - anchor and t0 (dist - near_lo) = lo - anchor
    dist = (hi - lo + t1 * near[1] - t0 * near[0]) / max(t1 - t0, 1e-9)
    anchor = lo - t0 * (dist - near[0])     # camera coordinate on the anchor axis
    tb = (b_mid - pb) / c.focal
    if c.side:
        across_off = cv[0] - dist * tb      # view x of the camera
        off = np.array([across_off, anchor, cv[2] + dist])
    else:
        across_off = cv[1] + dist * tb      # image v grows downward: view y = -v
        off = np.array([anchor, across_off, cv[2] + dist])
    c.centre = c.rot.T @ off


def _field(cams: list[_Cam], lo: np.ndarray, hi: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Hull field on a grid over [lo, hi] with about n voxels on the longest side -> (field (X, Y, Z) world
    units, > 0 inside; grid origin (3,); spacing)."""
    h = float((hi - lo).max()) / n
    axes = [lo[k] + h * np.arange(int(math.ceil((hi[k] - lo[k]) / h)) + 1) for k in range(3)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).astype(np.float32)
    field = np.full(pts.shape[:3], np.inf, np.float32)
    for c in cams:
        u, v, k = c.project(pts, carve=True)
        d = sample(c.sdf, u.astype(np.float32), v.astype(np.float32), -1e4) / k
        np.minimum(field, d, out=field)
    return field, np.array([a[0] for a in axes]), h


def _hull_bounds(field: np.ndarray, origin: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    idx = np.argwhere(field > 0)
    if len(idx) == 0:
        raise InvalidInput("the views do not overlap anywhere: they cannot show the same object; "
                           "check each view's label")
    return origin + h * (idx.min(axis=0) - 1), origin + h * (idx.max(axis=0) + 1)  # +-1: voxel centres


def _coarse_bounds(cams: list[_Cam]) -> tuple[np.ndarray, np.ndarray]:
    """Loose world bounds: height 0..1, sideways the widest side view's half width (x 1.5)."""
    r = max((c.box[1] - c.box[0]) / 2 / c.scale if not c.focal else
            (c.box[1] - c.box[0]) / (c.box[3] - c.box[2]) / 2 for c in cams if c.side)
    r = 1.5 * r + 0.05
    return np.array([-r, -0.1, -r]), np.array([r, 1.1, r])


def _setup(cams: list[_Cam]) -> None:
    """Scale every view: side views by the height (world 0..1), top/bottom by the side views' hull."""
    origin = np.array([0.0, 0.5, 0.0])
    sides = [c for c in cams if c.side]
    for c in sides:
        _pose(c, 0.0, 1.0, (c.box[0], c.box[1]), origin)
    square = [c for c in sides if np.allclose(np.abs(c.rot[0]).max(), 1.0)]
    oblique = [c for c in sides if c not in square]
    others = [c for c in cams if not c.side]
    lo, hi = _coarse_bounds(sides)
    if others:  # top/bottom (view x = world x): scaled and centred on the hull of the side views
        field, g0, h = _field(square or sides, lo, hi, COARSE)
        hlo, hhi = _hull_bounds(field, g0, h)
        centre = (hlo + hhi) / 2
        for c in others:
            _pose(c, hlo[0], hhi[0], (c.box[2], c.box[3]), centre)
    # yaws off the axes: the bbox centre need not project to the silhouette's middle; centre them on the
    # hull of the other views instead (orthographic)
    fixed = square + others
    oblique = [c for c in oblique if not c.focal]
    if fixed and oblique:
        field, g0, h = _field(fixed, lo, hi, COARSE)
        pts = g0 + h * np.argwhere(field > 0)
        if len(pts):
            for c in oblique:
                x = pts @ c.rot[0]
                c.u0 = (c.box[0] + c.box[1]) / 2 - c.scale * (x.min() + x.max()) / 2


def _near(c: _Cam, pts: np.ndarray, centre: np.ndarray, h: float) -> tuple[float, float]:
    """Perspective: how far toward camera c (from `centre`) lie the hull points (N, 3), h apart, that make
    the two ends of its silhouette on the anchor axis (those within half a voxel's angle of each end)."""
    q = (pts - c.centre) @ c.rot.T
    depth = np.maximum(-q[:, 2], 1e-9)
    t = q[:, 1 if c.side else 0] / depth
    toward = (pts - centre) @ c.rot[2]
    tol = 0.5 * h / float(np.median(depth))
    lo, hi = t <= t.min() + tol, t >= t.max() - tol
    return float(np.median(toward[lo])), float(np.median(toward[hi]))


def _refine(cams: list[_Cam], rounds: int = 5) -> None:
    """Perspective: re-pose each camera with the depth of the points that make its silhouette's ends.

    The first poses treat the object as a flat card through its centre, but a box's top edge in a front
    view is its near top edge, so the card pose puts the camera too close. Each round carves a coarse hull,
    finds for every view the hull points at the ends of its silhouette and poses it again with their depth,
    then measures where each view's rays first meet the hull (_rims) for the next round's carving. After
    the first round the grid spans the last hull's box (+ 10%), so its voxels are finer.
    """
    origin = np.array([0.0, 0.5, 0.0])
    lo, hi = _coarse_bounds([c for c in cams if c.side])
    for _ in range(rounds):
        field, g0, h = _field(cams, lo, hi, REFINE_GRID)
        pts = g0 + h * np.argwhere(field > 0)
        if len(pts) < 8:
            return
        hlo, hhi = pts.min(axis=0) - h / 2, pts.max(axis=0) + h / 2
        lo, hi = hlo - 0.1 * (hhi - hlo), hhi + 0.1 * (hhi - hlo)
        for c in cams:
            if c.side:
                _pose(c, 0.0, 1.0, (c.box[0], c.box[1]), origin, _near(c, pts, origin, h))
            else:
                centre = (hlo + hhi) / 2
                _pose(c, hlo[0], hhi[0], (c.box[2], c.box[3]), centre, _near(c, pts, centre, h))
        _rims(cams, pts, h)


def _rims(cams: list[_Cam], pts: np.ndarray, h: float) -> None:
    """Perspective: give each view the depth of the hull's front surface over its picture (`rim`).

    A pinhole's cone widens behind the object: the hull of a box's front and side pictures is a frustum
    whose back is (D + depth) / (D - depth) wider than the box (8-17% at 20-40 degrees). Where a pixel's
    ray first meets the hull is, on the outline, where the object makes the silhouette (a box's near
    edges, a sphere's rim); behind that depth the object cannot be wider than the silhouette there, so
    carving treats points behind it as if at it. Exact for boxes; a smooth object bulging behind its rim
    loses a share about (size / distance)^2 / 2 of its width. pts: (N, 3) hull voxel centres, h apart.
    Side views only: top/bottom views are posed by the hull's width, which their own rims would shrink
    round after round; their cones still carve. The maps are made from the hull before any is set."""
    rims = []
    for c in cams:
        if not c.side:
            rims.append((None, 1.0))
            continue
        q = (pts - c.centre) @ c.rot.T
        d = -q[:, 2]
        b = max(1.0, 1.5 * h * float(np.median(c.focal / d)))  # 1.5 voxels a block: no block between rows
        u = (c.pp[0] + q[:, 0] * c.focal / d) / b
        v = (c.pp[1] - q[:, 1] * c.focal / d) / b
        hm, wm = (int(math.ceil(n / b)) + 1 for n in c.mask.shape)
        iu, iv = np.clip(u.astype(int), 0, wm - 1), np.clip(v.astype(int), 0, hm - 1)
        rim = np.full((hm, wm), np.inf)
        np.minimum.at(rim, (iv, iu), d - 0.5 * h)   # the surface lies about half a voxel before the centres
        _, (ry, rx) = ndimage.distance_transform_edt(~np.isfinite(rim), return_indices=True)
        rim = rim[ry, rx]
        rims.append((rim.astype(np.float32), b))
    for c, (rim, b) in zip(cams, rims):
        c.rim, c.rim_bin = rim, b


def _kept(cams: list[_Cam], pts: np.ndarray, h: float) -> list[tuple[float, float, float]]:
    """Per view: (share of its silhouette covered by the projection of the hull's points (N, 3), spaced
    about h apart; hull width / silhouette width; hull height / silhouette height)."""
    out = []
    for c in cams:
        if not len(pts):
            out.append((0.0, 0.0, 0.0))
            continue
        u, v, k = c.project(pts)
        hm, wm = c.mask.shape
        cover = np.zeros_like(c.mask)
        ui, vi = np.clip(u.astype(int), 0, wm - 1), np.clip(v.astype(int), 0, hm - 1)
        cover[vi, ui] = True
        r = int(math.ceil(0.5 * h * float(k.max()))) + 1  # each point covers a square of its spacing
        cover = ndimage.maximum_filter(cover, size=2 * r + 1)
        share = float((cover & c.mask).sum() / max(c.mask.sum(), 1))
        u0, u1, v0, v1 = c.box
        wr = (min(u.max(), u1) - max(u.min(), u0)) / max(u1 - u0, 1e-9)
        hr = (min(v.max(), v1) - max(v.min(), v0)) / max(v1 - v0, 1e-9)
        out.append((share, wr, hr))
    return out


def _loss(kept, tol: float = MAX_EXTENT_MISMATCH) -> float:
    """The largest share of a silhouette's area (beyond MIN_KEPT's allowance) or extent lost."""
    return max(max(1 - s - (1 - MIN_KEPT) + tol, 1 - w, 1 - hh) for s, w, hh in kept)


def perspective_slack(cams: list[_Cam], verts: np.ndarray) -> float:
    """Extra share of a silhouette's extent that pinhole views of one object may lose when carved together.

    A pinhole sees a part at depth d before the object's centre (distance D) (D / (D - d)) times bigger than
    one behind it; the carving is exact for the near edges that make a silhouette (_rims) but not for every
    part, so near parts of a chair or bust cost up to about 2 r / D of an extent, r = the object's half depth
    along the view. Capped at 0.25 (different objects lose far more); 0 for orthographic views."""
    if not len(verts):
        return 0.0
    centre = (verts.min(axis=0) + verts.max(axis=0)) / 2
    slack = 0.0
    for c in cams:
        if c.focal and c.centre is not None:
            along = (verts - centre) @ c.rot[2]
            dist = float(np.linalg.norm(c.centre - centre))
            slack = max(slack, 2.0 * float(np.abs(along).max()) / max(dist, 1e-9))
    return min(slack, 0.25)


def check_consistent(cams: list[_Cam], verts: np.ndarray, h: float) -> None:
    """InvalidInput naming the views whose silhouettes cannot come from one object.

    verts: the carved hull's surface points (N, 3), about h apart. Pinhole views get perspective_slack on top
    of MAX_EXTENT_MISMATCH (their cones, not a flat extent rule, bring them together)."""
    tol = MAX_EXTENT_MISMATCH + perspective_slack(cams, verts)
    if _loss(_kept(cams, verts, h), tol) <= tol:
        return
    lo, hi = _coarse_bounds([c for c in cams if c.side])
    found = []
    for i in range(len(cams)):
        for j in range(i + 1, len(cams)):
            pair = [cams[i], cams[j]]
            try:
                v2, _ = hull_mesh(pair, PAIR_GRID, (lo, hi))
                loss = _loss(_kept(pair, v2, float((hi - lo).max()) / PAIR_GRID), tol)
            except InvalidInput:
                loss = 1.0
            found.append((loss, cams[i].label, cams[j].label))
    found.sort(key=lambda t: -t[0])
    bad = [t for t in found if t[0] > tol] or found[:1]
    text = "; ".join(f"{a!r} and {b!r} (carving them together loses {loss:.0%} of a silhouette's extent)"
                     for loss, a, b in bad)
    raise InvalidInput(f"the views do not show the same object: {text}. Extents that views share must agree "
                       f"within {tol:.0%} once every view is scaled to the same height"
                       + (" (pinhole views: near parts project bigger)" if tol > MAX_EXTENT_MISMATCH else "")
                       + "; check the labels (front 0, right 90 = camera on +X, back 180, left 270, top, bottom) "
                       "and that every picture shows the same object")


def _largest_body(field: np.ndarray) -> np.ndarray:
    labels, n = ndimage.label(field > 0)
    if n <= 1:
        return field
    sizes = ndimage.sum(np.ones_like(labels), labels, index=np.arange(1, n + 1))
    keep = labels == (1 + int(np.argmax(sizes)))
    return np.where(keep | (labels == 0), field, -np.abs(field) - 1e-3).astype(np.float32)


def largest_component(verts: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3), (M, 3) -> the connected part with the most faces, vertices reindexed (marching cubes can
    leave specks where a thin part pinches to nothing)."""
    faces = np.asarray(faces, np.int64)
    n = len(verts)
    graph = sp.csr_matrix((np.ones(faces.size), (faces.ravel(), np.roll(faces, 1, axis=1).ravel())), shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    if count > 1:
        face_label = labels[faces[:, 0]]
        keep = np.argmax(np.bincount(face_label))
        faces = faces[face_label == keep]
    used = np.unique(faces)
    remap = np.full(n, -1, np.int64)
    remap[used] = np.arange(len(used))
    return verts[used], np.ascontiguousarray(remap[faces])


def _taubin(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N, 3), (M, 3) -> (N, 3) Taubin lambda-mu smoothed vertices (TAUBIN), then stretched per axis back to
    the input's bounding box (the hull's extents, which are the silhouettes' own; the smoothing takes
    ~0.3% off convex extremes). Irons out what the round-section prior leaves: creases where two slice
    directions' ellipses meet, steps between neighbouring rays' lifts."""
    mesh = trimesh.Trimesh(verts, faces, process=False)
    filter_taubin(mesh, lamb=TAUBIN[0], nu=TAUBIN[1], iterations=TAUBIN[2])
    out = np.asarray(mesh.vertices, np.float64)
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    slo, shi = out.min(axis=0), out.max(axis=0)
    return np.ascontiguousarray(lo + (out - slo) * (hi - lo) / np.maximum(shi - slo, 1e-12))


def hull_mesh(cams: list[_Cam], grid: int = GRID, bounds=None, rounded: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Carved, smoothed, single-body hull -> (vertices (N, 3) world, faces (M, 3)), watertight.

    rounded: round sections inside the hull where a third view can check them (hullprior), then the mesh is
    Taubin-smoothed (_taubin; a hull the prior leaves alone keeps its flat faces and sharp edges)."""
    lo, hi = bounds if bounds is not None else _coarse_bounds([c for c in cams if c.side])
    coarse, origin, h = _field(cams, lo, hi, COARSE)
    hlo, hhi = _hull_bounds(coarse, origin, h)
    pad = 3 * float((hhi - hlo).max()) / grid
    field, origin, h = _field(cams, hlo - pad, hhi + pad, grid)
    changed = False
    if rounded:
        hull = field
        field = round_sections(hull, origin, h, cams)
        changed = field is not hull
    # clip first: the far-outside sentinel (-1e4) must not bleed through the blur and shrink the hull
    field = ndimage.gaussian_filter(np.clip(field, -4 * h, 4 * h), SMOOTH_SIGMA, mode="nearest")
    field = _largest_body(field)
    field = np.pad(field, 1, constant_values=-h)
    field[field == 0.0] = 1e-7
    verts, faces, _, _ = marching_cubes(field, 0.0, spacing=(h, h, h), allow_degenerate=False)
    verts, faces = largest_component(verts.astype(np.float64) + origin - h, faces)
    if changed:
        verts = _taubin(verts, faces)
    if check_closed(verts, faces) < 0:
        faces = np.ascontiguousarray(faces[:, ::-1])
    return verts, faces


def simplify_solid(verts: np.ndarray, faces: np.ndarray, target: int = FACE_BUDGET) -> tuple[np.ndarray, np.ndarray]:
    """Quadric-collapse a closed mesh to about `target` faces *before* it gets UVs.

    The multi-view texture is a projection of each face into its view, so UVs must be computed from the final
    vertex positions. A textured mesh decimated later keeps each surviving vertex's UV while the collapse
    moves it (on the hull's flat cone faces by many triangles, error-free for the shape): every view's picture
    was dragged across the surface into streaks (issue 19). Simplified here, the server's decimation to its
    default budget has nothing left to do. The input is returned when the result is not one closed solid."""
    if len(faces) <= target:
        return verts, faces
    import fast_simplification

    lo = verts.min(axis=0)
    scale = float(np.linalg.norm(verts.max(axis=0) - lo)) or 1.0
    for agg in (2.0, 1.0, 0.5):  # careful passes when a thin part pinched
        v, f = fast_simplification.simplify((verts - lo) / scale, np.asarray(faces, np.int64), target_count=target,
                                            agg=agg)
        v, f = largest_component(np.asarray(v, np.float64) * scale + lo, np.asarray(f, np.int64))
        mesh = trimesh.Trimesh(v, f, process=False)
        welded = mesh.copy()
        welded.merge_vertices()  # two vertices collapsed onto one point would pinch the solid once welded
        if not (mesh.is_watertight and mesh.is_winding_consistent) or len(f) < 0.5 * target \
                or len(welded.vertices) != len(v):
            continue
        try:
            if check_closed(v, f) < 0:
                f = np.ascontiguousarray(f[:, ::-1])
        except MeshsmithError:
            continue
        return v, f
    return verts, faces


def unseen_axis(cams: list[_Cam]) -> int | None:
    """The world axis (0 x, 1 y, 2 z) no picture measures (every view looks along it or is blind to it: front +
    back leave z unseen), else None."""
    for k in range(3):
        if all(abs(c.rot[0][k]) < 1e-6 and abs(c.rot[1][k]) < 1e-6 for c in cams):
            return k
    return None


def _prior_body(views: list[View], cams: list[_Cam], fov: float) -> tuple[np.ndarray, np.ndarray]:
    """Views that share no side (front + back): the visual hull is the silhouette extruded as deep as the grid
    goes, so the depth comes from the single-view prior instead (inflate of the first view, 1 high, as the hull's
    side views are posed), turned into the world frame by that view's rotation -> closed (verts, faces)."""
    first = next(i for i, c in enumerate(cams) if c.side)
    rec = reconstruct(views[first].seg, ReconstructParams(mode="inflate", target_height_m=1.0, fov_deg=fov))
    mesh = rec.mesh.copy()
    mesh.merge_vertices(merge_tex=True, merge_norm=True)
    v = np.asarray(mesh.vertices, np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    v = v - [(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2]
    c = cams[first]
    # the hull's pose puts the silhouette's middle at view x = 0 and its height at world y 0..1
    v = v @ c.rot                                       # view -> world (rot is world -> view, orthonormal)
    f = np.asarray(mesh.faces, np.int64)
    if check_closed(v, f) < 0:
        f = np.ascontiguousarray(f[:, ::-1])
    return v, f


def _outline(mask: np.ndarray, mirror: bool, n: int = 64) -> np.ndarray:
    """The silhouette cropped to its box, mirrored left-right if asked, resized to n x n (bool)."""
    import cv2

    u0, u1, v0, v1 = (int(x) for x in _box(mask))
    crop = mask[v0:v1, u0:u1].astype(np.float32)
    if mirror:
        crop = crop[:, ::-1]
    return cv2.resize(crop, (n, n), interpolation=cv2.INTER_AREA) > 0.5


def check_opposite(cams: list[_Cam], fov: float) -> None:
    """Views that share no side (front + back): no hull can check them, so each pair of them must show one
    outline, mirrored: the same width for the same height (within MAX_EXTENT_MISMATCH, plus 15% for pinhole
    pictures, whose near parts project bigger) and overlapping (IoU >= 0.6 once both are cropped and mirrored);
    else InvalidInput naming them."""
    tol = MAX_EXTENT_MISMATCH + (0.15 if fov else 0.0)
    bad = []
    for i in range(len(cams)):
        for j in range(i + 1, len(cams)):
            a, b = cams[i], cams[j]
            aspect_a = (a.box[1] - a.box[0]) / max(a.box[3] - a.box[2], 1e-9)
            aspect_b = (b.box[1] - b.box[0]) / max(b.box[3] - b.box[2], 1e-9)
            mirrored = float(a.rot[0] @ b.rot[0]) < 0
            oa, ob = _outline(a.mask, False), _outline(b.mask, mirrored)
            iou = float((oa & ob).sum() / max((oa | ob).sum(), 1))
            diff = abs(aspect_a / aspect_b - 1)
            if diff > tol or iou < 0.6:
                bad.append(f"{a.label!r} and {b.label!r} (width for the same height differs by {diff:.0%}, "
                           f"outlines overlap {iou:.0%} once mirrored)")
    if bad:
        raise InvalidInput(f"the views do not show the same object: {'; '.join(bad)}. Views that share no side "
                           f"must show one outline (mirrored for opposite views), widths within {tol:.0%} for "
                           "the same height; check the labels and that every picture shows the same object")


def reconstruct_views(views: list[View], params: ReconstructParams = ReconstructParams()) -> Reconstruction:
    """2-6 labelled views -> textured, watertight, placed Reconstruction (mode "multiview")."""
    check_params(params)
    if not 2 <= len(views) <= MAX_VIEWS:
        raise InvalidInput(f"multi-view input takes 2 to {MAX_VIEWS} pictures, got {len(views)}")
    seen: dict[tuple[float, float], str] = {}
    for v in views:
        key = parse_label(v.label)
        if key in seen:
            raise InvalidInput(f"views {seen[key]!r} and {v.label!r} are the same viewpoint; give each picture its own label")
        seen[key] = v.label
    fov = float(getattr(params, "fov_deg", 0.0) or 0.0)
    cams = _cameras(views, fov)
    unseen = unseen_axis(cams)
    if unseen is not None:
        # no view measures one axis (front + back): the hull would be the outline extruded through its grid
        check_opposite(cams, fov)
        _setup(cams)
        verts, faces = _prior_body(views, cams, fov)
    else:
        _setup(cams)
        if fov:
            _refine(cams)
        verts, faces = hull_mesh(cams, rounded=True)
        check_consistent(cams, verts, float(np.ptp(verts, axis=0).max()) / GRID)
    verts, faces = simplify_solid(verts, faces)
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    if params.target_width_m is not None:
        s = params.target_width_m / max(hi[0] - lo[0], 1e-12)
    else:
        s = (params.target_height_m if params.target_height_m is not None else 1.0) / max(hi[1] - lo[1], 1e-12)
    placed = (verts - [(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2]) * s
    if params.depth_m is not None:
        placed[:, 2] *= params.depth_m / max((hi[2] - lo[2]) * s, 1e-12)
    mesh = texture_mesh(placed, faces, verts, views, cams, params.texture_size)
    labels = ", ".join(v.label for v in views)
    reason = f"visual hull of {len(views)} views ({labels})"
    if unseen is not None:
        reason = (f"{len(views)} views ({labels}) that share no side: no picture measures the {'xyz'[unseen]} "
                  "extent, so the depth is the single-view prior's (inflate of the first view), textured from every view")
    return Reconstruction(mesh=mesh, mode="multiview",
                          reason=reason + (f", perspective {fov:g} deg" if fov else ", orthographic"))
