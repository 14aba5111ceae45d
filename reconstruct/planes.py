"""planes: large planar faces in a single picture, kept flat by inflate (issue 10 item 3).

Cue: under one light a plane has one normal, so it shows one shade: a large connected region of the object
whose colour is constant to within a few levels (no shading gradient, no texture). Curved surfaces under
the same light change shade across any large region, textured ones change colour. Measured on renders
(benchmarks/README.md section 10c): the largest region below FLAT_GRADIENT covers 73-85% of fandisk
(front and turned 35 deg) and 90% of a flat-shaded box front-on, spanning 0-1 levels; on a sphere 33%
spanning 16 levels, on every curved corpus mesh at most 38% spanning 7-31 levels (beetle, cow, teapot):
MIN_SHARE and FLAT_RANGE separate them with a wide margin. None of the 45 corpus photos and drawings
has such a region (photos carry noise and soft light; their seats and boards are cushions and grain).

A region counts only when the picture is lit (the face's colour shows elsewhere in other, smoothly
varying shades: fillets, other faces) or the outline is a convex polygon with few edges (a box or sign
seen front-on, whose one face may be all the picture shows): a flat-colour cartoon has large one-shade
regions too, and stays a balloon. The outline alone is no cue: a lying cylinder and a box seen front-on
both show a rectangle; their shading tells them apart.

Prior for a detected face: a slab, not a dome. Its front is a plateau at one height over the whole face
(a plane has one depth; the narrow tabs of a face are as far forward as its middle), meeting the outline
in a rounded edge EDGE wide; the face's inner edges blend into the dome over BLEND working pixels. Height
(plateau_height): the dome's mean over a face that reaches the outline all round (it faces the camera),
the dome's highest point over a face framed by other visible faces (turned by an angle one shade cannot
give: flat, but not shallower).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

FLAT_GRADIENT = 1.0   # colour levels (0-255, any channel) per working pixel: "no shading gradient"
FLAT_RANGE = 4.0      # 2nd-98th percentile spread of the region's brightness, levels
MIN_SHARE = 0.15      # a planar face covers at least this share of the object
EDGE = 0.25           # the slab's rounded edge: this fraction of its plateau height, working pixels...
EDGE_MIN = 2.5        # ...and at least this many (marching cubes needs a few cells to turn smoothly)
BLEND = 2.0           # working pixels: Gaussian width of the blend between plateau and dome
REACH = (0.6, 0.8)    # share of the outline the face reaches: turned (full depth) .. facing (mean depth)
SHADE_SHARE = 0.01    # lit: the face's colour in other shades (same chromaticity) on this share of the object,
SHADE_RATIO = (0.15, 0.995)  # at these brightness ratios to the face's,
SHADE_GRADIENT = 10.0  # smoothly (levels per working pixel): a mixed pixel between flat colours jumps more
BOX_EDGES = 6         # box prior: a convex outline with at most this many straight edges...
BOX_FIT = 0.97        # ...that fill it to this IoU (a box or sign seen front-on; a disc needs ~9)


def planar_regions(rgba: np.ndarray, mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W, 4) uint8 crop, (H, W) bool mask -> (h, w) int32 labels of the large planar faces on the
    (h, w) working grid (0 = none, 1..n)."""
    h, w = shape
    m = mask.astype(np.float32)
    rgb = rgba[..., :3].astype(np.float32) * m[..., None]
    cov = cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA)
    col = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA) / np.maximum(cov, 1e-6)[..., None]
    inner = ndimage.binary_erosion(cov > 0.99, iterations=1)   # no anti-aliased or mixed edge pixels
    gy, gx = np.gradient(col, axis=(0, 1))
    grad = np.hypot(gx, gy).max(axis=2)
    flat = inner & (grad < FLAT_GRADIENT)
    lab, n = ndimage.label(flat)
    out = np.zeros(shape, np.int32)
    if n == 0:
        return out
    area = max(float((cov > 0.5).sum()), 1.0)
    sizes = ndimage.sum_labels(flat, lab, np.arange(1, n + 1))
    lum = col.mean(axis=2)
    k = 0
    boxy = None
    for i in np.nonzero(sizes >= MIN_SHARE * area)[0] + 1:
        region = lab == i
        v = lum[region]
        if np.percentile(v, 98) - np.percentile(v, 2) > FLAT_RANGE:
            continue
        if not _lit(col, inner & ~region & (grad < SHADE_GRADIENT), col[region].mean(axis=0), area):
            boxy = _box_outline(cov > 0.5) if boxy is None else boxy
            if not boxy:
                continue
        k += 1
        out[region] = k
    return out


def _lit(col: np.ndarray, rest: np.ndarray, face: np.ndarray, area: float) -> bool:
    """(h, w, 3) colours, (h, w) bool other smoothly varying object pixels, (3,) face colour -> True when
    the face's colour shows elsewhere in other shades (same chromaticity, another brightness: curved
    fillets, other faces): the picture is lit, so one shade over a large region means one normal. Flat
    art (no shading anywhere; its only in-between shades are the sharp mixed pixels where two colours
    meet) gives no such evidence."""
    c = col[rest]
    lum, lum0 = c.sum(axis=1), float(face.sum())
    same = np.abs(c / np.maximum(lum, 1.0)[:, None] - face / max(lum0, 1.0)).max(axis=1) < 0.02
    ratio = np.minimum(lum, lum0) / np.maximum(np.maximum(lum, lum0), 1.0)
    return bool((same & (ratio >= SHADE_RATIO[0]) & (ratio <= SHADE_RATIO[1])).sum() >= SHADE_SHARE * area)


def _box_outline(mask: np.ndarray) -> bool:
    """(h, w) bool -> True when the outline is a convex polygon with at most BOX_EDGES straight edges
    (a box or a sign seen front-on): the one outline whose single flat colour reads as a face, not art."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if len(contours) != 1:
        return False
    hull = cv2.convexHull(contours[0])
    poly = cv2.approxPolyDP(hull, 0.01 * cv2.arcLength(hull, True), True)
    fill = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(fill, [poly], 1)
    iou = (mask & (fill > 0)).sum() / max((mask | (fill > 0)).sum(), 1)
    return len(poly) <= BOX_EDGES and iou >= BOX_FIT


def plateau_height(h2: np.ndarray, region: np.ndarray, rim: np.ndarray, power: float) -> float:
    """The slab's front height over a (h, w) bool region, given the (h, w) bool outline pixels.

    A face that reaches the outline all round (the object's sides unseen) faces the camera: the mean dome
    height over it (the slab holds about the dome's volume, a wide face is no longer deeper than a narrow
    one of the same object). A face framed by other visible faces is turned, and one shade cannot say by
    how much: it keeps the dome's full depth (its highest point), flat but not shallower. In between
    (REACH) the two blend linearly.
    """
    hf = np.maximum(h2[region], 0.0) ** (1.0 / power)
    near = ndimage.binary_dilation(region, iterations=4)
    reach = float((rim & near).sum() / max(rim.sum(), 1))
    t = float(np.clip((reach - REACH[0]) / (REACH[1] - REACH[0]), 0.0, 1.0))
    return t * float(hf.mean()) + (1.0 - t) * float(hf.max())


def flatten(h2: np.ndarray, sd: np.ndarray, labels: np.ndarray, power: float) -> np.ndarray:
    """(h, w) field R^p - r^p, (h, w) signed outline distance, (h, w) labels -> the field with each
    planar face a slab: c^p (1 - max(1 - sd / e, 0)^p) over the face (front at height c, a rounded edge
    e wide at the outline), blended into the dome over BLEND pixels at the face's inner edges. The zero
    level (the outline) is unchanged: both fields vanish there."""
    n = int(labels.max())
    if n == 0:
        return h2
    inside = (sd > 0).astype(np.float64)
    rim = (sd > 0) & ~ndimage.binary_erosion(sd > 0)
    norm = np.maximum(ndimage.gaussian_filter(inside, BLEND), 1e-6)
    total = np.zeros_like(h2)
    out = np.zeros_like(h2)
    for i in range(1, n + 1):
        region = labels == i
        c = plateau_height(h2, region, rim, power)
        e = max(EDGE * c, EDGE_MIN)
        # the region reaches the outline where it came within the eroded rim band of it
        grown = ndimage.binary_dilation(region, iterations=3) & (sd > 0)
        grown |= region
        # normalised by the blurred inside: no fall-off where the face meets the outline (both fields
        # vanish on the outline, so any weight there keeps it)
        wt = np.clip(ndimage.gaussian_filter(grown.astype(np.float64), BLEND) / norm, 0.0, 1.0)
        slab = c ** power * (1.0 - np.maximum(1.0 - sd / e, 0.0) ** power)
        out += wt * slab
        total += wt
    total = np.minimum(total, 1.0)
    return (1.0 - total) * h2 + out
