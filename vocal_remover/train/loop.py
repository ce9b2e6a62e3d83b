"""One training loop for pretraining and finetuning.

Read top to bottom: set up (device, DDP, data, model, optimizer, schedule, objective), maybe resume,
then per optimizer step: pick the curriculum stage, run `accum` micro-batches (DDP syncs gradients
only on the last), skip the step on every rank if any loss is not finite, clip, step, let the
objective take its turn (the adversarial one trains its discriminator), log, stop once the gradient
has been exactly 0 for COLLAPSE_STEPS steps (the network can no longer learn); validate and checkpoint
every N steps (rank 0 writes). A checkpoint holds everything that decides the future (weights,
optimizer, schedule, scaler, RNG states, the objective's own state, epoch and position in it), so a
run resumed from it ends with the same weights as one that never stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from vocal_remover.device import resolve_device, resolve_precision
from vocal_remover.errors import ConfigError, TrainingError
from vocal_remover.model import ModelConfig, build_model, count_parameters
from vocal_remover.train import distributed
from vocal_remover.train.adversarial import AdversarialObjective
from vocal_remover.train.checkpoint import load_checkpoint, save_checkpoint
from vocal_remover.train.config import TrainConfig
from vocal_remover.train.objectives import Objective, PretrainObjective, SupervisedObjective
from vocal_remover.train.run_log import RunLog, require_run_dir
from vocal_remover.train.schedule import lr_at, lr_factor
from vocal_remover.train.strategies import param_groups
from vocal_remover.train.validation import Validation

CALIBRATION_STEPS = 20  # timed steps (after 5 warm-up ones) that fix the total of a --steps 0 run
CALIBRATION_RESERVE = 0.1  # of the time left, kept for validations and checkpoints (not in calibration steps)
REPLAN_RESERVE = 0.05  # re-planning at checkpoints: their step time includes them; kept for the final validation
# Optimizer steps in a row with a gradient of exactly 0 after which a run stops: the mask's logits have run beyond
# where the sigmoid's slope underflows, so no loss can move any weight again (session 32: lr 1e-3 on the default
# model did this within 200 steps, then spent 300 more without learning; a time-budgeted run would spend them all).
COLLAPSE_STEPS = 50


@dataclass
class TrainEvent:
    """What the loop reports: kind "start" | "step" | "plan" | "validation" | "checkpoint" | "interrupted" |
    "done"."""

    kind: str
    step: int
    total: int
    data: dict[str, Any]


Callback = Callable[[TrainEvent], None]


@dataclass
class StepResult:
    """An optimizer step taken: this rank's mean loss over its micro-batches, the gradient norm before
    clipping, and the objective's statistics (of the last micro-batch, and from its turn after the step)."""

    loss: float
    grad_norm: float
    stats: dict[str, float]


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


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
        self.dist = distributed.init_distributed(device)
        self.device = distributed.local_device(device, self.dist)
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
            # Static shapes (one per crop size): with dynamic shapes torch 2.13's inductor fails on the decoder's
            # resize ("Exponent must be non-negative"). On the CPU inductor's channels-last layout choice
            # crashes oneDNN's backward of the (k, 1) convolutions (a segfault), so it keeps the model's layout.
            options = {"layout_optimization": False} if self.device.type == "cpu" else None
            self.train_model = torch.compile(self.train_model, dynamic=False, options=options)
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_model = DistributedDataParallel(self.train_model, device_ids=ids)

        groups = param_groups(self.model, cfg.strategy if cfg.mode == "finetune" else "full", cfg.lr,
                              cfg.weight_decay, llrd_decay=cfg.llrd_decay, last_n=cfg.last_n)
        if cfg.decay_to_start:
            # AdamW decays towards zero; here each group's decay is taken out of it and applied towards a copy
            # of the starting weights after every step (_decay_to_start).
            for group in groups:
                group["decay_to_start"], group["weight_decay"] = group["weight_decay"], 0.0
            self.start_weights = {p: p.detach().clone() for group in groups for p in group["params"]}
        fused = self.device.type == "cuda"
        self.optimizer = torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=fused or None)
        # Until a time-budgeted run (steps 0) is calibrated, the total is unknown: the LR stays at its peak.
        # The scheduler reads this dict at every step; calibration fills in the total.
        schedule = dict(peak=cfg.lr, floor=cfg.lr_floor, warmup=cfg.warmup, total=cfg.steps or 10**9,
                        power=cfg.decay_power)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_factor(s, **schedule))
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)
        self.schedule = schedule
        # After the model: an adversarial objective initialises its discriminator from the same seeded RNG.
        self.objective = self._objective()
        self.mask_generator = torch.Generator(device="cpu").manual_seed(cfg.seed + 1000 * self.dist.rank)

        self._setup_data()
        self.step = 0
        self.epoch = 0
        self.consumed = 0  # items of this rank's shard of the current epoch already used
        self.skipped_steps = 0
        self.dead_steps = 0  # optimizer steps in a row whose gradient was exactly 0 (COLLAPSE_STEPS)
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
        from vocal_remover.data import AudioCache, EpochSampler, PretrainDataset, SupervisedDataset, ensure_cache

        cfg = self.cfg
        hop = self.model_config.hop_length
        # Rank 0 caches raw folders first; the other ranks then find the finished cache.
        val_sources = ([cfg.val_data] if cfg.val_data else []) + list(cfg.extra_val_data)
        if self.dist.is_main:
            for d in cfg.data:
                ensure_cache(Path(d), layout=cfg.layout)
            for d in val_sources:
                ensure_cache(Path(d), layout="auto")
        distributed.barrier(self.dist)
        caches = [AudioCache.open(ensure_cache(Path(d), layout=cfg.layout)) for d in cfg.data]
        self.fingerprint = ",".join(c.fingerprint for c in caches)
        self.content_fingerprint = ",".join(c.content_fingerprint for c in caches)
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
        self.validation = (Validation(cfg, self.model_config, device=self.device, dtype=self.dtype)
                           if cfg.val_data else None)

    def _objective(self) -> Objective:
        cfg = self.cfg
        if cfg.mode == "pretrain":
            return PretrainObjective(self.model_config, self.dtype)
        supervised = SupervisedObjective(self.model_config, self.dtype, wave_weight=cfg.wave_weight,
                                         sdr_weight=cfg.sdr_weight, sdr_floor=cfg.sdr_floor,
                                         spec_weight=cfg.spec_weight)
        if cfg.adversarial:
            return AdversarialObjective(supervised, lambda_l1=cfg.adv_lambda_l1, lr=cfg.adv_lr, device=self.device)
        return supervised

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
        # Only the generators something draws from (dropout, masks' noise); Python's and numpy's are unused.
        rng = {"torch": torch.get_rng_state(), "mask": self.mask_generator.get_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "model_config": self.model_config.to_dict(),
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step, "epoch": self.epoch, "consumed": self.consumed,
            "skipped_steps": self.skipped_steps, "rng": rng,
            "train_config": self.cfg.to_dict(), "dataset_fingerprint": self.fingerprint,
            "dataset_content": self.content_fingerprint,
            "metrics": {"best_val": self.best} if self.best else {},
            "command": " ".join(["vocal-remover", *sys.argv[1:]]), "package_version": __version__,
            **self.objective.state_dict(),
        }

    def _resume(self) -> None:
        path = self.run_dir / "checkpoints" / "last.pt"
        if not path.is_file():
            raise ConfigError(f"--resume {self.run_dir}", "no checkpoints/last.pt to resume from (the run stopped "
                              "before its first checkpoint); start it again with --overwrite")
        state = load_checkpoint(path)
        if state.get("dataset_content") not in (None, self.content_fingerprint):
            raise ConfigError(f"--data {','.join(self.cfg.data)}", "is not the data this run trained on (its caches' "
                              "fingerprint differs); start a new run (another -o, --checkpoint to start from this one)")
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
        rng = state["rng"]  # older checkpoints also hold "python" and "numpy" states: nothing needs them
        torch.set_rng_state(rng["torch"])
        self.mask_generator.set_state(rng["mask"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        self.objective.load_state_dict(state)

    def _save(self, best: bool = False) -> None:
        if not self.dist.is_main:
            return
        require_run_dir(self.run_dir)
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

    # -- training ------------------------------------------------------------------------------

    def _next_micro_batches(self, stage: int) -> tuple[list[dict], float]:
        """The `accum` micro-batches of one optimizer step, on the device, and the seconds spent waiting
        for them (a statistic only: time.perf_counter, not the run's clock)."""
        micro, wait = [], 0.0
        for _ in range(self.cfg.accum[stage]):
            t_wait = time.perf_counter()
            batch = next(self._batches, None)
            if batch is None:  # epoch boundary
                self.epoch += 1
                self.consumed = 0
                self._batches = iter(self._loader(stage))
                batch = next(self._batches)
            self.consumed += self.cfg.batch_sizes[stage]
            wait += time.perf_counter() - t_wait
            micro.append({k: v.to(self.device, non_blocking=True) for k, v in batch.items()})
        return micro, wait

    def _optimizer_step(self, micro: list[dict]) -> StepResult | None:
        """Forward and backward over the micro-batches, then one optimizer step and the objective's turn.
        None, with no step taken, when a loss on any rank is not finite (every rank skips it)."""
        losses, stats = [], {}
        for i, batch in enumerate(micro):
            last = i == len(micro) - 1
            sync = contextlib.nullcontext() if last or not self.dist.enabled else self.train_model.no_sync()
            with sync:
                loss, stats = self.objective(self.train_model, batch, self.mask_generator)
            if distributed.any_true(not torch.isfinite(loss).item(), self.dist, self.device):
                self.optimizer.zero_grad(set_to_none=True)
                return None
            self.scaler.scale(loss / len(micro)).backward()
            losses.append(loss.item())
        self.scaler.unscale_(self.optimizer)
        trained = [p for p in self.model.parameters() if p.requires_grad]
        grad_norm = torch.nn.utils.clip_grad_norm_(trained, self.cfg.grad_clip).item()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.cfg.decay_to_start:
            self._decay_to_start()
        self.optimizer.zero_grad(set_to_none=True)
        return StepResult(float(np.mean(losses)), grad_norm, {**stats, **self.objective.after_step()})

    @torch.no_grad()
    def _decay_to_start(self) -> None:
        """Decoupled weight decay towards the starting weights: p -= lr * decay * (p - start), in place (lerp: no
        temporary the size of the model each step)."""
        for group in self.optimizer.param_groups:
            rate = group["lr"] * group["decay_to_start"]
            if rate:  # groups hold only the parameters that train (strategies leave frozen ones out)
                for p in group["params"]:
                    p.lerp_(self.start_weights[p], rate)

    def _write_run_config(self) -> None:
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.run_dir / "config.json", {
                "train": self.cfg.to_dict(), "package_version": __version__, "git_commit": _git_commit(),
                "dataset_fingerprint": self.fingerprint, "world_size": self.dist.world_size,
                "parameters": count_parameters(self.model)}, indent=2)

    def _steps_that_fit(self, seconds_per_step: float, elapsed: float, reserve: float) -> tuple[int, float]:
        """(total steps, seconds per step) that fit a time-budgeted run's budget at the measured step time,
        keeping `reserve` of the time left for what that step time does not include. Both are means over
        ranks, so every rank picks the same total."""
        per_step = distributed.all_mean(seconds_per_step, self.dist, self.device)
        left = 60 * self.cfg.max_minutes - distributed.all_mean(elapsed, self.dist, self.device)
        return max(self.step, self.step + int((1 - reserve) * left / per_step)), per_step

    def _plan_steps(self, steps: int, per_step: float) -> TrainConfig:
        """Give the run `steps` in total (the LR schedule decays to its floor there); config.json and the
        checkpoints keep it from now on, so a resume is exact."""
        self.cfg = dataclasses.replace(self.cfg, steps=steps, warmup=min(self.cfg.warmup, steps - 1))
        self.schedule.update(total=self.cfg.steps, warmup=self.cfg.warmup)
        self._write_run_config()
        record = {"kind": "plan", "step": self.step, "steps": self.cfg.steps, "seconds_per_step": per_step}
        self.log.write(record)
        self.callback(TrainEvent("plan", self.step, self.cfg.steps, record))
        return self.cfg

    def _replan(self, mark: tuple[int, float], now: float, elapsed: float) -> tuple[TrainConfig, tuple[int, float]]:
        """Re-plan a time-budgeted run at a checkpoint from the step time since the last plan (`mark`: its
        step and clock) when that moves the total by more than 1%. The 20 calibration steps can be slower or
        faster than the rest (another job on the machine starting or ending: a session-5 run planned 559
        steps for 55 minutes and ended after 36). Validations and checkpoints are inside this step time, so
        only the final validation's share is kept back. The LR factor jumps by about the relative change of
        the total, which is small after the first re-plan. Done just before a checkpoint is saved, so last.pt
        and config.json agree on the total."""
        per_step = (now - mark[1]) / max(1, self.step - mark[0])
        steps, per_step = self._steps_that_fit(per_step, elapsed, REPLAN_RESERVE)
        if abs(steps - self.cfg.steps) <= max(1, self.cfg.steps // 100):
            return self.cfg, mark  # keep measuring over the longer span
        return self._plan_steps(steps, per_step), (self.step, now)

    def _log_step(self, result: StepResult, stage: int, wait: float, step_time: float, seconds_per_step: float
                  ) -> None:
        cfg = self.cfg
        frames = cfg.cropsizes[stage] * cfg.batch_sizes[stage] * cfg.accum[stage] * self.dist.world_size
        record = {"kind": "train", "step": self.step,
                  "loss": distributed.all_mean(result.loss, self.dist, self.device),
                  "lr": lr_at(self.step - 1, **self.schedule), "grad_norm": result.grad_norm,
                  "step_seconds": step_time, "data_wait_fraction": wait / max(step_time, 1e-9),
                  "frames_per_second": frames / max(step_time, 1e-9), "cropsize": cfg.cropsizes[stage],
                  "epoch": self.epoch, **{k: v for k, v in result.stats.items() if isinstance(v, float)}}
        if self.device.type == "cuda":
            record["gpu_peak_gib"] = torch.cuda.max_memory_allocated(self.device) / 2**30
        if cfg.steps:
            record["eta_seconds"] = seconds_per_step * (cfg.steps - self.step)
        self.log.write(record)
        self.callback(TrainEvent("step", self.step, cfg.steps, record))

    def _collapsed(self) -> None:
        """Stop a run whose gradient has been exactly 0 for COLLAPSE_STEPS steps. Its weights are not saved (they
        cannot learn again); the checkpoints from before the collapse stay."""
        first = self.step - self.dead_steps + 1
        self.log.write({"kind": "collapsed", "step": self.step, "since_step": first})
        self.log.close()
        earlier = f", from the start or from a checkpoint saved before step {first}" if first > 1 else ""
        raise TrainingError(f"--run-dir {self.run_dir}",
                            f"the gradient has been exactly 0 since step {first}: the network's mask has saturated "
                            f"and it cannot learn again; start again with a lower --lr (this run's peak: "
                            f"{self.cfg.lr:g}){earlier}")

    def _is_better(self, metrics: dict[str, float]) -> bool:
        assert self.validation is not None
        score, key = self.validation.score(metrics)
        if self.best is None or score > self.best["score"]:
            self.best = {"score": score, "by": key, "step": self.step, **metrics}
            return True
        return False

    def run(self) -> dict[str, Any]:
        """Train to the end (or the time budget). Ctrl-C / SIGTERM: the step in progress is finished and
        saved, then KeyboardInterrupt (Terminated) is raised; a second signal stops at once."""
        from vocal_remover.interrupts import deferred_stop

        with deferred_stop(self.on_signal) as stop:
            return self._run(stop)

    def _run(self, stop) -> dict[str, Any]:
        cfg = self.cfg
        self._write_run_config()
        self.log = RunLog(self.run_dir, cfg, writes=self.dist.is_main)
        self.callback(TrainEvent("start", self.step, cfg.steps, {"parameters": count_parameters(self.model),
                                                                 "device": str(self.device),
                                                                 "world_size": self.dist.world_size}))
        # --eval-mode: gradients flow as usual, but BatchNorm and dropout behave as at separation.
        self.train_model.train(not cfg.eval_mode)
        stage = cfg.stage_at(self.step)
        self._batches = iter(self._loader(stage))
        started = last_end = self.clock()
        first_step = self.step
        last_metrics: dict[str, float] = {}
        out_of_time = False
        timed: list[float] = []  # step times for calibrating a time-budgeted run
        plan_mark: tuple[int, float] | None = None  # (step, clock) of the last plan of this invocation's budget
        while (self.step < cfg.steps or not cfg.steps) and not out_of_time:
            if cfg.stage_at(self.step) != stage:  # curriculum: next crop size / batch
                stage = cfg.stage_at(self.step)
                self._batches = iter(self._loader(stage))
            micro, wait = self._next_micro_batches(stage)
            result = self._optimizer_step(micro)
            if result is None:  # a non-finite loss on some rank: the step is dropped everywhere, and counted
                self.skipped_steps += 1
                self.log.write({"kind": "skip", "step": self.step, "skipped_steps": self.skipped_steps})
            self.scheduler.step()
            self.step += 1
            # The run's clock is read once per step, and a step's time is from the end of the one before:
            # logging and checkpoints count too.
            now = self.clock()
            step_time, last_end = now - last_end, now
            if not cfg.steps:
                if self.step > 5:  # the first steps carry one-off costs (allocator, kernels, caches)
                    timed.append(step_time)
                if len(timed) == CALIBRATION_STEPS:
                    cfg = self._plan_steps(*self._steps_that_fit(float(np.mean(timed)), now - started,
                                                                 CALIBRATION_RESERVE))
                    plan_mark = (self.step, now)
            elif plan_mark is not None and self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
                cfg, plan_mark = self._replan(plan_mark, now, now - started)
            if result is not None and (self.step % cfg.log_every == 0 or self.step == cfg.steps):
                self._log_step(result, stage, wait, step_time, (now - started) / max(1, self.step - first_step))
            if result is not None:
                self.dead_steps = self.dead_steps + 1 if result.grad_norm == 0.0 else 0
                if distributed.any_true(self.dead_steps >= COLLAPSE_STEPS, self.dist, self.device):
                    self._collapsed()
            if cfg.max_minutes:  # every rank must agree to stop at the same step
                out_of_time = distributed.any_true(now - started > 60 * cfg.max_minutes, self.dist, self.device)
            if distributed.any_true(bool(stop), self.dist, self.device):  # Ctrl-C / SIGTERM on any rank
                self._save()
                self.callback(TrainEvent("interrupted", self.step, cfg.steps, {
                    "run_dir": str(self.run_dir), "checkpoint": str(self.run_dir / "checkpoints" / "last.pt")}))
                distributed.barrier(self.dist)
                self.log.close()
                raise stop.exception()
            final = self.step == cfg.steps or out_of_time
            is_best = False
            if self.validation is not None and cfg.val_every and (self.step % cfg.val_every == 0 or final):
                # Every rank validates (cheap, and keeps BatchNorm/DDP state in lockstep); rank 0 logs.
                last_metrics = self.validation(self.model, self.objective)
                is_best = self._is_better(last_metrics)
                record = {"kind": "validation", "step": self.step, **last_metrics, "best": is_best}
                self.log.write(record)
                self.callback(TrainEvent("validation", self.step, cfg.steps, record))
            if self.step % cfg.checkpoint_every == 0 or final or is_best:
                self._save(best=is_best)
            distributed.barrier(self.dist)
        summary = {"steps": self.step, "skipped_steps": self.skipped_steps, "best": self.best,
                   "last_validation": last_metrics, "run_dir": str(self.run_dir), "out_of_time": out_of_time,
                   "wall_seconds": self.clock() - started}
        self.callback(TrainEvent("done", self.step, cfg.steps, summary))
        self.log.close()
        return summary
