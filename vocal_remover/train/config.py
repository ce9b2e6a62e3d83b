"""The resolved configuration of a training run (written to RUN/config.json)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from vocal_remover.errors import ConfigError

MODES = ("pretrain", "finetune")
STRATEGIES = ("full", "freeze-encoders", "llrd", "transformer-only", "last-n-decoders",
              "freeze-linear")
# What a resumed run may change (`TrainConfig.resumed_with`): none of these alters the optimisation done so far.
RESUMABLE = ("steps", "max_minutes", "val_every", "checkpoint_every", "keep_last", "log_every", "workers", "device",
             "tensorboard", "wandb")
# Where the data is may change on resume (a moved or copied dataset), not what it is: as many folders as the run had,
# and the training data must be the same (the trainer compares its fingerprint with the checkpoint's).
RELOCATABLE = ("data", "val_data", "extra_val_data")
# Fields whose command-line option has another name.
OPTION_NAMES = {"batch_sizes": "--batch-size", "compile": "--compile", "init_from": "--checkpoint",
                "model": "--preset/--model-config"}


def _normalised(name: str, value: Any, current: dict[str, Any]) -> Any:
    """A per-stage value given once stands for every stage (as in __post_init__)."""
    if name in ("batch_sizes", "accum") and isinstance(value, list) and len(value) == 1:
        return value * len(current.get("cropsizes") or [1])
    return value


def _folder_count(value: Any) -> int:
    return len(value) if isinstance(value, (list, tuple)) else int(value is not None)


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    return str(value)


# The PatchGAN discriminator halves the frames 4 times and then trims 3 with unstrided 4x4 convolutions.
ADVERSARIAL_MIN_FRAMES = 64


@dataclass
class TrainConfig:
    mode: str
    data: list[str]
    run_dir: str
    model: dict[str, Any]  # ModelConfig fields
    val_data: str | None = None
    # More validation sets, reported beside val_data (keys prefixed with the set's folder name); the best
    # checkpoint is chosen on the mean SDR over all sets.
    extra_val_data: list[str] = field(default_factory=list)
    init_from: str | None = None  # finetune: checkpoint or model folder the weights come from
    layout: str = "auto"
    data_weights: list[float] = field(default_factory=list)  # sampling weight per --data (default: equal per track)
    seed: int = 0
    steps: int = 1000
    max_minutes: float = 0.0  # wall-time budget of this invocation: stop, validate and save at it (0: none)
    # steps == 0 with max_minutes: after CALIBRATION_STEPS the total is fixed to what fits the budget (and
    # written to config.json), so the LR schedule decays to its floor in time and a resume is exact.
    # Crop-size curriculum: stage i trains on cropsizes[i] frames for stage_steps[i] steps (the last
    # stage runs to `steps`), with batch_sizes[i] crops per micro-batch and accum[i] micro-batches per
    # optimizer step (a single value applies to every stage).
    cropsizes: list[int] = field(default_factory=lambda: [256])
    stage_steps: list[int] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=lambda: [4])
    accum: list[int] = field(default_factory=lambda: [1])
    lr: float = 1e-4
    lr_floor: float = 1e-7
    warmup: int = 100
    decay_power: float = 1.0
    weight_decay: float = 1e-2
    # Finetuning: weight decay pulls towards the starting weights instead of towards zero (L2-SP, Li et al.
    # 2018), so what the new data does not ask for stays where the start had it.
    decay_to_start: bool = False
    beta1: float = 0.9
    beta2: float = 0.999
    grad_clip: float = 1.0
    device: str = "auto"
    precision: str = "auto"
    compile: bool = False
    activation_checkpointing: bool = False
    workers: int = 0
    samples_per_epoch: int = 2048
    val_every: int = 100
    checkpoint_every: int = 100
    keep_last: int = 3
    log_every: int = 1
    val_windows: int = 512  # separation window used by SDR validation
    # finetune
    strategy: str = "full"
    llrd_decay: float = 0.8
    last_n: int = 1
    # Finetune the network as separation runs it: BatchNorm normalises with (and keeps) its running
    # statistics and dropout is off, so the trained function is the shipped one (no train/test gap from
    # small-batch statistics or dropout's variance).
    eval_mode: bool = False
    # Waveform L1 beside the spectral one: global SDR is a waveform metric, and at equal steps this term
    # raised validation SDR where the spectral loss alone lowered it (recipes/README.md, session 4).
    wave_weight: float = 0.2
    # Each crop's negative SDR in dB beside them (train/objectives.py); its gradient is about 1,000x the L1's.
    sdr_weight: float = 0.0
    sdr_floor: float = 1e-4
    # The seed's spectral L1 (masked mixture magnitude against the instrumental's). 0 trains on the waveform
    # terms alone: beside the SDR term the L1's gradient points partly against it (recipes/README.md, session 24).
    spec_weight: float = 1.0
    voxaug: bool = True
    # Overrides of AugmentConfig fields (data/augment.py), e.g. {"vocal_pan_prob": 0.5}.
    augment: dict[str, Any] = field(default_factory=dict)
    adversarial: bool = False
    adv_lambda_l1: float = 100.0
    adv_lr: float = 1e-4
    # logging sinks
    tensorboard: bool = False
    wandb: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode '{self.mode}'", f"expected one of {', '.join(MODES)}")
        if min(self.wave_weight, self.sdr_weight, self.spec_weight) < 0 or not 0 < self.sdr_floor < 1:
            raise ConfigError("loss weights", "need --spec-weight, --wave-weight, --sdr-weight >= 0 and "
                                              "0 < --sdr-floor < 1")
        if self.spec_weight == self.wave_weight == self.sdr_weight == 0:
            raise ConfigError("loss weights", "--spec-weight, --wave-weight and --sdr-weight are all 0: nothing to train on")
        if self.decay_to_start and not self.init_from:
            raise ConfigError("--decay-to-start", "needs --checkpoint: the weights it decays towards")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"--strategy {self.strategy}", f"expected one of {', '.join(STRATEGIES)}")
        if self.steps < 0 or (self.steps == 0 and not self.max_minutes):
            raise ConfigError(f"--steps {self.steps}", "must be at least 1 (0, as many as fit, needs --max-minutes)")
        if self.data_weights and (len(self.data_weights) != len(self.data) or any(w < 0 for w in self.data_weights)
                                  or not any(w > 0 for w in self.data_weights)):
            raise ConfigError(f"--data-weights {self.data_weights}",
                              f"give one non-negative weight per --data ({len(self.data)}), not all zero")
        if self.max_minutes < 0:
            raise ConfigError(f"--max-minutes {self.max_minutes}", "must not be negative")
        n = len(self.cropsizes)
        if n < 1 or any(c < 8 for c in self.cropsizes):
            raise ConfigError(f"--cropsizes {self.cropsizes}", "need at least one crop size of 8 frames or more")
        if len(self.stage_steps) not in (n - 1, n):
            raise ConfigError(f"--stage-steps {self.stage_steps}",
                              f"give the steps of the first {n - 1} stage(s) of the {n} crop sizes")
        for name in ("batch_sizes", "accum"):
            values = getattr(self, name)
            if len(values) == 1:
                setattr(self, name, values * n)
            elif len(values) != n:
                raise ConfigError(f"--{name.replace('_', '-')} {values}", f"give one value or one per crop size ({n})")
            if any(v < 1 for v in getattr(self, name)):
                raise ConfigError(f"--{name.replace('_', '-')} {values}", "values must be at least 1")
        if self.adversarial and min(self.cropsizes) < ADVERSARIAL_MIN_FRAMES:
            raise ConfigError(f"--cropsizes {self.cropsizes}",
                              f"--adversarial needs crop sizes of at least {ADVERSARIAL_MIN_FRAMES} frames")
        if self.warmup < 0 or self.lr <= 0 or self.lr_floor < 0 or self.lr_floor > self.lr:
            raise ConfigError("learning rate", "need lr > 0, 0 <= lr_floor <= lr and warmup >= 0")
        try:
            self.augment_config()
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"--augment {self.augment}", str(exc).replace("AugmentConfig.", "")) from None
        max_crop = self.model.get("max_cropsize")
        if max_crop and max(self.cropsizes) > max_crop:
            # Separation never uses windows above max_cropsize, and the relative positions beyond it all
            # share one clipped embedding: longer crops only cost time.
            raise ConfigError(f"--cropsizes {','.join(map(str, self.cropsizes))}",
                              f"above the model's max_cropsize {max_crop} (the longest window it separates "
                              "with); use crops of at most that")

    def warnings(self) -> list[str]:
        """Settings that run but cannot do what they are meant to (shown by the CLI before training)."""
        found = []
        if self.steps and self.warmup > self.steps:
            found.append(f"--warmup {self.warmup} is longer than the run (--steps {self.steps}): the learning "
                         f"rate never gets above {self.steps / self.warmup:.0%} of --lr; use a shorter --warmup")
        if self.eval_mode and not self.init_from:
            found.append("--eval-mode without --checkpoint: BatchNorm keeps its initial statistics (mean 0, "
                         "variance 1) for good; it is meant for finetuning a trained model")
        return found

    def resumed_with(self, changes: dict[str, Any]) -> "TrainConfig":
        """This (saved) configuration with the changes a resumed run may make: more steps, a new time
        budget, how often to validate, checkpoint and log, where to run. Any other field that differs
        raises ConfigError naming it: it would no longer be the same run."""
        current = self.to_dict()
        for name, value in changes.items():
            if name in RELOCATABLE:
                if _folder_count(value) != _folder_count(current.get(name)):
                    option = "--val-data" if name.endswith("val_data") else "--data"
                    raise ConfigError(f"{option} {_shown(value)}", "a resumed run takes new places for its own "
                                      f"folders only, in its order (it uses {_shown(current.get(name))})")
            elif name not in RESUMABLE and _normalised(name, value, current) != current.get(name):
                option = OPTION_NAMES.get(name, "--" + name.replace("_", "-"))
                raise ConfigError(f"{option} {_shown(value)}", f"cannot change when resuming (the run uses "
                                  f"{_shown(current.get(name))}); start a new run (another -o) to change it")
        return TrainConfig.from_dict({**current, **{k: v for k, v in changes.items()
                                                    if k in RESUMABLE or k in RELOCATABLE}})

    def augment_config(self):
        from vocal_remover.data.augment import AugmentConfig

        return AugmentConfig(**{k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in self.augment.items()})

    def stage_at(self, step: int) -> int:
        """Index of the curriculum stage that optimizer step `step` (0-based) belongs to."""
        edge = 0
        for i, length in enumerate(self.stage_steps[: len(self.cropsizes) - 1]):
            edge += length
            if step < edge:
                return i
        return len(self.cropsizes) - 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
