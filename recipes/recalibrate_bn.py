"""Recompute a model's BatchNorm running statistics from training crops, with dropout off (as at separation).

    python recipes/recalibrate_bn.py vocal_remover/models/default --data CACHE [--data CACHE ...] \
        [--data-weights 1,0.25,0.035] [--pairs-only] --crops 512 -o runs/v11/bn

The crops are drawn as the source's last training run drew them (its voxaug and augmentation settings, from the
model's `training.train_config`), or as real mixtures only with --pairs-only.

The packaged model's statistics were never measured on its own weights: it is a mean of checkpoints (and of
earlier means), and a mean of running statistics is not the statistics of the mean of the weights (SWA recomputes
them for this reason). Each statistic was also gathered with dropout on, which widens the variance the
network sees in training compared with separation. Here the network runs forward only, in eval mode except for
its BatchNorm layers, which average the per-batch mean and variance over every batch (momentum None). Nothing
else changes: the weights are the source's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from vocal_remover.artifacts import save_model_folder
from vocal_remover.data.augment import AugmentConfig
from vocal_remover.data.cache.reader import AudioCache
from vocal_remover.data.datasets import SupervisedDataset
from vocal_remover.errors import VocalRemoverError
from vocal_remover.train.config import TrainConfig
from vocal_remover.train.objectives import audio_to_input
from vocal_remover.train.source import resolve_source


def batchnorms(model: torch.nn.Module) -> list[torch.nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recalibrate(model: torch.nn.Module, batches) -> int:
    """Replace every BatchNorm's running mean and variance by their average over `batches` of (B, C, S) audio
    mixtures; returns the number of batches seen."""
    norms = batchnorms(model)
    if not norms:
        raise SystemExit("error: the model has no BatchNorm layers (norm 'frame' needs no recalibration)")
    model.eval()
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
        m.train()
    seen = 0
    try:
        for mix in batches:
            _, x, _ = audio_to_input(mix, model.config)
            model(x)
            seen += 1
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.eval()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a model folder, run or checkpoint")
    parser.add_argument("--data", action="append", required=True, help="a training cache (repeat)")
    parser.add_argument("--data-weights", help="comma-separated draw weights, one per --data")
    parser.add_argument("--pairs-only", action="store_true", help="real mixtures only: no voxaug, no augmentation")
    parser.add_argument("--crops", type=int, default=512)
    parser.add_argument("--cropsize", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--out", required=True, type=Path)
    args = parser.parse_args()
    try:
        args.data_weights = [float(w) for w in args.data_weights.split(",")] if args.data_weights else None
    except ValueError:
        parser.error(f"--data-weights {args.data_weights}: expected comma-separated numbers")
    if args.data_weights and len(args.data_weights) != len(args.data):
        parser.error(f"--data-weights: give one weight per --data ({len(args.data)})")

    try:
        folder = recalibrated(args)
    except VocalRemoverError as error:
        raise SystemExit(f"error: {error}") from None
    print(folder)


def recalibrated(args: argparse.Namespace) -> Path:
    loaded = resolve_source(args.source).load()
    model = loaded.model
    caches = [AudioCache.open(d) for d in args.data]
    weights = args.data_weights
    if args.pairs_only:
        augment, voxaug = AugmentConfig.none(), False
    else:  # the source's own training settings (defaults where it has none)
        run = TrainConfig.from_dict({"mode": "finetune", "steps": 1, **loaded.training.get("train_config", {})})
        augment, voxaug = run.augment_config(), run.voxaug
    data = SupervisedDataset(caches, args.cropsize, hop_length=model.config.hop_length,
                             samples_per_epoch=args.crops, seed=args.seed, voxaug=voxaug, augment=augment,
                             weights=weights)
    loader = DataLoader(data, batch_size=args.batch_size, shuffle=False)
    seen = recalibrate(model, (batch["mix"] for batch in loader))
    training = {**{k: v for k, v in loaded.training.items()
                   if k in ("data", "steps", "command", "train_config", "package_version", "average_of", "source")},
                "batchnorm_recalibrated": {"batches": seen, "crops": args.crops, "cropsize": args.cropsize,
                                           "data": args.data, "data_weights": weights, "pairs_only": args.pairs_only,
                                           "command": "python recipes/recalibrate_bn.py " + " ".join(sys.argv[1:])}}
    return save_model_folder(model, args.out, trained=True, training=training, half=True, overwrite=True)


if __name__ == "__main__":
    main()
