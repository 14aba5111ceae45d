"""`segment` backend: a promptable segmentation model (SAM through transformers) cuts the object out instead
of the classical colour/alpha/GrabCut cut-out, when the server has `--model segment=DIR`.

The box prompt is the classical cut-out's bounding box (with its margin) when that finds an object, else the
whole picture less a 2% border; the model's mask is kept inside the box, its largest part is the object.
torch is imported here only, inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from meshsmith.errors import NoObjectFound
from reconstruct.cameras import locate_crop
from reconstruct.segment import SegmentParams, Segmented, crop_to_object, segment

from .base import LearnedConfig, ModelInfo, device_lock, load as load_backend


@dataclass(frozen=True)
class LearnedCut:
    segmented: Segmented
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in picture pixels: the prompt
    info: ModelInfo


def load(model_dir: Path, device: str):
    """(processor, SamModel in eval mode on `device`) from a local Hugging Face directory, offline."""
    import transformers
    from transformers import AutoProcessor, SamModel

    transformers.utils.logging.disable_progress_bar()
    processor = AutoProcessor.from_pretrained(model_dir, local_files_only=True)
    model = SamModel.from_pretrained(model_dir, local_files_only=True).to(device).eval()
    return processor, model


def prompt_box(rgba: np.ndarray, params: SegmentParams) -> tuple[int, int, int, int]:
    """The classical cut-out's crop as (x0, y0, x1, y1), else the picture less a 2% border."""
    h, w = rgba.shape[:2]
    try:
        seg = segment(rgba, params)
    except NoObjectFound:
        b = max(1, int(0.02 * max(h, w)))
        return b, b, w - b, h - b
    y, x = locate_crop(rgba, seg)
    return x, y, x + seg.mask.shape[1], y + seg.mask.shape[0]


def segment_learned(rgba: np.ndarray, config: LearnedConfig, params: SegmentParams = SegmentParams(),
                    seed: int = 0) -> LearnedCut:
    """(H, W, 4) uint8 picture -> the object cut out by the configured model (loaded once per process)."""
    import torch
    from PIL import Image

    loaded = load_backend("segment", config)
    processor, model = loaded.model
    h, w = rgba.shape[:2]
    x0, y0, x1, y1 = box = prompt_box(rgba, params)
    with loaded.lock, device_lock(config, loaded.info.device), torch.inference_mode():
        torch.manual_seed(seed)
        inputs = processor(images=Image.fromarray(np.ascontiguousarray(rgba[..., :3])),
                           input_boxes=[[[float(x0), float(y0), float(x1), float(y1)]]], return_tensors="pt")
        out = model(**inputs.to(loaded.info.device), multimask_output=False)
        masks = processor.image_processor.post_process_masks(out.pred_masks.cpu(), inputs["original_sizes"].cpu(),
                                                             inputs["reshaped_input_sizes"].cpu())
    mask = np.zeros((h, w), bool)
    mask[y0:y1, x0:x1] = masks[0][0, 0].numpy().astype(bool)[y0:y1, x0:x1]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1 or stats[1:, cv2.CC_STAT_AREA].max() < max(16, params.min_object_fraction * h * w):
        raise NoObjectFound(f"the segmentation model {loaded.info.model_id} found no object in the picture; send a "
                            "picture with the object clearly in view, or start the server without --model segment")
    mask = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return LearnedCut(crop_to_object(rgba, mask, "model", params.margin_fraction), box, loaded.info)
