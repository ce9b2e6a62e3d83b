"""Channel layouts: every input is processed as stereo (`to_stereo`) and written back in the layout
`output_channels` gives it (`from_stereo`)."""

from __future__ import annotations

import math

import numpy as np

_MINUS_3DB = 1.0 / math.sqrt(2.0)  # -3 dB


def _downmix_matrix(channels: int) -> np.ndarray:
    """(channels, 2) gains for folding `channels` into stereo.

    Layouts assumed are the WAVE/SMPTE defaults for the count:
      3: FL FR FC; 4: FL FR BL BR; 5: FL FR FC BL BR; 6 (5.1): FL FR FC LFE BL BR;
      8 (7.1): FL FR FC LFE BL BR SL SR.
    ITU-R BS.775 style: centre into both sides at -3 dB, each surround into its side at
    -3 dB, LFE dropped. Other counts: channel 0 -> L, 1 -> R, every further channel into
    both sides at -3 dB. Each column is then divided by its sum of gains, so an output
    sample can never exceed the largest input sample (no new clipping, at the cost of
    level).
    """
    FL, FR, NONE = (1, 0), (0, 1), (0, 0)
    C, SURR_L, SURR_R = (_MINUS_3DB, _MINUS_3DB), (_MINUS_3DB, 0), (0, _MINUS_3DB)
    tables = {
        3: [FL, FR, C],
        4: [FL, FR, SURR_L, SURR_R],
        5: [FL, FR, C, SURR_L, SURR_R],
        6: [FL, FR, C, NONE, SURR_L, SURR_R],
        8: [FL, FR, C, NONE, SURR_L, SURR_R, SURR_L, SURR_R],
    }
    rows = tables.get(channels, [FL, FR] + [C] * (channels - 2))
    m = np.array(rows, dtype=np.float64)
    return (m / m.sum(axis=0, keepdims=True)).astype(np.float32)


def to_stereo(block: np.ndarray) -> np.ndarray:
    """(n, C) -> (n, 2) float32: mono duplicated, stereo as is, more channels downmixed
    (see `_downmix_matrix`)."""
    block = np.asarray(block, dtype=np.float32)
    if block.ndim != 2 or block.shape[1] < 1:
        raise ValueError(f"expected an (n, channels) block, got shape {block.shape}")
    c = block.shape[1]
    if c == 2:
        return block
    if c == 1:
        return np.repeat(block, 2, axis=1)
    return block @ _downmix_matrix(c)


def from_stereo(block: np.ndarray, channels: int) -> np.ndarray:
    """(n, 2) -> output channel count: 1 -> mean of L/R as (n, 1); 2 -> as is; >2 -> stereo
    (surround inputs are written as stereo)."""
    block = np.asarray(block, dtype=np.float32)
    if block.ndim != 2 or block.shape[1] != 2:
        raise ValueError(f"expected an (n, 2) block, got shape {block.shape}")
    if channels < 1:
        raise ValueError(f"invalid channel count {channels}")
    if channels == 1:
        return block.mean(axis=1, keepdims=True, dtype=np.float32)
    return block


def output_channels(input_channels: int) -> int:
    """Channel count an output gets for an input with `input_channels` (mono stays mono,
    everything else is written as stereo)."""
    return 1 if input_channels == 1 else 2


def as_block(block: np.ndarray, channels: int) -> np.ndarray:
    """`block` as float32 (n, channels) ((n,) accepted for mono); ValueError for any other shape."""
    block = np.asarray(block, dtype=np.float32)
    if block.ndim == 1 and channels == 1:
        block = block[:, None]
    if block.ndim != 2 or block.shape[1] != channels:
        raise ValueError(f"expected (n, {channels}) block, got shape {block.shape}")
    return block
