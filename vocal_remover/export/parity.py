"""How an export is checked against PyTorch: music-like inputs, and the largest mask difference on them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from vocal_remover.errors import ModelError

if TYPE_CHECKING:
    import torch

    from vocal_remover.model.config import ModelConfig

PARITY_LIMIT = 1e-3  # an export differing more than this from PyTorch is refused
TRACED_SHAPE = (2, 64)  # (batch, frames) of the example input a network is traced with (frames capped)


def music_like_input(config: ModelConfig, batch: int, frames: int, seed: int = 0) -> torch.Tensor:
    """Music-like network input: sparse, non-negative, falling with frequency, peak 1 (mean ~0.01, as
    peak-normalised mixtures have). Dense noise (mean ~0.2) lies far outside what a trained model sees:
    its activations grow huge there, and float16 rounding then flips whole mask bins."""
    import torch

    rng = np.random.default_rng(seed)
    x = rng.random((batch, config.in_channels, config.num_bins, frames), dtype=np.float32) ** 8
    x *= (1.0 / (1.0 + np.arange(config.num_bins, dtype=np.float32) / 32.0))[:, None]
    x /= x.reshape(batch, -1).max(axis=1)[:, None, None, None]
    return torch.from_numpy(x)


def traced_input(config: ModelConfig) -> torch.Tensor:
    """The example input a network is traced with."""
    batch, frames = TRACED_SHAPE
    return music_like_input(config, batch, min(frames, config.max_cropsize))


def parity_inputs(config: ModelConfig) -> list[torch.Tensor]:
    """The inputs an export is checked on: batch sizes and frame counts other than the traced ones."""
    limit = config.max_cropsize
    shapes = ((1, min(37, limit)), (2, min(160, limit)))
    return [music_like_input(config, b, f, seed=i + 1) for i, (b, f) in enumerate(shapes)]


def max_mask_difference(reference: torch.nn.Module, candidate: Callable, inputs: list[torch.Tensor]) -> float:
    """Largest |mask difference| between a torch module and another callable over `inputs` (tensors)."""
    import torch

    worst = 0.0
    with torch.inference_mode():
        for x in inputs:
            expected = reference(x).float().numpy()
            got = candidate(x)
            got = got.float().numpy() if hasattr(got, "numpy") and not isinstance(got, np.ndarray) else np.asarray(got)
            if got.shape != expected.shape:
                raise ModelError("export", f"exported network returned shape {got.shape}, expected {expected.shape}")
            worst = max(worst, float(np.max(np.abs(got - expected))))
    return worst
