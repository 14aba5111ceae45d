"""Tiny random-weight models built from configs (as transformers' own tests do), saved in the Hugging Face
layout: the real loading, pre- and post-processing code runs on them; only the numbers are random."""

from __future__ import annotations

from pathlib import Path


def tiny_depth_model(path: Path, seed: int = 0) -> Path:
    """A ~100 KB Depth Anything (Dinov2 backbone, 32 px input) + DPT image processor saved at `path`."""
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessor
    from transformers.utils import logging

    logging.disable_progress_bar()
    torch.manual_seed(seed)
    backbone = Dinov2Config(image_size=32, patch_size=16, hidden_size=8, num_hidden_layers=4, num_attention_heads=2,
                            intermediate_size=16, out_features=["stage1", "stage2", "stage3", "stage4"],
                            reshape_hidden_states=False)
    config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=8, patch_size=16,
                                 neck_hidden_sizes=[4, 4, 4, 4], fusion_hidden_size=8, head_hidden_size=4)
    DepthAnythingForDepthEstimation(config).save_pretrained(path)
    DPTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(path)
    return path
