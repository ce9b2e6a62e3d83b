"""Learning-rate schedule: linear warmup, then polynomial decay to a floor.

    step < warmup:  lr = peak * (step + 1) / warmup
    otherwise:      lr = floor + (peak - floor) * (1 - (step - warmup) / (total - warmup)) ** power

The seed divided by the wrong span, so its LR stayed near the peak for a million steps; here
the decay reaches `floor` exactly at `total` and stays there.
"""

from __future__ import annotations


def lr_at(step: int, *, peak: float, floor: float, warmup: int, total: int, power: float = 1.0) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    return floor + (peak - floor) * (1.0 - progress) ** power


def lr_factor(step: int, *, peak: float, floor: float, warmup: int, total: int, power: float = 1.0) -> float:
    """The schedule as a multiplier of `peak` (for torch's LambdaLR, so per-group LRs keep their ratios)."""
    return lr_at(step, peak=peak, floor=floor, warmup=warmup, total=total, power=power) / peak
