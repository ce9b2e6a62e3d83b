"""One training loop for pretraining and finetuning.

Read top to bottom: set up (device, DDP, data, model, optimizer, schedule), maybe resume, then per
optimizer step: pick the curriculum stage, run `accum` micro-batches (DDP syncs gradients only on
the last), skip the step on every rank if any loss is not finite, clip, step, log; validate and
checkpoint every N steps (rank 0 writes). A checkpoint holds everything that decides the future
(weights, optimizer, schedule, scaler, RNG states, epoch and position in it), so a run resumed
from it ends with the same weights as one that never stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import DataLoader

from vocal_remover import __version__
from vocal_remover.atomic import write_json_atomic
from vocal_remover.device import autocast, resolve_device, resolve_precision
from vocal_remover.errors import ConfigError
from vocal_remover.model import ModelConfig, build_model, count_parameters
from vocal_remover.train import distributed as D
from vocal_remover.train.checkpoint import load_checkpoint, save_checkpoint
from vocal_remover.train.config import TrainConfig
from vocal_remover.train.objectives import PretrainObjective, SupervisedObjective
from vocal_remover.evaluate import global_sdr
from vocal_remover.train.schedule import lr_at, lr_factor
from vocal_remover.train.strategies import param_groups

CALIBRATION_STEPS = 20  # timed steps (after 5 warm-up ones) that fix the total of a --steps 0 run


@dataclass
class TrainEvent:
    """What the loop reports: kind "start" | "step" | "plan" | "validation" | "checkpoint" | "interrupted" |
    "done"."""

    kind: str
    step: int
    total: int
    data: dict[str, Any]


Callback = Callable[[TrainEvent], None]


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def val_set_name(path: str) -> str:
    """A metric prefix for a validation set: its folder name in lower case, non-alphanumerics as '_'."""
    import re

    return re.sub(r"[^a-z0-9]+", "_", Path(path).name.lower()).strip("_") or "val"


# What a run writes into its folder; a new run refuses a folder holding any of them unless told to overwrite.
RUN_FILES = ("config.json", "metrics.jsonl", "checkpoints", "tensorboard", "wandb")


def existing_run_files(run_dir: str | Path) -> list[str]:
    return [name for name in RUN_FILES if (Path(run_dir) / name).exists()]


def clear_run_dir(run_dir: str | Path) -> None:
    """Remove what an earlier run wrote into `run_dir` (only the names in RUN_FILES)."""
    import shutil

    for name in existing_run_files(run_dir):
        path = Path(run_dir) / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()


class Trainer:
    """A training run. `clock` (seconds, monotonic) times steps and budgets: tests pass their own so that
    no result depends on how fast the machine is. `on_signal(signum)` is told at once when Ctrl-C or
    SIGTERM arrives during `run`; the run then finishes its step, saves a checkpoint and raises
    KeyboardInterrupt (`interrupts.Terminated` for SIGTERM)."""

    def __init__(self, cfg: TrainConfig, *, callback: Callback | None = None, resume: bool = False,
                 overwrite: bool = False, clock: Callable[[], float] = time.perf_counter,
                 on_signal: Callable[[int], None] | None = None):
        self.cfg = cfg
        self.callback = callback or (lambda event: None)
        self.clock = clock
        self.on_signal = on_signal
        device = resolve_device(cfg.device)
        self.dist = D.init_distributed(device)
        self.device = D.local_device(device, self.dist)
        self.dtype = resolve_precision(self.device, cfg.precision)
        self.run_dir = Path(cfg.run_dir)
        self.model_config = ModelConfig.from_dict(cfg.model)
        if not resume:
            # Before any rank writes (the first barrier is in _setup_data): all ranks see the same folder.
            found = existing_run_files(self.run_dir)
            if found and not overwrite:
                raise ConfigError(f"--run-dir {self.run_dir}", f"already holds a run ({', '.join(found)}); pass "
                                  "--resume to continue it or --overwrite to start over")
            if found and self.dist.is_main:
                clear_run_dir(self.run_dir)

        torch.manual_seed(cfg.seed)
        self.model = build_model(self.model_config)
        if cfg.init_from:
            self._load_initial_weights(cfg.init_from)
        if cfg.activation_checkpointing:
            self.model.gradient_checkpointing = True
        self.model.to(self.device)
        self.train_model: torch.nn.Module = self.model
        if cfg.compile:
            self.train_model = torch.compile(self.train_model)
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_model = DistributedDataParallel(self.train_model, device_ids=ids)

        groups = param_groups(self.model, cfg.strategy if cfg.mode == "finetune" else "full", cfg.lr,
                              cfg.weight_decay, llrd_decay=cfg.llrd_decay, last_n=cfg.last_n)
        fused = self.device.type == "cuda"
        self.optimizer = torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=fused or None)
        # Until a time-budgeted run (steps 0) is calibrated, the total is unknown: the LR stays at its peak.
        schedule = dict(peak=cfg.lr, floor=cfg.lr_floor, warmup=cfg.warmup, total=cfg.steps or 10**9,
                        power=cfg.decay_power)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_factor(s, **schedule))
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)
        self.schedule = schedule

        self.disc = None
        if cfg.adversarial:
            from vocal_remover.train.adversarial import PatchDiscriminator

            self.disc = PatchDiscriminator(in_channels=2 * self.model_config.in_channels).to(self.device)
            self.disc_optimizer = torch.optim.AdamW(self.disc.parameters(), lr=cfg.adv_lr, betas=(0.5, 0.999))
            self.disc_scaler = torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)

        if cfg.mode == "pretrain":
            self.objective: Any = PretrainObjective(self.model_config, self.dtype)
        else:
            self.objective = SupervisedObjective(self.model_config, self.dtype, wave_weight=cfg.wave_weight)
        self.mask_generator = torch.Generator(device="cpu").manual_seed(cfg.seed + 1000 * self.dist.rank)

        self._setup_data()
        self.step = 0
        self.epoch = 0
        self.consumed = 0  # items of this rank's shard of the current epoch already used
        self.skipped_steps = 0
        self.best: dict[str, Any] | None = None
        if resume:
            self._resume()

    # -- setup -------------------------------------------------------------------------------

    def _load_initial_weights(self, source: str) -> None:
        from vocal_remover.train.source import resolve_source
        from vocal_remover.errors import ModelError

        state = resolve_source(Path(source)).load().model.state_dict()
        try:
            self.model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelError(source, f"weights do not fit this model config: {str(exc).splitlines()[0]}") from None

    def _setup_data(self) -> None:
        from vocal_remover.data import AudioCache, EpochSampler, PretrainDataset, SupervisedDataset, ValidationCrops
        from vocal_remover.data import ensure_cache

        cfg = self.cfg
        hop = self.model_config.hop_length
        # Rank 0 caches raw folders first; the other ranks then find the finished cache.
        val_sources = ([cfg.val_data] if cfg.val_data else []) + list(cfg.extra_val_data)
        if self.dist.is_main:
            for d in cfg.data:
                ensure_cache(Path(d), layout=cfg.layout)
            for d in val_sources:
                ensure_cache(Path(d), layout="auto")
        D.barrier(self.dist)
        caches = [AudioCache.open(ensure_cache(Path(d), layout=cfg.layout)) for d in cfg.data]
        self.fingerprint = ",".join(c.fingerprint for c in caches)
        crop = cfg.cropsizes[cfg.stage_at(0)]
        weights = list(cfg.data_weights) or None
        if cfg.mode == "pretrain":
            self.dataset = PretrainDataset(caches, crop, hop_length=hop, samples_per_epoch=cfg.samples_per_epoch,
                                           seed=cfg.seed, weights=weights)
        else:
            self.dataset = SupervisedDataset(caches, crop, hop_length=hop, samples_per_epoch=cfg.samples_per_epoch,
                                             seed=cfg.seed, voxaug=cfg.voxaug, weights=weights,
                                             augment=cfg.augment_config())
        self.sampler = EpochSampler(len(self.dataset), seed=cfg.seed, rank=self.dist.rank,
                                    world_size=self.dist.world_size)
        self.val_cache = AudioCache.open(ensure_cache(Path(cfg.val_data), layout="auto")) if cfg.val_data else None
        # Extra validation sets: SDR only, keys prefixed with a name taken from the folder.
        self.extra_val = [(val_set_name(d), AudioCache.open(ensure_cache(Path(d), layout="auto")))
                          for d in cfg.extra_val_data] if cfg.val_data else []
        self.val_crops = (ValidationCrops(self.val_cache, min(cfg.cropsizes), hop_length=hop)
                          if self.val_cache is not None else None)

    def _loader(self, stage: int) -> DataLoader:
        cfg = self.cfg
        self.dataset.set_cropsize(cfg.cropsizes[stage])
        self.dataset.set_epoch(self.epoch)
        self.sampler.set_epoch(self.epoch, start_index=self.consumed)
        # Its own generator, so that creating the loader never draws from the global RNG (which
        # drives dropout): a resumed run must see the same random numbers as an uninterrupted one.
        return DataLoader(self.dataset, batch_size=cfg.batch_sizes[stage], sampler=self.sampler,
                          num_workers=cfg.workers, drop_last=True, pin_memory=self.device.type == "cuda",
                          generator=torch.Generator().manual_seed(0), persistent_workers=False)

    # -- checkpoints ---------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state(), "mask": self.mask_generator.get_state(),
               "python": list(random.getstate()[1]), "numpy": torch.from_numpy(np.random.get_state()[1].copy())}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        state = {
            "model_config": self.model_config.to_dict(),
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step, "epoch": self.epoch, "consumed": self.consumed,
            "skipped_steps": self.skipped_steps, "rng": rng,
            "train_config": self.cfg.to_dict(), "dataset_fingerprint": self.fingerprint,
            "metrics": {"best_val": self.best} if self.best else {},
            "command": " ".join(["vocal-remover", *sys.argv[1:]]), "package_version": __version__,
        }
        if self.disc is not None:
            state["discriminator"] = self.disc.state_dict()
            state["disc_optimizer"] = self.disc_optimizer.state_dict()
            state["disc_scaler"] = self.disc_scaler.state_dict()
        return state

    def _resume(self) -> None:
        path = self.run_dir / "checkpoints" / "last.pt"
        if not path.is_file():
            raise ConfigError(f"--resume {self.run_dir}", "no checkpoints/last.pt to resume from (the run stopped "
                              "before its first checkpoint); start it again with --overwrite")
        state = load_checkpoint(path)
        if self.cfg.steps and state["step"] > self.cfg.steps:
            raise ConfigError(f"--steps {self.cfg.steps}", f"the run has already done {state['step']} steps; "
                              "give more to continue it")
        self.model.load_state_dict(state["model"], strict=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.epoch, self.consumed = state["step"], state["epoch"], state["consumed"]
        self.skipped_steps = state.get("skipped_steps", 0)
        self.best = state.get("metrics", {}).get("best_val")
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        self.mask_generator.set_state(rng["mask"])
        random.setstate((3, tuple(rng["python"]), None))
        np_state = np.random.get_state()
        np.random.set_state((np_state[0], rng["numpy"].numpy(), 624, 0, 0.0))
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        if self.disc is not None and "discriminator" in state:
            self.disc.load_state_dict(state["discriminator"])
            self.disc_optimizer.load_state_dict(state["disc_optimizer"])
            self.disc_scaler.load_state_dict(state["disc_scaler"])

    def _save(self, best: bool = False) -> None:
        if not self.dist.is_main:
            return
        folder = self.run_dir / "checkpoints"
        state = self._state()
        path = save_checkpoint(state, folder / f"step-{self.step:08d}.pt")
        save_checkpoint(state, folder / "last.pt")
        if best:
            save_checkpoint(state, folder / "best.pt")
        steps = sorted(folder.glob("step-*.pt"))
        for old in steps[: max(0, len(steps) - self.cfg.keep_last)]:
            old.unlink(missing_ok=True)
        self.callback(TrainEvent("checkpoint", self.step, self.cfg.steps, {"path": str(path), "best": best}))

    def _log(self, record: dict[str, Any]) -> None:
        if not self.dist.is_main:
            return
        with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key not in ("step",):
                    self.tb.add_scalar(f"{record.get('kind', 'train')}/{key}", value, record["step"])
        if self.wandb is not None:
            self.wandb.log({k: v for k, v in record.items() if isinstance(v, (int, float))}, step=record["step"])

    # -- validation ----------------------------------------------------------------------------

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Loss on fixed crops (fixed masks for pretraining); for finetuning also global SDR of
        vocals and instrumental on whole validation tracks through the real Separator."""
        if self.val_crops is None:
            return {}
        model = self.model
        was_training = model.training
        model.eval()
        losses = []
        generator = torch.Generator().manual_seed(12345)  # the same masks every validation
        for i in range(len(self.val_crops)):
            item = self.val_crops[i]
            if self.cfg.mode == "pretrain":
                from vocal_remover.data.masking import sample_token_modes

                width = 1 + item["mix"].shape[-1] // self.model_config.hop_length
                modes = sample_token_modes(width, generator)
                batch = {"audio": item["mix"][None].to(self.device), "token_mode": modes[None]}
            else:
                batch = {k: v[None].to(self.device) for k, v in item.items()}
            loss, _ = self.objective(model, batch, generator)
            losses.append(loss.item())
        metrics = {"val_loss": float(np.mean(losses))}
        if self.cfg.mode == "finetune":
            metrics.update(self._validate_sdr())
        if was_training:
            model.train()
        return metrics

    def _validate_sdr(self) -> dict[str, float]:
        from vocal_remover.artifacts import LoadedModel
        from vocal_remover.separator import Separator

        loaded = LoadedModel(model=self.model, config=self.model_config, metadata={"trained": True})
        window = min(self.cfg.val_windows, self.model_config.max_cropsize)
        precision = {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype, "fp32")  # as trained
        sep = Separator(loaded, device=str(self.device), precision=precision, engine="torch", window=window,
                        optimize_layout=False)
        metrics: dict[str, float] = {}
        for prefix, cache in [("", self.val_cache)] + [(f"{name}_", c) for name, c in self.extra_val]:
            vocals, inst = [], []
            for track in cache.tracks:
                n = track.num_samples
                out = sep.separate_array(cache.read(track.id, "mixture", 0, n))
                vocals.append(global_sdr(cache.read(track.id, "vocals", 0, n), out["vocals"]))
                inst.append(global_sdr(cache.read(track.id, "instrumental", 0, n), out["instrumental"]))
            metrics[f"{prefix}vocals_sdr"] = float(np.median(vocals))
            metrics[f"{prefix}instrumental_sdr"] = float(np.median(inst))
        return metrics

    def _is_better(self, metrics: dict[str, float]) -> bool:
        if not metrics:
            return False
        if "vocals_sdr" in metrics:
            # The mean over validation sets of each set's (vocals + instrumental) / 2.
            prefixes = [""] + [f"{name}_" for name, _ in self.extra_val]
            score = float(np.mean([0.5 * (metrics[f"{p}vocals_sdr"] + metrics[f"{p}instrumental_sdr"])
                                   for p in prefixes]))
            key = "mean_sdr"
        else:
            score, key = -metrics["val_loss"], "neg_val_loss"
        if self.best is None or score > self.best["score"]:
            self.best = {"score": score, "by": key, "step": self.step, **metrics}
            return True
        return False

    # -- training ------------------------------------------------------------------------------

    def _micro_step(self, batch: dict, last: bool) -> tuple[torch.Tensor, dict]:
        sync = contextlib.nullcontext() if last or not self.dist.enabled else self.train_model.no_sync()
        with sync:
            if self.disc is None:
                return self.objective(self.train_model, batch, self.mask_generator)
            # Generator loss of pix2pix: lambda_l1 * L1 + BCE(D(x, mask * x) -> real).
            from vocal_remover.train.adversarial import generator_adversarial_loss
            from vocal_remover.train.objectives import magnitudes

            _, x, peak, mask = self.objective.predict(self.train_model, batch["mix"])
            _, inst_mag, _ = magnitudes(batch["instrumental"], self.model_config)
            y, fake = inst_mag / peak, mask * x
            l1 = torch.nn.functional.l1_loss(fake, y)
            g_adv = generator_adversarial_loss(self.disc, x, fake)
            self._gan_pair = (x.detach(), y.detach(), fake.detach())
            return self.cfg.adv_lambda_l1 * l1 + g_adv, {"spec_l1": l1.item(), "g_adv": g_adv.item()}

    def _discriminator_step(self) -> dict:
        """One discriminator update on the last micro-batch's (condition, real, fake) magnitudes."""
        from vocal_remover.train.adversarial import discriminator_loss

        x, y, fake = self._gan_pair
        self.disc_optimizer.zero_grad(set_to_none=True)  # drop grads the generator's BCE left here
        with autocast(self.device, self.dtype):
            d_loss = discriminator_loss(self.disc, x, y, fake)
        self.disc_scaler.scale(d_loss).backward()
        self.disc_scaler.unscale_(self.disc_optimizer)
        torch.nn.utils.clip_grad_norm_(self.disc.parameters(), 0.5)
        self.disc_scaler.step(self.disc_optimizer)
        self.disc_scaler.update()
        self.disc_optimizer.zero_grad(set_to_none=True)
        return {"d_loss": d_loss.item()}

    def _write_run_config(self) -> None:
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.run_dir / "config.json", {
                "train": self.cfg.to_dict(), "package_version": __version__, "git_commit": _git_commit(),
                "dataset_fingerprint": self.fingerprint, "world_size": self.dist.world_size,
                "parameters": count_parameters(self.model)}, indent=2)

    def _fit_steps_to_budget(self, step_seconds: list[float], elapsed: float) -> None:
        """Fix the total steps of a time-budgeted run from the measured step time (the mean over ranks,
        so every rank picks the same total); 10% of what is left is kept for validation and checkpoints."""
        per_step = D.all_mean(float(np.mean(step_seconds)), self.dist, self.device)
        left = 60 * self.cfg.max_minutes - elapsed
        self.cfg.steps = max(self.step + 1, self.step + int(0.9 * left / per_step))
        self.cfg.warmup = min(self.cfg.warmup, self.cfg.steps - 1)
        self.schedule.update(total=self.cfg.steps, warmup=self.cfg.warmup)
        self._write_run_config()
        record = {"kind": "plan", "step": self.step, "steps": self.cfg.steps, "seconds_per_step": per_step}
        self._log(record)
        self.callback(TrainEvent("plan", self.step, self.cfg.steps, record))

    def run(self) -> dict[str, Any]:
        """Train to the end (or the time budget). Ctrl-C / SIGTERM: the step in progress is finished and
        saved, then KeyboardInterrupt (Terminated) is raised; a second signal stops at once."""
        from vocal_remover.interrupts import deferred_stop

        with deferred_stop(self.on_signal) as stop:
            return self._run(stop)

    def _run(self, stop) -> dict[str, Any]:
        cfg = self.cfg
        self._write_run_config()
        self.tb = self.wandb = None
        if self.dist.is_main and cfg.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(self.run_dir / "tensorboard"))
        if self.dist.is_main and cfg.wandb:
            import wandb

            self.wandb = wandb.init(project="vocal-remover", dir=str(self.run_dir), config=cfg.to_dict(),
                                    mode=os.environ.get("WANDB_MODE", "offline"))
        self.callback(TrainEvent("start", self.step, cfg.steps, {"parameters": count_parameters(self.model),
                                                                 "device": str(self.device),
                                                                 "world_size": self.dist.world_size}))
        self.train_model.train()
        stage = cfg.stage_at(self.step)
        loader = self._loader(stage)
        batches = iter(loader)
        started = last_end = self.clock()
        first_step = self.step
        last_metrics: dict[str, float] = {}
        out_of_time = False
        timed: list[float] = []  # step times for calibrating a time-budgeted run
        while (self.step < cfg.steps or not cfg.steps) and not out_of_time:
            if cfg.stage_at(self.step) != stage:  # curriculum: next crop size / batch
                stage = cfg.stage_at(self.step)
                loader = self._loader(stage)
                batches = iter(loader)
            accum = cfg.accum[stage]
            # Data wait is a statistic only (time.perf_counter); the run's clock is read once per step, and
            # a step's time is from the end of the one before: logging and checkpoints count too.
            wait = 0.0
            losses, stats = [], {}
            skip = False
            micro = []
            for _ in range(accum):
                t_wait = time.perf_counter()
                batch = next(batches, None)
                if batch is None:  # epoch boundary
                    self.epoch += 1
                    self.consumed = 0
                    loader = self._loader(stage)
                    batches = iter(loader)
                    batch = next(batches)
                self.consumed += cfg.batch_sizes[stage]
                wait += time.perf_counter() - t_wait
                micro.append({k: v.to(self.device, non_blocking=True) for k, v in batch.items()})
            for i, batch in enumerate(micro):
                loss, stats = self._micro_step(batch, last=i == accum - 1)
                if D.any_true(not torch.isfinite(loss).item(), self.dist, self.device):
                    skip = True
                    break
                self.scaler.scale(loss / accum).backward()
                losses.append(loss.item())
            if skip:
                # A non-finite loss on any rank: drop this step everywhere, count it, move on.
                self.optimizer.zero_grad(set_to_none=True)
                self.skipped_steps += 1
                self._log({"kind": "skip", "step": self.step, "skipped_steps": self.skipped_steps})
            else:
                self.scaler.unscale_(self.optimizer)
                grad_norm = torch.nn.utils.clip_grad_norm_(
                    [p for p in self.model.parameters() if p.requires_grad], cfg.grad_clip).item()
                self.scaler.step(self.optimizer)
                self.scaler.update()
                self.optimizer.zero_grad(set_to_none=True)
                if self.disc is not None:
                    stats.update(self._discriminator_step())
            self.scheduler.step()
            self.step += 1
            now = self.clock()
            step_time, last_end = now - last_end, now
            if not cfg.steps:
                if self.step > 5:  # the first steps carry one-off costs (allocator, kernels, caches)
                    timed.append(step_time)
                if len(timed) == CALIBRATION_STEPS:
                    self._fit_steps_to_budget(timed, now - started)
            if not skip and (self.step % cfg.log_every == 0 or self.step == cfg.steps):
                loss_value = D.all_mean(float(np.mean(losses)), self.dist, self.device)
                frames = cfg.cropsizes[stage] * cfg.batch_sizes[stage] * accum * self.dist.world_size
                elapsed = now - started
                record = {"kind": "train", "step": self.step, "loss": loss_value,
                          "lr": lr_at(self.step - 1, **self.schedule), "grad_norm": grad_norm,
                          "step_seconds": step_time, "data_wait_fraction": wait / max(step_time, 1e-9),
                          "frames_per_second": frames / max(step_time, 1e-9), "cropsize": cfg.cropsizes[stage],
                          "epoch": self.epoch, **{k: v for k, v in stats.items() if isinstance(v, float)}}
                if self.device.type == "cuda":
                    record["gpu_peak_gib"] = torch.cuda.max_memory_allocated(self.device) / 2**30
                if cfg.steps:
                    record["eta_seconds"] = elapsed / max(1, self.step - first_step) * (cfg.steps - self.step)
                self._log(record)
                self.callback(TrainEvent("step", self.step, cfg.steps, record))
            if cfg.max_minutes:  # every rank must agree to stop at the same step
                out_of_time = D.any_true(now - started > 60 * cfg.max_minutes, self.dist, self.device)
            if D.any_true(bool(stop), self.dist, self.device):  # Ctrl-C / SIGTERM on any rank
                self._save()
                self.callback(TrainEvent("interrupted", self.step, cfg.steps, {
                    "run_dir": str(self.run_dir), "checkpoint": str(self.run_dir / "checkpoints" / "last.pt")}))
                D.barrier(self.dist)
                self._close_sinks()
                raise stop.exception()
            final = self.step == cfg.steps or out_of_time
            validate_now = cfg.val_every and (self.step % cfg.val_every == 0 or final)
            is_best = False
            if validate_now and self.val_crops is not None:
                # Every rank validates (cheap, and keeps BatchNorm/DDP state in lockstep); rank 0 logs.
                last_metrics = self.validate()
                is_best = self._is_better(last_metrics)
                record = {"kind": "validation", "step": self.step, **last_metrics, "best": is_best}
                self._log(record)
                self.callback(TrainEvent("validation", self.step, cfg.steps, record))
            if self.step % cfg.checkpoint_every == 0 or final or is_best:
                self._save(best=is_best)
            D.barrier(self.dist)
        summary = {"steps": self.step, "skipped_steps": self.skipped_steps, "best": self.best,
                   "last_validation": last_metrics, "run_dir": str(self.run_dir), "out_of_time": out_of_time,
                   "wall_seconds": self.clock() - started}
        self.callback(TrainEvent("done", self.step, cfg.steps, summary))
        self._close_sinks()
        return summary

    def _close_sinks(self) -> None:
        if self.tb is not None:
            self.tb.close()
        if self.wandb is not None:
            self.wandb.finish()
