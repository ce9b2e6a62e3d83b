"""Overlap-add of separated windows: a linear cross-fade between neighbours, normalised by the weight sum."""

from __future__ import annotations

import numpy as np


def crossfade_weight(length: int, ramp: int) -> np.ndarray:
    """Trapezoid: linear ramps of `ramp` samples at both ends, 1 in between (never exactly 0)."""
    w = np.ones(length, dtype=np.float64)
    if ramp > 0:
        up = (np.arange(ramp, dtype=np.float64) + 0.5) / ramp
        w[:ramp] = np.minimum(w[:ramp], up)
        w[length - ramp:] = np.minimum(w[length - ramp:], up[::-1])
    return w


class OverlapAdd:
    """Weighted overlap-add of segments at absolute sample positions, released once final."""

    def __init__(self, channels: int):
        self.start = 0
        self.acc = np.zeros((0, channels), dtype=np.float64)
        self.wsum = np.zeros(0, dtype=np.float64)

    def add(self, pos: int, segment: np.ndarray, weight: np.ndarray) -> None:
        if pos < self.start:  # a window that starts before what is still held: drop that part
            cut = self.start - pos
            segment, weight, pos = segment[cut:], weight[cut:], self.start
        end = pos + len(segment)
        grow = end - (self.start + len(self.acc))
        if grow > 0:
            self.acc = np.concatenate((self.acc, np.zeros((grow, self.acc.shape[1]))))
            self.wsum = np.concatenate((self.wsum, np.zeros(grow)))
        i = pos - self.start
        self.acc[i:i + len(segment)] += segment * weight[:, None]
        self.wsum[i:i + len(segment)] += weight

    def pop(self, until: int) -> np.ndarray:
        """Normalised samples [start, until) as float32; they are dropped from the buffer."""
        n = max(0, min(until - self.start, len(self.acc)))
        out = (self.acc[:n] / np.maximum(self.wsum[:n, None], 1e-12)).astype(np.float32)
        self.acc, self.wsum = self.acc[n:], self.wsum[n:]
        self.start += n
        return out
