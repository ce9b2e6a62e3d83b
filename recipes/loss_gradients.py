"""Where the loss's two terms pull a model: the mean gradient of the spectral L1 and of the SDR term over training
crops, their norms, their cosine, and how much of the SDR term's push the L1 takes back.

    python recipes/loss_gradients.py vocal_remover/models/default --data CACHE [--data CACHE ...] \
        [--data-weights 1,0.25] --crops 64 [--sdr-weight 1e-3 --sdr-floor 1e-2] [--json out.json]

The crops are real mixtures (no remixing, no augmentation), and the network runs as `--eval-mode` trains it (frozen
BatchNorm statistics, no dropout). Three figures summarise the pull between the terms:

- cosine of the two mean gradients: -1 when the model sits where they balance, 0 when they are unrelated;
- `l1_along_sdr`: the L1's mean gradient projected on the SDR term's, as a fraction of the SDR term's norm (-0.1: the
  L1 takes back a tenth of the SDR term's push, in plain gradient descent);
- `l1_overrides`: the share of the weights whose two mean gradients disagree in sign with the L1's the larger.
  AdamW moves each weight by about its learning rate in the sign of its gradient, so on these weights the L1 decides
  the direction of the update against the metric.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from vocal_remover.atomic import write_json_atomic
from vocal_remover.data.augment import AugmentConfig
from vocal_remover.data.cache.reader import AudioCache
from vocal_remover.data.datasets import SupervisedDataset
from vocal_remover.errors import VocalRemoverError
from vocal_remover.train.objectives import SupervisedObjective
from vocal_remover.train.source import resolve_source


def mean_gradients(model: torch.nn.Module, objectives: dict[str, SupervisedObjective], batches
                   ) -> dict[str, torch.Tensor]:
    """The mean over `batches` of each objective's gradient, flattened over the trainable weights (float64)."""
    params = [p for p in model.parameters() if p.requires_grad]
    sums = {name: torch.zeros(sum(p.numel() for p in params), dtype=torch.float64) for name in objectives}
    count = 0
    for batch in batches:
        for name, objective in objectives.items():
            loss, _ = objective(model, batch)
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            sums[name] += torch.cat([(g if g is not None else torch.zeros_like(p)).flatten().double()
                                     for g, p in zip(grads, params)])
        count += 1
    if not count:
        raise SystemExit("error: no batches")
    return {name: total / count for name, total in sums.items()}


def pull(l1: torch.Tensor, sdr: torch.Tensor) -> dict[str, float]:
    """Norms, cosine, projection and sign overrides of two mean gradients (see the module docstring)."""
    sdr_norm = sdr.norm()
    disagree = (l1.sign() * sdr.sign()) < 0
    return {"l1_norm": l1.norm().item(), "sdr_norm": sdr_norm.item(),
            "cosine": torch.nn.functional.cosine_similarity(l1, sdr, dim=0).item(),
            "l1_along_sdr": (l1 @ sdr / sdr_norm.square()).item(),
            "sum_norm": (l1 + sdr).norm().item(),
            "l1_overrides": (disagree & (l1.abs() > sdr.abs())).double().mean().item()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a model folder, run or checkpoint")
    parser.add_argument("--data", action="append", required=True, help="a training cache (repeat)")
    parser.add_argument("--data-weights", help="comma-separated draw weights, one per --data")
    parser.add_argument("--crops", type=int, default=64)
    parser.add_argument("--cropsize", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--sdr-weight", type=float, default=1e-3)
    parser.add_argument("--sdr-floor", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    try:
        weights = [float(w) for w in args.data_weights.split(",")] if args.data_weights else None
        model = resolve_source(args.source).load().model.eval()
        caches = [AudioCache.open(d) for d in args.data]
    except (ValueError, VocalRemoverError) as error:
        raise SystemExit(f"error: {error}") from None
    cfg = model.config
    data = SupervisedDataset(caches, args.cropsize, hop_length=cfg.hop_length, samples_per_epoch=args.crops,
                             seed=args.seed, voxaug=False, augment=AugmentConfig.none(), weights=weights)
    objectives = {"l1": SupervisedObjective(cfg, wave_weight=0.0),
                  "sdr": SupervisedObjective(cfg, wave_weight=0.0, spec_weight=0.0, sdr_weight=args.sdr_weight,
                                             sdr_floor=args.sdr_floor)}
    grads = mean_gradients(model, objectives, DataLoader(data, batch_size=args.batch_size, shuffle=False))
    figures = {"source": args.source, "crops": args.crops, "sdr_weight": args.sdr_weight,
               "sdr_floor": args.sdr_floor, **pull(grads["l1"], grads["sdr"])}
    print(json.dumps(figures, indent=1))
    if args.json:
        write_json_atomic(args.json, figures)


if __name__ == "__main__":
    main()
