"""Filters applied to a model's masks at separation time, scored side by side with `evaluate`'s metric.

    python recipes/mask_postfilters.py ../shared/data/musdb7/valid -m default --filters plain,wiener1,power2,boost1.2

What each filter does with the model's instrumental mask m (the vocal mask is 1 - m), on the mixture's STFT x:
  plain      m x, what `separate` does
  wienerK    K iterations of a multichannel Wiener filter: each source's power spectrogram and its 2 x 2 spatial
             covariance per frequency are estimated from the current estimates (m x and (1 - m) x), and the
             mixture is split by the resulting covariances (as in Nugraha et al. 2016 and open-unmix's norbert)
  powerP     both masks raised to the power P and renormalised to sum to 1 (P > 1 sharpens, P < 1 softens)
  boostG     the vocal mask scaled by G (clipped to 1): more of the mixture given to the vocals
Session 6 measured all of them below `plain` on the packaged model (recipes/README.md).
"""

from __future__ import annotations

import argparse

import torch

from vocal_remover import evaluate as ev
from vocal_remover.separator import Separator


def multichannel_wiener(x: torch.Tensor, mask: torch.Tensor, iterations: int, eps: float = 1e-10) -> torch.Tensor:
    """x: (B, 2, F, T) complex mixture; mask: (B, 2, F, T) instrumental mask -> the instrumental's STFT."""
    estimates = [mask * x, (1 - mask) * x]
    for _ in range(iterations):
        powers, covariances = [], []
        for y in estimates:
            power = (y.abs() ** 2).mean(dim=1)  # (B, F, T)
            # The source's spatial covariance per frequency, normalised by its power over time.
            cov = torch.einsum("bcft,bdft->bfcd", y, y.conj()) / (power.sum(-1)[..., None, None] + eps)
            powers.append(power)
            covariances.append(cov)
        # Each source's covariance per bin, (B, F, T, 2, 2), and the mixture's as their sum.
        source_covs = [p[..., None, None] * c[:, :, None] for p, c in zip(powers, covariances)]
        mix_cov = sum(source_covs) + eps * torch.eye(2, dtype=x.dtype)
        mix = x.permute(0, 2, 3, 1)[..., None]  # (B, F, T, 2, 1)
        whitened = torch.linalg.solve(mix_cov, mix)
        estimates = [(c @ whitened)[..., 0].permute(0, 3, 1, 2) for c in source_covs]
    return estimates[0]


class FilteredSeparator(Separator):
    def __init__(self, model: str, kind: str, amount: float, **kwargs):
        super().__init__(model, **kwargs)
        self.kind, self.amount = kind, amount

    def instrumental_spectrogram(self, spec: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.kind == "wiener":
            return multichannel_wiener(spec, mask, int(self.amount))
        if self.kind == "power":
            inst, vocal = mask ** self.amount, (1 - mask) ** self.amount
            return spec * inst / (inst + vocal + 1e-8)
        if self.kind == "boost":
            return spec * (1 - (self.amount * (1 - mask)).clamp(max=1))
        return super().instrumental_spectrogram(spec, mask)


def parse_filter(name: str) -> tuple[str, float]:
    for kind in ("plain", "wiener", "power", "boost"):
        if name.startswith(kind):
            return kind, float(name[len(kind):] or 1)
    raise SystemExit(f"error: unknown filter {name!r} (plain, wienerK, powerP, boostG)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a folder of tracks with vocals and accompaniment stems")
    parser.add_argument("-m", "--model", default="default")
    parser.add_argument("--filters", default="plain,wiener1,wiener2,power2,power0.5,boost1.2")
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args()
    candidates = [ev.separator_candidate(FilteredSeparator(args.model, *parse_filter(name), precision=args.precision,
                                                           engine="torch"), name)
                  for name in args.filters.split(",")]
    for report in ev.evaluate(args.data, candidates):
        stats = report.stats()
        print(f"{report.name:10s} vocals {stats['vocals']['median']:.2f} / {stats['vocals']['mean']:.2f}   "
              f"instrumental {stats['instrumental']['median']:.2f} / {stats['instrumental']['mean']:.2f}"
              "   (median / mean, dB)")


if __name__ == "__main__":
    main()
