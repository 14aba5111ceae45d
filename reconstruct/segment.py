"""Foreground segmentation: alpha channel, else a plain/gradient background, else GrabCut."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from meshsmith.errors import InvalidInput, NoObjectFound

METHODS = ("auto", "alpha", "background", "grabcut")


@dataclass(frozen=True)
class SegmentParams:
    method: str = "auto"                   # auto | alpha | background | grabcut
    alpha_threshold: int = 128             # alpha >= this is the object
    border_fraction: float = 0.02          # width of the border band that samples the background
    background_tolerance: float = 28.0     # min RGB distance from the background model to be object
    background_uniformity: float = 14.0    # border residual (95th pct) below which the background is "plain"
    grabcut_side: int = 176                # GrabCut runs at this long side (speed), mask is upsampled
    grabcut_iterations: int = 3
    max_background_overlap: float = 0.75   # GrabCut: colour-histogram overlap above which nothing separates
    keep_component_fraction: float = 0.02  # keep extra components >= this fraction of the main one...
    keep_component_distance: float = 0.15  # ...within this fraction of the main one's bbox diagonal
    min_object_fraction: float = 0.001     # smaller than this fraction of the image: no object
    pinhole_fraction: float = 0.003        # colour-based masks: holes below this fraction of the object are filled
    hole_residual: float = 8.0             # background: enclosed holes departing this much on average are object
    margin_fraction: float = 0.02          # crop margin around the object, fraction of its long side
    seed: int = 0                          # GrabCut's k-means initialisation


@dataclass(frozen=True)
class Segmented:
    rgba: np.ndarray   # (H, W, 4) uint8, cropped to the object with a small margin
    mask: np.ndarray   # (H, W) bool, the main object, its holes kept
    method: str        # "alpha" | "background" | "grabcut" | "model" (the learned segment backend)
    origin: tuple[int, int] = (0, 0)        # (x, y) of the crop's top-left pixel in the full picture
    image_size: tuple[int, int] | None = None  # (width, height) of the full picture; None = the crop


_SEND_INSTEAD = "send a photo of one object against a plain background, or a PNG cut-out with transparency"


def _alpha_mask(rgba: np.ndarray, p: SegmentParams) -> np.ndarray | None:
    """(H, W) bool from alpha, or None when alpha carries no cut-out."""
    alpha = rgba[..., 3]
    opaque = alpha >= p.alpha_threshold
    frac = opaque.mean()
    if frac >= 0.999:
        return None
    if not opaque.any():
        raise NoObjectFound(f"the image is fully transparent: there is no object to reconstruct; {_SEND_INSTEAD}")
    return opaque


def _border_band(h: int, w: int, p: SegmentParams) -> np.ndarray:
    b = max(2, int(round(p.border_fraction * min(h, w))))
    band = np.zeros((h, w), bool)
    band[:b], band[-b:], band[:, :b], band[:, -b:] = True, True, True, True
    return band


def _background_mask(rgba: np.ndarray, p: SegmentParams) -> np.ndarray | None:
    """Fit a quadratic colour gradient to the border; (H, W) bool of what departs from it, or None."""
    h, w = rgba.shape[:2]
    rgb = rgba[..., :3].astype(np.float32)
    band = _border_band(h, w, p)
    ys, xs = np.nonzero(band)
    step = max(1, ys.size // 20000)
    ys, xs = ys[::step], xs[::step]

    def basis(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        y = y / max(h - 1, 1) - 0.5
        x = x / max(w - 1, 1) - 0.5
        return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1)

    samples = rgb[ys, xs]
    coef, *_ = np.linalg.lstsq(basis(ys.astype(np.float64), xs.astype(np.float64)), samples, rcond=None)
    resid = np.linalg.norm(samples - basis(ys.astype(np.float64), xs.astype(np.float64)) @ coef, axis=1)
    spread = float(np.percentile(resid, 95))
    if spread > p.background_uniformity:
        return None
    # the model is a smooth quadratic: evaluate it on a coarse grid, interpolate to full size
    gh, gw = min(h, 64), min(w, 64)
    yy, xx = np.meshgrid(np.linspace(0, h - 1, gh), np.linspace(0, w - 1, gw), indexing="ij")
    coarse = (basis(yy, xx) @ coef).astype(np.float32)
    model = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    diff = rgb - model
    thr = max(p.background_tolerance, 3.0 * spread)
    mask = np.einsum("ijk,ijk->ij", diff, diff) > thr * thr
    return mask | _object_holes(mask, diff, model, max(p.hole_residual, spread))


def _object_holes(mask: np.ndarray, diff: np.ndarray, model: np.ndarray, residual: float) -> np.ndarray:
    """(H, W) bool departures, (H, W, 3) picture minus backdrop model, (H, W, 3) model -> (H, W) bool enclosed holes that are
    the object, not the backdrop seen through it: a hole showing the backdrop departs from its model by noise
    only, which averages out over the hole; object paint close to the backdrop's colour (a white cow on a light
    grey backdrop) departs by less than the per-pixel tolerance but consistently, so its mean departure is
    more than `residual` levels. A hole that is the backdrop darkened (same chromaticity: in shade inside a
    handle or under a car) stays a hole."""
    n, labels = cv2.connectedComponents((~mask).astype(np.uint8), connectivity=4)
    if n <= 2:
        return np.zeros(mask.shape, bool)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    flat = labels.reshape(-1)
    counts = np.maximum(np.bincount(flat, minlength=n), 1).astype(np.float64)

    def mean_per_label(values: np.ndarray) -> np.ndarray:  # (H, W, 3) -> (n, 3)
        return np.stack([np.bincount(flat, weights=values[..., c].reshape(-1), minlength=n) for c in range(3)], 1) \
            / counts[:, None]

    means, backdrop = mean_per_label(diff), mean_per_label(model)
    seen = backdrop + means
    lum_s, lum_b = seen.sum(axis=1), np.maximum(backdrop.sum(axis=1), 1.0)
    chroma = np.abs(seen / np.maximum(lum_s, 1.0)[:, None] - backdrop / lum_b[:, None]).max(axis=1)
    shaded = (lum_s < lum_b) & (chroma < 0.02)  # the backdrop in shade (inside a handle, under a car): a real hole
    fill = (np.linalg.norm(means, axis=1) > residual) & ~shaded
    fill[border] = False
    fill[0] = False  # label 0 is the departures themselves
    return fill[labels]


def _grabcut_mask(rgba: np.ndarray, p: SegmentParams) -> np.ndarray:
    """GrabCut from a centred rectangle at a reduced size; (H, W) bool."""
    h, w = rgba.shape[:2]
    f = min(1.0, p.grabcut_side / max(h, w))
    sw, sh = max(8, round(w * f)), max(8, round(h * f))
    small = cv2.resize(np.ascontiguousarray(rgba[..., :3]), (sw, sh), interpolation=cv2.INTER_AREA)
    mx, my = max(1, round(0.03 * sw)), max(1, round(0.03 * sh))
    mask = np.zeros((sh, sw), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(p.seed)
    cv2.grabCut(small, mask, (mx, my, sw - 2 * mx, sh - 2 * my), bgd, fgd, p.grabcut_iterations,
                cv2.GC_INIT_WITH_RECT)
    fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))
    if fg.any() and (~fg).any():
        q = (small // 32).reshape(-1, 3).astype(np.int32)
        code = q[:, 0] * 64 + q[:, 1] * 8 + q[:, 2]
        hf = np.bincount(code[fg.ravel()], minlength=512) / fg.sum()
        hb = np.bincount(code[~fg.ravel()], minlength=512) / (~fg).sum()
        if np.minimum(hf, hb).sum() > p.max_background_overlap:
            raise NoObjectFound(
                "no object stands out from the background (its colours match the surroundings); " + _SEND_INSTEAD
            )
    up = cv2.resize(fg.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return up > 0.5


def _clean(mask: np.ndarray, p: SegmentParams, from_colour: bool) -> np.ndarray:
    """Main component + significant nearby ones, specks and pinholes removed, real holes kept."""
    m = mask.astype(np.uint8)  # no median/opening: it would erase 1-2 px thin parts; specks go by area below
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    main = int(np.argmax(areas)) + 1
    keep = np.zeros(n, bool)
    keep[main] = True
    x, y, bw, bh = stats[main, :4]
    reach = p.keep_component_distance * float(np.hypot(bw, bh))
    candidates = [lab for lab in np.nonzero(areas >= p.keep_component_fraction * areas[main - 1])[0] + 1
                  if lab != main]
    if candidates:
        dist = cv2.distanceTransform((labels != main).astype(np.uint8), cv2.DIST_L2, 5)
        for lab in candidates:
            if dist[labels == lab].min() <= reach:
                keep[lab] = True
    out = keep[labels]
    # fill pinholes (noise, or object colours equal to the background) but keep real holes
    hole_max = max(4, int(p.pinhole_fraction * out.sum())) if from_colour else 0  # alpha holes are real
    nh, hl, hs, _ = cv2.connectedComponentsWithStats((~out).astype(np.uint8), connectivity=4)
    small = np.zeros(nh, bool)
    small[1:] = hs[1:, cv2.CC_STAT_AREA] <= hole_max
    touches = np.unique(np.concatenate([hl[0], hl[-1], hl[:, 0], hl[:, -1]]))
    small[touches] = False
    return out | small[hl]


def segment(rgba: np.ndarray, params: SegmentParams = SegmentParams()) -> Segmented:
    """Separate the main object of an (H, W, 4) uint8 image; crop to it. Raises NoObjectFound."""
    if not (isinstance(rgba, np.ndarray) and rgba.ndim == 3 and rgba.shape[2] == 4 and rgba.dtype == np.uint8):
        raise InvalidInput("segment() needs an (H, W, 4) uint8 RGBA array, as decode_image returns")
    if params.method not in METHODS:
        raise InvalidInput(f"unknown segmentation method {params.method!r}; use one of {', '.join(METHODS)}")
    h, w = rgba.shape[:2]
    if h < 8 or w < 8:
        raise NoObjectFound(f"the image is only {w}x{h} pixels; send a picture at least 8x8 (ideally 512+)")
    mask, method = None, params.method
    if method in ("auto", "alpha"):
        mask = _alpha_mask(rgba, params)
        if mask is None and method == "alpha":
            raise NoObjectFound(f"the image has no transparent background to cut the object out by; {_SEND_INSTEAD}")
        method = "alpha" if mask is not None else method
    if mask is None and method in ("auto", "background"):
        mask = _background_mask(rgba, params)
        if mask is None and method == "background":
            raise NoObjectFound(f"the image border is not one plain colour; {_SEND_INSTEAD}")
        method = "background" if mask is not None else method
    if mask is None:
        method = "grabcut"
        mask = _grabcut_mask(rgba, params)
    mask = _clean(mask, params, from_colour=method != "alpha")
    area = int(mask.sum())
    if area < max(16, params.min_object_fraction * h * w):
        why = {"alpha": "the opaque part of the image is only a speck",
               "background": "the image is blank or one plain colour",
               "grabcut": "nothing in the image stands out from its surroundings"}[method]
        raise NoObjectFound(f"no object found: {why}; {_SEND_INSTEAD}")
    if area > 0.97 * h * w:
        raise NoObjectFound(
            "the object fills the whole image, leaving no background to separate it from; "
            "send a picture with some space around the object"
        )
    return crop_to_object(rgba, mask, method, params.margin_fraction)


def crop_to_object(rgba: np.ndarray, mask: np.ndarray, method: str, margin_fraction: float) -> Segmented:
    """The (H, W, 4) picture cropped to the (H, W) bool mask's box plus a margin, alpha cut to the mask (the
    picture's own alpha kept for method "alpha"); origin and image_size say where the crop sat."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    y0, y1, x0, x1 = ys[0], ys[-1] + 1, xs[0], xs[-1] + 1
    pad = max(2, int(round(margin_fraction * max(y1 - y0, x1 - x0))))
    y0, x0, y1, x1 = max(0, y0 - pad), max(0, x0 - pad), min(h, y1 + pad), min(w, x1 + pad)
    crop = rgba[y0:y1, x0:x1].copy()
    cmask = np.ascontiguousarray(mask[y0:y1, x0:x1])
    alpha = crop[..., 3] if method == "alpha" else np.full(cmask.shape, 255, np.uint8)
    crop[..., 3] = np.where(cmask, np.maximum(alpha, 1), 0)
    return Segmented(rgba=crop, mask=cmask, method=method, origin=(int(x0), int(y0)), image_size=(int(w), int(h)))
