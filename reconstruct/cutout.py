"""The cut-out a single picture gets: which mask the pipeline uses, and a warning when it may have lost a part.

  picture with transparency          -> its alpha (classical, no model)
  photo on a plain backdrop          -> the classical backdrop model (reconstruct.segment), less the large
                                        regions the salient model is sure are background (a cast shadow), when
                                        CutoutParams.plain_backdrop == "classical" (measured better there:
                                        benchmarks/README.md section 20: 0.995 plain, 0.988 with a shadow)
  any other photo                    -> the salient-object model (U²-Netp from the installed wheel, or the
                                        server's `--model segment=FILE.onnx`): its probability sharpened by a
                                        GrabCut seeded from it, cleaned as the colour masks are (main part + near
                                        parts, pinholes filled)

Whenever the model ran, the chosen mask is compared with what the model saw: a connected region of at least
`warn_fraction` of the object that one calls object and the other background (the plant's vase, the
headphones' arc, or a cast shadow kept) becomes a warning the Generate stream shows. The default model missing
(an install without requirements/weights.txt) falls back to the classical cut-out, with a warning; a model the
user named that cannot be used is FailedPrecondition naming the flag.
onnxruntime is imported only by reconstruct.learned.salient.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from meshsmith.errors import FailedPrecondition, NoObjectFound
from reconstruct.segment import (SegmentParams, Segmented, _alpha_mask, _background_mask, _clean, crop_to_object,
                                 segment)

PLAIN_BACKDROP = ("classical", "model")


@dataclass(frozen=True)
class CutoutParams:
    model: str | None = None          # FILE.onnx (`--model segment=`); None: the default U²-Netp
    plain_backdrop: str = "classical"  # what a plain-backdrop photo uses: "classical" or "model"
    use_model: bool = True            # False: the classical cut-out only (no model run, no warnings)
    threshold: float = 0.5            # model probability >= this is the object
    background_below: float = 0.1     # model probability < this is background (for "kept but background" warnings)
    warn_fraction: float = 0.08       # a disagreeing region >= this fraction of the object's area is reported
    drop_fraction: float = 0.02       # plain backdrop: a region the model is sure is background, >= this
                                      # fraction of the object, is taken off the classical mask (a cast shadow)
    add_model_object: bool = False    # plain backdrop: also add large regions the model is sure are object; off:
                                      # measured worse (the studio beetle's real hole under the car filled:
                                      # 0.993 -> 0.902; mean 0.995 -> 0.986)
    refine_side: int = 512            # GrabCut seeded by the model's probability, at this long side (0: off)
    sure_object: float = 0.95         # ...probability >= this is fixed as object, < sure_background as background
    sure_background: float = 0.02
    threads: int = 2                  # onnxruntime threads


@dataclass(frozen=True)
class Cutout:
    segmented: Segmented
    used: str                 # "alpha" | "background" | "grabcut" | the model's id ("u2netp", ...)
    lineage: dict             # {"used": ..., "model": the model's lineage (when it ran)}; recorded on the version
    warnings: tuple[str, ...] = ()
    mask: np.ndarray | None = None  # (H, W) bool, the chosen mask in the full picture's frame


def cutout_params(config, base: "CutoutParams | None" = None) -> "CutoutParams":
    """The CutoutParams of a server's LearnedConfig: `--model segment=FILE.onnx` replaces the default model."""
    from reconstruct.learned.salient import is_onnx_model

    where = config.model("segment")
    p = base or CutoutParams()
    return dataclasses.replace(p, model=where if is_onnx_model(where) else p.model,
                               threads=config.threads or p.threads)


def full_mask(seg: Segmented, shape: tuple[int, int]) -> np.ndarray:
    """The Segmented's cropped mask put back into the (H, W) picture frame."""
    m = np.zeros(shape, bool)
    x0, y0 = seg.origin
    h, w = seg.mask.shape
    m[y0:y0 + h, x0:x0 + w] = seg.mask
    return m


def _where(ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int]) -> str:
    cy, cx = ys.mean() / shape[0], xs.mean() / shape[1]
    v = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else "middle"
    h = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else "centre"
    return "centre" if (v, h) == ("middle", "centre") else f"{v} {h}".replace("middle ", "")


def disagreements(mask: np.ndarray, prob: np.ndarray, p: CutoutParams, chosen: str, model_id: str,
                  seen: np.ndarray | None = None) -> list[str]:
    """Warnings for large regions the (H, W) chosen mask and the model's (H, W) probability disagree on; thin
    slivers along the outline (soft model edges) are opened away first. `seen`: the (H, W) bool mask taken as
    what the model saw as object (default prob >= threshold; when the model's own mask was chosen, its
    colour-refined mask before only the main part and its near parts were kept: a part dropped there is lost,
    a hole the refinement opened inside a handle or a headband is not)."""
    area = max(int(mask.sum()), 1)
    kernel = _opening(mask.shape)
    seen = prob >= p.threshold if seen is None else seen
    out = []
    for region, what in ((~mask & seen, "saw as part of the object but the cut-out "
                                                            "leaves out"),
                         (mask & (prob < p.background_below), "saw as background but the cut-out keeps "
                                                              "(a shadow, a stand or the floor?)")):
        region = cv2.morphologyEx(region.astype(np.uint8), cv2.MORPH_OPEN, kernel)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
        for lab in range(1, n):
            px = int(stats[lab, cv2.CC_STAT_AREA])
            if px >= p.warn_fraction * area:
                ys, xs = np.nonzero(labels == lab)
                out.append(f"cut-out ({chosen}): a region of {px} px ({px / area:.0%} of the object) at the "
                           f"{_where(ys, xs, mask.shape)} that {model_id} {what}; check the preview, or send the "
                           "picture with transparency (a PNG cut-out)")
    return out


def _refine(rgba: np.ndarray, prob: np.ndarray, p: CutoutParams, seed: int) -> np.ndarray:
    """(H, W) bool: GrabCut seeded by the model's (H, W) probability (sure object / probable object / probable
    background / sure background), at `refine_side`: the model works at 320 px, the colours sharpen its edges
    (+0.012 mean IoU on the composites' tuning pictures, benchmarks/README.md section 20)."""
    h, w = prob.shape
    rough = prob >= p.threshold
    if not p.refine_side or not rough.any() or rough.all():
        return rough
    f = min(1.0, p.refine_side / max(h, w))
    sw, sh = max(8, round(w * f)), max(8, round(h * f))
    small = cv2.resize(np.ascontiguousarray(rgba[..., :3]), (sw, sh), interpolation=cv2.INTER_AREA)
    ps = cv2.resize(prob, (sw, sh), interpolation=cv2.INTER_AREA)
    seeds = np.full(ps.shape, cv2.GC_PR_BGD, np.uint8)
    seeds[ps >= p.threshold] = cv2.GC_PR_FGD
    seeds[ps >= p.sure_object] = cv2.GC_FGD
    seeds[ps < p.sure_background] = cv2.GC_BGD
    if not np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD)).any() or not np.isin(seeds, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():
        return rough
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(seed)
    try:
        cv2.grabCut(small, seeds, None, bgd, fgd, 3, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # one colour only on a side: keep the model's mask
        return rough
    fg = np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    return cv2.resize(fg, (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5


def _opening(shape: tuple[int, int]) -> np.ndarray:
    r = max(2, int(round(0.01 * np.hypot(*shape))))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _big_regions(region: np.ndarray, within: np.ndarray, area: int, p: CutoutParams) -> np.ndarray:
    """(H, W) bool: the components of `region`, opened (no slivers along the outline), of at least
    drop_fraction x `area`, widened back over their opened-away rim inside `within`."""
    kernel = _opening(region.shape)
    sure = cv2.morphologyEx(region.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(sure, connectivity=8)
    big = np.zeros(n, bool)
    big[1:] = stats[1:, cv2.CC_STAT_AREA] >= p.drop_fraction * max(area, 1)
    if not big.any():
        return np.zeros(region.shape, bool)
    return (cv2.dilate(big[labels].astype(np.uint8), kernel) > 0) & within


def _model_background(mask: np.ndarray, prob: np.ndarray, p: CutoutParams) -> np.ndarray:
    """(H, W) bool: the large regions of the (H, W) classical mask the model is sure are background (a cast
    shadow on the backdrop: section 18's unsolved case)."""
    return _big_regions(mask & (prob < p.background_below), mask & (prob < p.threshold), int(mask.sum()), p)


def _model_object(mask: np.ndarray, prob: np.ndarray, p: CutoutParams) -> np.ndarray:
    """(H, W) bool: the large regions outside the (H, W) classical mask the model is sure are object (a part
    close to the backdrop's colour the backdrop model lost: the treasure chest's left side)."""
    return _big_regions(~mask & (prob >= p.sure_object), ~mask & (prob >= p.threshold), int(mask.sum()), p)


def _model_mask(rgba: np.ndarray, prob: np.ndarray, seg: SegmentParams, p: CutoutParams
                ) -> tuple[np.ndarray, np.ndarray]:
    """(the cleaned mask, the refined mask before cleaning), both (H, W) bool."""
    h, w = rgba.shape[:2]
    refined = _refine(rgba, prob, p, seg.seed)
    mask = _clean(refined, seg, from_colour=True)
    area = int(mask.sum())
    if area < max(16, seg.min_object_fraction * h * w):
        raise NoObjectFound("no object found: the cut-out model sees nothing standing out in the picture; send a "
                            "photo of one object, or a PNG cut-out with transparency")
    if area > 0.97 * h * w:
        raise NoObjectFound("the object fills the whole image, leaving no background to separate it from; "
                            "send a picture with some space around the object")
    return mask, refined


def cut_out(rgba: np.ndarray, seg: SegmentParams = SegmentParams(), p: CutoutParams = CutoutParams()) -> Cutout:
    """(H, W, 4) uint8 picture -> the cut-out the pipeline uses, which one it was, and any warnings."""
    if seg.method != "auto" or not p.use_model:  # a method asked for by name: exactly that, no model
        s = segment(rgba, seg)
        return Cutout(s, s.method, {"used": s.method}, (), full_mask(s, rgba.shape[:2]))
    if rgba.ndim == 3 and rgba.shape[2] == 4 and rgba.dtype == np.uint8 and min(rgba.shape[:2]) >= 8 \
            and _alpha_mask(rgba, seg) is not None:
        s = segment(rgba, seg)  # the picture's own alpha: the user's cut-out wins
        return Cutout(s, s.method, {"used": s.method}, (), full_mask(s, rgba.shape[:2]))
    from reconstruct.learned import salient

    try:
        model = salient.load_model(p.model, salient.SalientParams(threshold=p.threshold, threads=p.threads))
    except FailedPrecondition as err:
        if p.model is not None:
            raise
        s = segment(rgba, seg)
        return Cutout(s, s.method, {"used": s.method, "model_missing": err.message},
                      (f"cut-out: classical ({s.method}) because {err.message}",), full_mask(s, rgba.shape[:2]))
    prob = salient.predict(rgba[..., :3], model).prob
    backdrop = _background_mask(rgba, seg) is not None
    removed, added, seen = 0, 0, None
    if backdrop and p.plain_backdrop == "classical":
        s = segment(rgba, dataclasses.replace(seg, method="background"))
        mask = full_mask(s, rgba.shape[:2])
        used = s.method
        drop = _model_background(mask, prob, p)
        add = _model_object(mask, prob, p) if p.add_model_object else np.zeros_like(mask)
        if drop.any() or add.any():  # a cast shadow kept, a part lost: the classical edges, corrected by the model
            kept = _clean((mask & ~drop) | add, seg, from_colour=True)
            if kept.sum() >= max(16, seg.min_object_fraction * mask.size):
                removed, added = int((mask & ~kept).sum()), int((kept & ~mask).sum())
                mask = kept
                s = crop_to_object(rgba, mask, "background", seg.margin_fraction)
    else:
        mask, seen = _model_mask(rgba, prob, seg, p)
        s = crop_to_object(rgba, mask, "model", seg.margin_fraction)
        used = model.model_id
    warnings = disagreements(mask, prob, p, used, model.model_id, seen)
    lineage = {"used": used, "plain_backdrop": backdrop, "model": model.lineage()}
    if removed:
        lineage["removed_px"] = removed  # what the model saw as background (a shadow) taken off the backdrop's mask
    if added:
        lineage["added_px"] = added  # what the model saw as object added to it
    return Cutout(s, used, lineage, tuple(warnings), mask)
