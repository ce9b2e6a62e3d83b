"""The seed's token masking for pretraining ("unmasking", BERT/HuBERT style).

Frames are grouped into tokens of `token_size` frames (all bins, both channels). Each token is selected
with probability `rate` (at least one per item); a selected token is set to 1 (80 %), noised (10 %) or left
unchanged (10 %). Setting bins to 1 lets the multiplicative mask be the reconstruction
(`pred = input * model(input)`); the loss is taken on selected tokens only.

The choice of tokens is made per item in the Dataset (cheap, deterministic from the item's seed) as a
`token_mode` vector; `apply_token_masking` applies it to magnitudes on the training device after the STFT.
"""

from __future__ import annotations

import numpy as np
import torch

UNSELECTED, SET_TO_ONE, NOISED, UNCHANGED = 0, 1, 2, 3


def sample_token_modes(rng, num_frames=None, token_size: int = 64, rate: float = 0.2,
                       split: tuple[float, float, float] = (0.8, 0.1, 0.1)):
    """Token modes for one item: 0 not selected, 1 set to 1, 2 noised, 3 selected but unchanged.

    Two calling conventions:
      sample_token_modes(np_rng, num_frames) -> (num_frames,) int64 ndarray (what the datasets use);
      sample_token_modes(num_frames, torch_generator_or_None) -> (num_frames,) int64 LongTensor (on the
      CPU; e.g. fixed masks for validation from a seeded torch.Generator).
    Tokens are consecutive runs of `token_size` frames (the last may be shorter). At least one token is
    selected (a random one when the draw selected none)."""
    if not isinstance(rng, np.random.Generator):  # (num_frames, torch generator) form
        frames, generator = int(rng), num_frames
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError("expected (numpy Generator, num_frames) or (num_frames, torch.Generator | None)")
        seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
        out = sample_token_modes(np.random.default_rng(seed), frames, token_size, rate, split)
        return torch.from_numpy(out)
    if num_frames is None or num_frames < 1 or token_size < 1 or not 0.0 <= rate <= 1.0:
        raise ValueError(f"bad masking setup: frames {num_frames}, token_size {token_size}, rate {rate}")
    tokens = -(-num_frames // token_size)
    selected = rng.random(tokens) < rate
    if not selected.any():
        selected[rng.integers(tokens)] = True
    u = rng.random(tokens)
    p1, p2, _ = split
    mode = np.where(u < p1, SET_TO_ONE, np.where(u < p1 + p2, NOISED, UNCHANGED))
    mode = np.where(selected, mode, UNSELECTED).astype(np.int64)
    return np.repeat(mode, token_size)[:num_frames]


def apply_token_masking(mag: torch.Tensor, token_mode: torch.Tensor, generator: torch.Generator | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mask magnitudes for pretraining.

    mag: (B, C, bins, W) in [0, 1] (e.g. `spec.network_input`); token_mode: (B, W) from the dataset.
    Returns (input, target, loss_mask):
      input: mode 1 -> 1.0; mode 2 -> clip(x + u, 0, 1) with u ~ U(0, 1) drawn per bin, channel and frame
             (the seed's "original plus uniform noise, clipped"); modes 0 and 3 -> x unchanged;
      target: `mag` itself (the clean magnitudes);
      loss_mask: (B, 1, 1, W) bool, True on selected frames (modes 1-3): the loss is taken only there.
    `generator` (on mag's device, or the CPU) makes the noise reproducible.
    """
    if mag.dim() != 4 or token_mode.shape != (mag.shape[0], mag.shape[3]):
        raise ValueError(f"expected mag (B, C, bins, W) and token_mode (B, W), got {tuple(mag.shape)} and "
                         f"{tuple(token_mode.shape)}")
    mode = token_mode.to(mag.device).view(mag.shape[0], 1, 1, mag.shape[3])
    gen_device = generator.device if generator is not None else mag.device
    noise = torch.rand(mag.shape, generator=generator, device=gen_device, dtype=torch.float32).to(mag.device, mag.dtype)
    inp = torch.where(mode == SET_TO_ONE, torch.ones((), dtype=mag.dtype, device=mag.device), mag)
    inp = torch.where(mode == NOISED, (mag + noise).clamp(0.0, 1.0), inp)
    return inp, mag, mode > UNSELECTED
