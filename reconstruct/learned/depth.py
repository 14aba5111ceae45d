"""`depth` backend: a transformers depth-estimation model -> a depth map for the RGB-D path.

Any checkpoint `AutoModelForDepthEstimation` reads works (Depth Anything V1/V2, DPT/MiDaS, ZoeDepth, Depth Pro,
GLPN). Relative models predict affine-invariant inverse depth (larger = nearer, unknown scale and offset); it is
flipped to larger = farther, reconstruct.rgbd's convention, and passed on as "affine": rgbd then takes the relief
from its prior, never from the offset chosen here (which would tie the shape to the background's depth).
Metric models (ZoeDepth, Depth Pro, GLPN, Depth Anything metric) predict metres and are passed on as "m".
torch is imported here only, inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meshsmith.errors import MeshsmithError

from .base import LearnedConfig, ModelInfo, device_lock, load as load_backend

METRIC_TYPES = ("zoedepth", "depth_pro", "glpn")


@dataclass(frozen=True)
class DepthPrediction:
    depth: np.ndarray  # (H, W) float64, the picture's size; > 0 and finite
    units: str         # "affine" (larger = farther, unknown scale and offset) or "m"
    info: ModelInfo


def load(model_dir: Path, device: str):
    """(image processor, model in eval mode on `device`) from a local Hugging Face directory, offline."""
    import transformers
    from transformers import AutoImageProcessor, AutoModelForDepthEstimation

    transformers.utils.logging.disable_progress_bar()
    processor = AutoImageProcessor.from_pretrained(model_dir, local_files_only=True)
    model = AutoModelForDepthEstimation.from_pretrained(model_dir, local_files_only=True).to(device).eval()
    return processor, model


def is_metric(config) -> bool:
    return config.model_type in METRIC_TYPES or getattr(config, "depth_estimation_type", "relative") == "metric"


def predict_depth(rgb: np.ndarray, config: LearnedConfig, seed: int = 0, backend: str = "depth") -> DepthPrediction:
    """(H, W, 3) uint8 picture -> its (H, W) depth from the configured model (loaded once per process)."""
    import torch
    from PIL import Image

    loaded = load_backend(backend, config)
    processor, model = loaded.model
    h, w = rgb.shape[:2]
    with loaded.lock, device_lock(config, loaded.info.device), torch.inference_mode():
        torch.manual_seed(seed)
        inputs = processor(images=Image.fromarray(np.ascontiguousarray(rgb[..., :3])), return_tensors="pt")
        outputs = model(**inputs.to(loaded.info.device))
        if hasattr(processor, "post_process_depth_estimation"):
            pred = processor.post_process_depth_estimation(outputs, target_sizes=[(h, w)])[0]["predicted_depth"]
        else:
            pred = torch.nn.functional.interpolate(outputs.predicted_depth[:, None], size=(h, w), mode="bilinear",
                                                   align_corners=False)[0, 0]
        raw = pred.float().cpu().numpy().astype(np.float64)
    if raw.shape != (h, w) or not np.isfinite(raw).all():
        raise MeshsmithError(f"the depth model {loaded.info.model_id} gave {'no finite' if raw.shape == (h, w) else 'a wrongly sized'} "
                             "depth map for this picture")
    if is_metric(model.config):
        return DepthPrediction(np.maximum(raw, 1e-6), "m", loaded.info)
    return DepthPrediction(flip_inverse_depth(raw), "affine", loaded.info)


def flip_inverse_depth(raw: np.ndarray) -> np.ndarray:
    """(H, W) inverse depth up to scale and offset (larger = nearer) -> (H, W) "affine" depth: larger = farther, > 0."""
    span = float(raw.max() - raw.min())
    return (raw.max() - raw) + (span if span > 0 else 1.0)
