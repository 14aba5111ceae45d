"""`caption` backend: a transformers image-to-text model -> a caption and tags stored on the version.

Any checkpoint `AutoModelForImageTextToText` + `AutoProcessor` read (BLIP, BLIP-2, GIT...). Greedy decoding,
so the caption is a function of picture, model and device. torch is imported here only, inside the functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .base import LearnedConfig, ModelInfo, device_lock, load as load_backend

MAX_NEW_TOKENS = 30
MIN_NEW_TOKENS = 3   # an empty caption finds nothing
MAX_TAGS = 16
STOPWORDS = frozenset("a an and are as at be by for from has in is it its of on or that the this to with there "
                      "arafed araffe".split())  # the last two: BLIP's well-known filler words


@dataclass(frozen=True)
class CaptionPrediction:
    text: str                 # lower case, at most 1000 characters
    tags: tuple[str, ...]     # distinct content words of the caption, in order, at most MAX_TAGS
    info: ModelInfo


def load(model_dir: Path, device: str):
    """(processor, model in eval mode on `device`) from a local Hugging Face directory, offline."""
    import transformers
    from transformers import AutoModelForImageTextToText, AutoProcessor

    transformers.utils.logging.disable_progress_bar()
    processor = AutoProcessor.from_pretrained(model_dir, local_files_only=True)
    model = AutoModelForImageTextToText.from_pretrained(model_dir, local_files_only=True).to(device).eval()
    return processor, model


def tags_of(text: str) -> tuple[str, ...]:
    words = re.findall(r"[a-z0-9][a-z0-9'-]*", text.lower())
    return tuple(dict.fromkeys(w[:64] for w in words if w not in STOPWORDS and len(w) > 1))[:MAX_TAGS]


def caption_image(rgb: np.ndarray, config: LearnedConfig, seed: int = 0) -> CaptionPrediction:
    """(H, W, 3) uint8 picture -> its caption from the configured model (loaded once per process)."""
    import torch
    from PIL import Image

    loaded = load_backend("caption", config)
    processor, model = loaded.model
    with loaded.lock, device_lock(config, loaded.info.device), torch.inference_mode():
        torch.manual_seed(seed)
        inputs = processor(images=Image.fromarray(np.ascontiguousarray(rgb[..., :3])), return_tensors="pt")
        out = model.generate(**inputs.to(loaded.info.device), max_new_tokens=MAX_NEW_TOKENS,
                             min_new_tokens=MIN_NEW_TOKENS, do_sample=False, num_beams=1)
    text = " ".join(processor.batch_decode(out, skip_special_tokens=True)[0].lower().split())[:1000]
    return CaptionPrediction(text, tags_of(text), loaded.info)
