"""The Cutout RPC's work, run in a worker process: the mask the Generate pipeline would use for a picture.

Same decision as server.pipeline.generate's segment stage: a SAM directory (`--model segment=DIR`) cuts it out,
else reconstruct.cutout.cut_out (the picture's alpha, the plain-backdrop model less what the salient model sees
as background, or the salient model: U²-Netp or `--model segment=FILE.onnx`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from reconstruct.cutout import cut_out, cutout_params, full_mask
from reconstruct.image import ImageLimits, decode_image
from reconstruct.learned import LearnedConfig
from reconstruct.learned.salient import is_onnx_model
from reconstruct.segment import SegmentParams


@dataclass(frozen=True)
class CutoutJob:
    image: bytes
    limits: ImageLimits = ImageLimits()
    segment: SegmentParams = SegmentParams()
    learned: LearnedConfig = LearnedConfig()


def mask_png(mask: np.ndarray) -> bytes:
    """(H, W) bool -> 8-bit greyscale PNG, 255 object."""
    buf = io.BytesIO()
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), "L").save(buf, "PNG", optimize=True)
    return buf.getvalue()


def cutout(job: CutoutJob, emit=None) -> dict:
    """-> {"mask_png", "used", "lineage", "warnings", "width", "height", "object_pixels"}."""
    rgba = decode_image(job.image, job.limits)
    where = job.learned.model("segment")
    if where is not None and not is_onnx_model(where):  # the server's SAM model, as Generate uses it
        from reconstruct.learned.segment import segment_learned

        learned_cut = segment_learned(rgba, job.learned, job.segment)
        seg, lineage, warnings = learned_cut.segmented, {**learned_cut.info.lineage(), "box": list(learned_cut.box)}, ()
        mask, used = full_mask(seg, rgba.shape[:2]), seg.method
    else:
        chosen = cut_out(rgba, job.segment, cutout_params(job.learned))
        mask, used, lineage, warnings = chosen.mask, chosen.used, chosen.lineage, chosen.warnings
    return {"mask_png": mask_png(mask), "used": used, "lineage": lineage, "warnings": list(warnings),
            "width": int(mask.shape[1]), "height": int(mask.shape[0]), "object_pixels": int(mask.sum())}
