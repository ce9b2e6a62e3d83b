"""Datasets: layouts, the audio cache, training/validation datasets, augmentation and masking.

    from vocal_remover.data import AudioCache, build_cache, ensure_cache
    from vocal_remover.data import PretrainDataset, SupervisedDataset, ValidationCrops, EpochSampler

Names are imported lazily so that `vocal_remover.data.cache` (used by the CLI) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AudioCache": "cache", "TrackRecord": "cache", "CacheEvent": "cache", "CacheSummary": "cache",
    "build_cache": "cache", "ensure_cache": "cache", "is_cache": "cache",
    "detect_layout": "layouts", "discover": "layouts", "LAYOUTS": "layouts",
    "PretrainDataset": "datasets", "SupervisedDataset": "datasets", "ValidationCrops": "datasets",
    "crop_samples": "datasets",
    "AugmentConfig": "augment",
    "apply_token_masking": "masking", "sample_token_modes": "masking",
    "EpochSampler": "sampling", "item_rng": "sampling",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"vocal_remover.data.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'vocal_remover.data' has no attribute {name!r}")
