"""Signal analysis while building: the summed inputs of a role, the offset between a mixture and its
instrumental, and where a vocal stem is active."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CHUNK = 1 << 18  # samples per processing chunk (bounded memory for any track length)


class SummedInputs:
    """The sum of a role's decoded inputs (float32 (n, 2) memmaps, of possibly different lengths), read as
    `get(a, b)` with zero padding outside. `offset` shifts the timeline: position i here is sample
    i + offset of the inputs (how a `pairs` instrumental is aligned to its mixture)."""

    def __init__(self, parts: list[np.ndarray], offset: int = 0):
        self.parts = parts
        self.offset = offset
        self.length = max((len(part) for part in parts), default=0)

    def get(self, a: int, b: int) -> np.ndarray:
        out = np.zeros((b - a, 2), np.float32)
        a2, b2 = a + self.offset, b + self.offset
        for part in self.parts:
            lo, hi = max(a2, 0), min(b2, len(part))
            if hi > lo:
                out[lo - a2:hi - a2] += part[lo:hi]
        return out


def estimate_offset(mix: np.ndarray, inst: np.ndarray, max_lag: int) -> tuple[int, float]:
    """Offset d with mix[t] ~ inst[t + d] by FFT cross-correlation, and the normalised correlation there.

    mix: (L,) mono excerpt; inst: (L + 2 * max_lag,) mono excerpt starting max_lag samples earlier
    (zero-padded where the file has no audio). Returns (d in [-max_lag, max_lag], coefficient in [-1, 1]);
    the coefficient is 0 for a silent excerpt.
    """
    mix = np.asarray(mix, np.float64)
    inst = np.asarray(inst, np.float64)
    L = len(mix)
    if L == 0 or len(inst) != L + 2 * max_lag:
        raise ValueError("inst must be the mix excerpt's length + 2 * max_lag")
    n = 1 << int(np.ceil(np.log2(len(inst) + L)))
    corr = np.fft.irfft(np.fft.rfft(inst, n) * np.conj(np.fft.rfft(mix, n)), n)[: 2 * max_lag + 1]
    csum = np.concatenate(([0.0], np.cumsum(inst * inst)))
    energy = csum[L:L + 2 * max_lag + 1] - csum[: 2 * max_lag + 1]  # inst energy under each lag
    mix_energy = float(np.dot(mix, mix))
    if mix_energy <= 1e-12 or energy.max() <= 1e-12:
        return 0, 0.0
    valid = energy > 1e-3 * energy.max()
    coef = np.where(valid, corr / np.sqrt(mix_energy * np.maximum(energy, 1e-30)), -np.inf)
    k = int(np.argmax(coef))
    return k - max_lag, float(coef[k])


def activity_intervals(rms: np.ndarray, n: int, block: int, threshold_db: float, min_gap: int,
                       pad: int) -> list[list[int]]:
    """[start, end) sample intervals of activity from per-block RMS values: blocks above the threshold,
    widened by `pad` blocks, with gaps shorter than `min_gap` blocks filled."""
    active = rms > 10.0 ** (threshold_db / 20.0)
    if not active.any():
        return []
    if pad > 0:
        active = np.convolve(active.astype(np.int32), np.ones(2 * pad + 1, np.int32), mode="same") > 0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], active.astype(np.int8), [0]))))
    runs = edges.reshape(-1, 2).tolist()  # [start_block, end_block)
    merged = [runs[0]]
    for s, e in runs[1:]:
        if s - merged[-1][1] < min_gap:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    return [[s * block, min(e * block, n)] for s, e in merged if s * block < n]


def block_rms(get: Callable[[int, int], np.ndarray], n: int, block: int) -> np.ndarray:
    """RMS over both channels of each `block` samples of the first `n` that `get(a, b)` returns, read
    in bounded chunks (the last block is zero-padded)."""
    out = np.zeros((n + block - 1) // block, np.float64)
    step = (CHUNK // block) * block
    for a in range(0, n, step):
        x = get(a, min(a + step, n)).astype(np.float64)
        nb = (len(x) + block - 1) // block
        pad = np.zeros((nb * block - len(x), 2))
        sq = np.concatenate((x, pad)).reshape(nb, block, 2) ** 2
        out[a // block:a // block + nb] = np.sqrt(sq.mean(axis=(1, 2)))
    return out
