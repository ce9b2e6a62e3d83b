"""Validation during training: the loss on fixed crops (fixed masks for pretraining) and, for
finetuning, the global SDR of vocals and instrumental on whole tracks separated by the real
Separator, for `--val-data` and every extra validation set; and the score that picks the best
checkpoint."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from vocal_remover.evaluate import global_sdr
from vocal_remover.model import ModelConfig
from vocal_remover.train.config import TrainConfig
from vocal_remover.train.objectives import Objective


def val_set_name(path: str) -> str:
    """A metric prefix for a validation set: its folder name in lower case, non-alphanumerics as '_'."""
    return re.sub(r"[^a-z0-9]+", "_", Path(path).name.lower()).strip("_") or "val"


class Validation:
    """The validation sets of a run (their caches must exist: rank 0 builds them before the others
    arrive here)."""

    def __init__(self, cfg: TrainConfig, model_config: ModelConfig, *, device: torch.device,
                 dtype: torch.dtype | None):
        from vocal_remover.data import AudioCache, ValidationCrops, ensure_cache

        assert cfg.val_data, "a run without --val-data has no validation"
        self.cfg, self.model_config, self.device, self.dtype = cfg, model_config, device, dtype
        self.cache = AudioCache.open(ensure_cache(Path(cfg.val_data), layout="auto"))
        # Extra validation sets: SDR only, keys prefixed with a name taken from the folder.
        self.extra = [(val_set_name(d), AudioCache.open(ensure_cache(Path(d), layout="auto")))
                      for d in cfg.extra_val_data]
        self.crops = ValidationCrops(self.cache, min(cfg.cropsizes), hop_length=model_config.hop_length)

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module, objective: Objective) -> dict[str, float]:
        """val_loss, and for finetuning {prefix}vocals_sdr / {prefix}instrumental_sdr of every set."""
        was_training = model.training
        model.eval()
        losses = []
        generator = torch.Generator().manual_seed(12345)  # the same masks every validation
        for i in range(len(self.crops)):
            item = self.crops[i]
            if self.cfg.mode == "pretrain":
                from vocal_remover.data.masking import sample_token_modes

                width = 1 + item["mix"].shape[-1] // self.model_config.hop_length
                modes = sample_token_modes(width, generator)
                batch = {"audio": item["mix"][None].to(self.device), "token_mode": modes[None]}
            else:
                batch = {k: v[None].to(self.device) for k, v in item.items()}
            losses.append(objective.validation_loss(model, batch, generator).item())
        metrics = {"val_loss": float(np.mean(losses))}
        if self.cfg.mode == "finetune":
            metrics.update(self._sdr(model))
        if was_training:
            model.train()
        return metrics

    def _sdr(self, model: torch.nn.Module) -> dict[str, float]:
        from vocal_remover.artifacts import LoadedModel
        from vocal_remover.separator import Separator

        loaded = LoadedModel(model=model, config=self.model_config, metadata={"trained": True})
        window = min(self.cfg.val_windows, self.model_config.max_cropsize)
        precision = {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype, "fp32")  # as trained
        # One pass (no channel swap): half the time, and figures comparable with earlier runs' logs.
        sep = Separator(loaded, device=str(self.device), precision=precision, engine="torch", window=window,
                        swap_channels=False, optimize_layout=False)
        metrics: dict[str, float] = {}
        for prefix, cache in [("", self.cache)] + [(f"{name}_", c) for name, c in self.extra]:
            vocals, inst = [], []
            for track in cache.tracks:
                n = track.num_samples
                out = sep.separate_array(cache.read(track.id, "mixture", 0, n))
                vocals.append(global_sdr(cache.read(track.id, "vocals", 0, n), out["vocals"]))
                inst.append(global_sdr(cache.read(track.id, "instrumental", 0, n), out["instrumental"]))
            metrics[f"{prefix}vocals_sdr"] = float(np.median(vocals))
            metrics[f"{prefix}instrumental_sdr"] = float(np.median(inst))
        return metrics

    def score(self, metrics: dict[str, float]) -> tuple[float, str]:
        """(score, what it is): higher is better. With SDR, the mean over validation sets of each set's
        (vocals + instrumental) / 2; otherwise the negated val_loss."""
        if "vocals_sdr" not in metrics:
            return -metrics["val_loss"], "neg_val_loss"
        prefixes = [""] + [f"{name}_" for name, _ in self.extra]
        score = float(np.mean([0.5 * (metrics[f"{p}vocals_sdr"] + metrics[f"{p}instrumental_sdr"])
                               for p in prefixes]))
        return score, "mean_sdr"
