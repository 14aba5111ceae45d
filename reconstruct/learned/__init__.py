"""Learned backends behind one interface (see base.py); torch is imported only by the backend modules.

    >>> from reconstruct.learned import BACKENDS, LearnedConfig, check_ready
    >>> cfg = LearnedConfig.build({"depth": "/models/depth-anything-v2-small"}, "auto")
    >>> from reconstruct.learned.depth import predict_depth   # (H, W, 3) uint8 -> DepthPrediction
"""

from .base import (AUTO, AUTO_PREFERENCE, BACKENDS, CLASSICAL, DEVICES, PRODUCTS, AutoChoice, Availability,
                   BackendSpec, LearnedConfig, ModelInfo, availability, check_ready, choose_auto, load, model_flag,
                   resolve_model_dir, spec, warm_keys, weights_digest)

__all__ = ["AUTO", "AUTO_PREFERENCE", "BACKENDS", "CLASSICAL", "DEVICES", "PRODUCTS", "AutoChoice", "Availability",
           "BackendSpec", "LearnedConfig", "ModelInfo", "availability", "check_ready", "choose_auto", "load",
           "model_flag", "resolve_model_dir", "spec", "warm_keys", "weights_digest"]
