"""`vocal-remover pretrain` and `vocal-remover finetune`: options in, a Trainer run, live progress out."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.text import Text

from vocal_remover.cli.common import ProgressDisplay, ProgressMode, console, guarded, note, say


def _augment(text: str) -> dict:
    """`--augment vocal_pan_prob=0.5,instrumental_gain_db=-3:3` -> {"vocal_pan_prob": 0.5, ...}."""
    from vocal_remover.errors import ConfigError

    out: dict = {}
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = [float(v) for v in value.split(":")] if ":" in value else float(value)
        except ValueError:
            raise ConfigError(f"--augment {item!r}", "expected name=number or name=low:high") from None
    return out


def _numbers(text: str, name: str, kind: type = int) -> list:
    """Comma-separated numbers of an option (`--cropsizes 256,512`, `--data-weights 1,0.25`)."""
    from vocal_remover.errors import ConfigError

    try:
        return [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        what = "integers" if kind is int else "numbers"
        raise ConfigError(f"{name} {text!r}", f"expected comma-separated {what}") from None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return str(_dt.timedelta(seconds=round(seconds)))


class _Renderer(ProgressDisplay):
    """Progress of a run on stderr. bar: a rich step bar with loss, LR, throughput and ETA; plain: the
    same as a line every `status_every` seconds (and for the first and last step), for logs; json: one
    object per event with `stage`, `done` and `total` (steps) as `separate --progress json` has, plus the
    event's figures. Validations, the plan of a time-budgeted run and the end are lines in bar and plain."""

    def __init__(self, mode: ProgressMode, status_every: float = 30.0, clock=time.monotonic):
        self.mode = mode
        self.status_every = status_every
        self.clock = clock
        self.last_status: float | None = None
        self.planned = False  # a time-budgeted run has fixed its total (later plans are re-plans)
        self.task = None
        if mode is ProgressMode.bar:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[info]}", markup=False), TextColumn("ETA"),
                                     TimeRemainingColumn(), console=console)

    def __call__(self, event) -> None:
        if self.mode is ProgressMode.json:
            figures = {k: v for k, v in event.data.items() if not isinstance(v, dict) and k not in ("kind", "step")}
            sys.stderr.write(json.dumps({"stage": event.kind, "done": event.step, "total": event.total or None,
                                         **figures}) + "\n")
            sys.stderr.flush()
            return
        if self.mode is ProgressMode.none:
            return
        data = event.data
        if event.kind == "start":
            say(f"Training {data['parameters']:,} parameters on {data['device']}"
                f"{' x ' + str(data['world_size']) if data['world_size'] > 1 else ''}")
            if self.progress is not None:
                self.task = self.progress.add_task("train", total=event.total or None, completed=event.step,
                                                   info="")
        elif event.kind == "step":
            if self.progress is not None:
                info = (f"loss {data['loss']:.5f}  lr {data['lr']:.2e}  {data['frames_per_second']:.0f} frames/s  "
                        f"data {100 * data['data_wait_fraction']:.0f}%")
                self.progress.update(self.task, total=event.total or None, completed=event.step, info=info)
                return
            now = self.clock()
            due = self.last_status is None or now - self.last_status >= self.status_every
            if due or event.step == event.total:
                self.last_status = now
                total = f"/{event.total}" if event.total else ""
                say(f"step {event.step}{total}  loss {data['loss']:.5f}  lr {data['lr']:.2e}  "
                    f"{data['step_seconds']:.2f} s/step  ETA {_duration(data.get('eta_seconds'))}")
        elif event.kind == "plan":
            when = f" re-planned at step {event.step}" if self.planned else ""
            self.planned = True
            say(f"Time budget{when}: {event.total} steps in total ({data['seconds_per_step']:.2f} s per step "
                "measured)")
        elif event.kind == "validation":
            parts = [f"{k} {v:.3f}" for k, v in data.items() if isinstance(v, float)]
            text = Text(f"step {event.step}: " + ", ".join(parts))
            if data.get("best"):
                text.append("  best", style="green")
            console.print(text, soft_wrap=True)
        elif event.kind == "interrupted":
            say(f"Stopped at step {event.step}; saved {data['checkpoint']}. Continue with --resume -o "
                f"{data['run_dir']}")
        elif event.kind == "done":
            stopped = " (stopped at --max-minutes)" if data.get("out_of_time") else ""
            say(f"Done: {data['steps']} steps{stopped} in {data['wall_seconds']:.0f} s, "
                f"{data['skipped_steps']} skipped; run in {data['run_dir']}")


def _stopping_notice(signum: int) -> None:
    # Runs inside the signal handler: a raw write, no rich (its console may be mid-print).
    os.write(2, b"\nStopping after this step to save a checkpoint (again to quit without saving).\n")


# CLI parameters -> TrainConfig fields, for new runs and for the changes a resume asks for.
_SAME = ("layout", "seed", "steps", "lr", "lr_floor", "warmup", "decay_power", "weight_decay", "grad_clip", "device",
         "precision", "activation_checkpointing", "workers", "samples_per_epoch", "val_every", "checkpoint_every",
         "keep_last", "tensorboard", "wandb", "max_minutes", "strategy", "llrd_decay", "last_n", "wave_weight",
         "sdr_weight", "sdr_floor", "spec_weight", "eval_mode", "decay_to_start",
         "voxaug", "adversarial", "adv_lambda_l1")
_CLI_ONLY = ("run_dir", "resume", "overwrite", "progress", "quiet", "status_every")


def _config_fields(params: dict[str, Any]) -> dict[str, Any]:
    """TrainConfig fields for the CLI parameters in `params` (parsed and converted)."""
    convert = {
        "data": lambda v: ("data", [str(d) for d in v or []]),
        "val_data": lambda v: ("val_data", str(v[0]) if v else None),
        "cropsizes": lambda v: ("cropsizes", _numbers(v, "--cropsizes")),
        "stage_steps": lambda v: ("stage_steps", _numbers(v, "--stage-steps")),
        "batch_size": lambda v: ("batch_sizes", _numbers(v, "--batch-size")),
        "accum": lambda v: ("accum", _numbers(v, "--accum")),
        "data_weights": lambda v: ("data_weights", _numbers(v, "--data-weights", float)),
        "compile_model": lambda v: ("compile", v),
        "checkpoint": lambda v: ("init_from", str(v) if v else None),
    }
    fields = {}
    if "val_data" in params:  # the first --val-data is the main set, the others are reported beside it
        fields["extra_val_data"] = [str(v) for v in (params["val_data"] or [])[1:]]
    if "augment" in params:
        fields["augment"] = _augment(params["augment"] or "")
    for name, value in params.items():
        if name in convert:
            key, value = convert[name](value)
            fields[key] = value
        elif name in _SAME:
            fields[name] = value
    return fields


def _model(params: dict[str, Any]) -> dict[str, Any]:
    from vocal_remover.model import get_preset

    if params.get("model_config") is not None:
        model = json.loads(Path(params["model_config"]).read_text())
        return model.get("model", model)
    if params.get("checkpoint") is not None:
        return _config_of(params["checkpoint"])
    return get_preset(params["preset"]).to_dict()


def _resumed_config(ctx: typer.Context, params: dict[str, Any]):
    """The saved configuration of --run-dir with the options given on this command line applied
    (those a resume may change) or refused (the others, when they differ from the run's)."""
    from typer._click.core import ParameterSource

    from vocal_remover.errors import ConfigError
    from vocal_remover.train.config import TrainConfig

    run_dir = params["run_dir"]
    if run_dir is None:
        raise ConfigError("--resume", "needs --run-dir (-o) of the run to continue")
    if params["overwrite"]:
        raise ConfigError("--resume with --overwrite", "choose one: continue the run, or start it over")
    saved = Path(run_dir) / "config.json"
    if not saved.is_file():
        raise ConfigError(f"--run-dir {run_dir}", "has no config.json to resume")
    cfg = TrainConfig.from_dict(json.loads(saved.read_text())["train"])
    given = {name for name in params if name not in _CLI_ONLY
             and ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)}
    for name in ("preset", "model_config", "checkpoint"):
        if name in given:  # the weights and architecture are the run's last checkpoint
            option = {"preset": "--preset", "model_config": "--model-config", "checkpoint": "--checkpoint"}[name]
            raise ConfigError(option, "cannot be given with --resume: the run continues from its last checkpoint")
    changes = _config_fields({name: params[name] for name in given})
    changes["max_minutes"] = params["max_minutes"]  # a budget for this invocation, not the run's
    # The folder named now is the run, wherever it was made: a copied or moved run continues in place.
    cfg = dataclasses.replace(cfg.resumed_with(changes), run_dir=str(run_dir))
    for option, folders in (("--data", cfg.data), ("--val-data", [cfg.val_data, *cfg.extra_val_data])):
        for folder in folders:
            if folder is not None and not Path(folder).exists():
                raise ConfigError(f"the run's {option} {folder}", f"is not there; if it moved, give the new places "
                                  f"with {option} (as many as the run has, in its order)")
    return cfg


def _run(ctx: typer.Context, mode: str, params: dict[str, Any]) -> None:
    from vocal_remover.device import resolve_device, training_precision_note
    from vocal_remover.errors import ConfigError
    from vocal_remover.train.config import TrainConfig
    from vocal_remover.train.loop import Trainer

    resume, quiet = params["resume"], params["quiet"]
    if resume:
        cfg = _resumed_config(ctx, params)
    else:
        if not params["data"]:
            raise ConfigError("--data", "give at least one dataset folder or cache")
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        fields = _config_fields(params)
        cfg = TrainConfig(mode=mode, run_dir=str(params["run_dir"] or Path("runs") / f"{mode}-{stamp}"),
                          model=_model(params), **fields)
    if not quiet:
        for warning in cfg.warnings():
            note(warning)
        # A hint, not a warning: kept out of JSON progress (read by programs) and off the other ranks.
        hint = training_precision_note(resolve_device(cfg.device), cfg.precision)
        if hint and params["progress"] is not ProgressMode.json and os.environ.get("RANK", "0") == "0":
            note(hint)
    progress = ProgressMode.none if quiet or os.environ.get("RANK", "0") != "0" else params["progress"]
    if progress is ProgressMode.auto:  # a log file gets plain lines, a terminal a live bar
        progress = ProgressMode.bar if console.is_terminal else ProgressMode.plain
    renderer = _Renderer(progress, status_every=params["status_every"])
    with renderer:
        trainer = Trainer(cfg, callback=renderer, resume=resume, overwrite=params["overwrite"],
                          on_signal=None if quiet else _stopping_notice)
        summary = trainer.run()
    from vocal_remover.train import distributed

    if trainer.dist.is_main:
        typer.echo(str(Path(summary["run_dir"])))
    distributed.shutdown(trainer.dist)


def _config_of(source: Path) -> dict:
    """The model config of a checkpoint, run directory or model folder."""
    from vocal_remover.train.source import resolve_source

    return resolve_source(Path(source)).model_config().to_dict()


# Options shared by both commands (`--resume` may change those marked so; the others are refused).
DATA = typer.Option(None, "--data", "-d", metavar="DIR", show_default=False,
                    help="Dataset folder or cache (repeatable).")
VAL_DATA = typer.Option(None, "--val-data", metavar="DIR", show_default=False,
                        help="Validation tracks (stems layout) or their cache; repeat it to report more sets "
                             "(the best checkpoint is chosen on their mean).")
LAYOUT = typer.Option("auto", "--layout", metavar="LAYOUT", help="auto, stems, pairs, pools or mixes.")
PRESET = typer.Option("small", "--preset", "-p", metavar="NAME", help="Model preset (see `models list`).")
MODEL_CONFIG = typer.Option(None, "--model-config", metavar="FILE", show_default=False,
                            help="JSON file of model config fields (overrides --preset).")
RUN_DIR = typer.Option(None, "--run-dir", "-o", metavar="DIR", show_default=False,
                       help="Run directory (default runs/<mode>-<time>).")
RESUME = typer.Option(False, "--resume", help="Continue the run in --run-dir where it stopped.")
OVERWRITE = typer.Option(False, "--overwrite",
                         help="Start over in a --run-dir that holds a run (its checkpoints and metrics are deleted).")
DATA_WEIGHTS = typer.Option("", "--data-weights", metavar="W,...",
                            help="Sampling weight per --data, e.g. 1,0.25 (default: per track).")
MAX_MINUTES = typer.Option(0.0, "--max-minutes", metavar="M",
                           help="Stop (validate, save) after M minutes; 0: no limit. Resume may change it.")
STEPS = typer.Option(1000, "--steps", metavar="N",
                     help="Optimizer steps in total (0: as many as fit --max-minutes). Resume may raise it.")
CROPSIZES = typer.Option("256", "--cropsizes", metavar="N,...",
                         help="Crop sizes in frames, one per curriculum stage (at most the model's max_cropsize).")
STAGE_STEPS = typer.Option("", "--stage-steps", metavar="N,...", help="Steps of each stage but the last.")
BATCH_SIZE = typer.Option("4", "--batch-size", "-b", metavar="N,...",
                          help="Crops per micro-batch (one value, or one per stage).")
ACCUM = typer.Option("1", "--accum", metavar="N,...",
                     help="Micro-batches per optimizer step (one value, or one per stage).")
LR = typer.Option(1e-4, "--lr", metavar="LR", help="Peak learning rate (AdamW).")
LR_FLOOR = typer.Option(1e-7, "--lr-floor", metavar="LR", help="Learning rate at the end of the decay.")
WARMUP = typer.Option(100, "--warmup", metavar="N", help="Linear warmup steps.")
DECAY_POWER = typer.Option(1.0, "--decay-power", metavar="P", help="Polynomial decay power after warmup.")
WEIGHT_DECAY = typer.Option(1e-2, "--weight-decay", metavar="W", help="AdamW weight decay.")
GRAD_CLIP = typer.Option(1.0, "--grad-clip", metavar="NORM", help="Clip the gradient norm to this.")
DEVICE = typer.Option("auto", "--device", metavar="DEVICE",
                      help="auto, cpu, cuda, cuda:N or mps. Resume may change it.")
PRECISION = typer.Option("auto", "--precision", metavar="PRECISION",
                         help="auto (bf16/fp16 on GPUs, fp32 on the CPU), fp32, bf16 or fp16 (GPU only).")
COMPILE = typer.Option(False, "--compile", help="torch.compile the model.")
ACTIVATION_CHECKPOINTING = typer.Option(False, "--activation-checkpointing",
                                        help="Recompute primer modules in backward (saves memory).")
WORKERS = typer.Option(0, "--workers", metavar="N", help="DataLoader worker processes. Resume may change it.")
SAMPLES_PER_EPOCH = typer.Option(2048, "--samples-per-epoch", metavar="N", help="Crops drawn per epoch.")
VAL_EVERY = typer.Option(100, "--val-every", metavar="N",
                         help="Validate every N steps (0: never). Resume may change it.")
CHECKPOINT_EVERY = typer.Option(100, "--checkpoint-every", metavar="N",
                                help="Save a checkpoint every N steps (also at the end and on Ctrl-C). "
                                     "Resume may change it.")
KEEP_LAST = typer.Option(3, "--keep-last", metavar="K", help="Step checkpoints kept (plus last and best).")
SEED = typer.Option(0, "--seed", metavar="N", help="Seed of initialisation, data order and augmentation.")
TENSORBOARD = typer.Option(False, "--tensorboard", help="Also log to RUN/tensorboard (needs tensorboard).")
WANDB = typer.Option(False, "--wandb", help="Also log to wandb (offline unless WANDB_MODE is set).")
PROGRESS = typer.Option(ProgressMode.auto, "--progress",
                        help="auto (a bar on a terminal, else plain), bar, plain (a status line every "
                             "--status-every seconds), json (one object per event on stderr) or none.")
STATUS_EVERY = typer.Option(30.0, "--status-every", metavar="SECONDS",
                            help="Seconds between plain status lines.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress and no notes; errors only.")


@guarded
def pretrain(
    ctx: typer.Context,
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", "-c", metavar="SOURCE", show_default=False,
                                              help="Checkpoint, run directory or model folder to continue "
                                                   "from (else --preset from scratch)."),
    data: Optional[List[Path]] = DATA, val_data: Optional[List[Path]] = VAL_DATA, layout: str = LAYOUT,
    preset: str = PRESET, model_config: Optional[Path] = MODEL_CONFIG, run_dir: Optional[Path] = RUN_DIR,
    resume: bool = RESUME, overwrite: bool = OVERWRITE, data_weights: str = DATA_WEIGHTS,
    max_minutes: float = MAX_MINUTES, steps: int = STEPS, cropsizes: str = CROPSIZES, stage_steps: str = STAGE_STEPS,
    batch_size: str = BATCH_SIZE, accum: str = ACCUM, lr: float = LR, lr_floor: float = LR_FLOOR,
    warmup: int = WARMUP, decay_power: float = DECAY_POWER, weight_decay: float = WEIGHT_DECAY,
    grad_clip: float = GRAD_CLIP, device: str = DEVICE, precision: str = PRECISION, compile_model: bool = COMPILE,
    activation_checkpointing: bool = ACTIVATION_CHECKPOINTING, workers: int = WORKERS,
    samples_per_epoch: int = SAMPLES_PER_EPOCH, val_every: int = VAL_EVERY, checkpoint_every: int = CHECKPOINT_EVERY,
    keep_last: int = KEEP_LAST, seed: int = SEED, tensorboard: bool = TENSORBOARD, wandb: bool = WANDB,
    progress: ProgressMode = PROGRESS, status_every: float = STATUS_EVERY, quiet: bool = QUIET,
) -> None:
    """Pretrain on unlabeled music (masked unmasking).

    Self-supervised pretraining, the seed's objective: tokens of the mixture's spectrogram are masked and
    the model restores them. Prints the run directory. Ctrl-C or SIGTERM saves a checkpoint first."""
    params = {k: v for k, v in locals().items() if k != "ctx"}
    _run(ctx, "pretrain", params)


@guarded
def finetune(
    ctx: typer.Context,
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", "-c", metavar="SOURCE", show_default=False,
                                              help="Pretraining/training checkpoint, run directory or model folder "
                                                   "to start from (else --preset from scratch)."),
    data: Optional[List[Path]] = DATA, val_data: Optional[List[Path]] = VAL_DATA, layout: str = LAYOUT,
    preset: str = PRESET, model_config: Optional[Path] = MODEL_CONFIG, run_dir: Optional[Path] = RUN_DIR,
    resume: bool = RESUME, overwrite: bool = OVERWRITE, data_weights: str = DATA_WEIGHTS,
    max_minutes: float = MAX_MINUTES,
    strategy: str = typer.Option("full", "--strategy", metavar="NAME",
                                 help="full, freeze-encoders, llrd, transformer-only, last-n-decoders or freeze-linear."),
    llrd_decay: float = typer.Option(0.8, "--llrd-decay", metavar="F",
                                     help="Per-layer LR factor for --strategy llrd."),
    last_n: int = typer.Option(1, "--last-n", metavar="N", help="Levels trained by --strategy last-n-decoders."),
    wave_weight: float = typer.Option(0.2, "--wave-weight", metavar="W",
                                       help="Weight of the waveform L1 term (instrumental rebuilt with the "
                                            "mixture's phase) beside the spectral L1; 0: spectral only."),
    sdr_weight: float = typer.Option(0.0, "--sdr-weight", metavar="W",
                                     help="Weight of each crop's negative SDR in dB (the metric itself) beside "
                                          "the L1 terms; 1e-3 gives it about the gradient share of --wave-weight 0.2."),
    sdr_floor: float = typer.Option(1e-4, "--sdr-floor", metavar="F",
                                    help="Floor of the SDR term's energies, a fraction of the mixture's: where "
                                         "its gradient stops growing as a crop's error shrinks."),
    spec_weight: float = typer.Option(1.0, "--spec-weight", metavar="W",
                                      help="Weight of the spectral L1 (masked mixture magnitude against the "
                                           "instrumental's); 0 with --sdr-weight > 0 trains on the metric alone."),
    eval_mode: bool = typer.Option(False, "--eval-mode",
                                   help="Train the network as separation runs it: BatchNorm uses and keeps its "
                                        "running statistics, dropout is off."),
    decay_to_start: bool = typer.Option(False, "--decay-to-start",
                                        help="Weight decay pulls towards the --checkpoint's weights instead of "
                                             "towards zero (L2-SP), at --weight-decay per unit of lr."),
    voxaug: bool = typer.Option(True, "--voxaug/--no-voxaug", help="Remix any vocal over any accompaniment."),
    augment: str = typer.Option("", "--augment", metavar="NAME=V,...", show_default=False,
                                help="Augmentation overrides, e.g. vocal_pan_prob=0.5,instrumental_gain_db=-3:3 "
                                     "(fields of data/augment.py's AugmentConfig)."),
    adversarial: bool = typer.Option(False, "--adversarial", help="GAN finetuning with a PatchGAN discriminator."),
    adv_lambda_l1: float = typer.Option(100.0, "--adv-lambda-l1", metavar="W",
                                        help="Weight of the L1 term against the adversarial one (--adversarial)."),
    steps: int = STEPS, cropsizes: str = CROPSIZES, stage_steps: str = STAGE_STEPS, batch_size: str = BATCH_SIZE,
    accum: str = ACCUM, lr: float = LR, lr_floor: float = LR_FLOOR, warmup: int = WARMUP,
    decay_power: float = DECAY_POWER, weight_decay: float = WEIGHT_DECAY, grad_clip: float = GRAD_CLIP,
    device: str = DEVICE, precision: str = PRECISION, compile_model: bool = COMPILE,
    activation_checkpointing: bool = ACTIVATION_CHECKPOINTING, workers: int = WORKERS,
    samples_per_epoch: int = SAMPLES_PER_EPOCH, val_every: int = VAL_EVERY, checkpoint_every: int = CHECKPOINT_EVERY,
    keep_last: int = KEEP_LAST, seed: int = SEED, tensorboard: bool = TENSORBOARD, wandb: bool = WANDB,
    progress: ProgressMode = PROGRESS, status_every: float = STATUS_EVERY, quiet: bool = QUIET,
) -> None:
    """Train on stems or pairs, from a checkpoint or from scratch.

    Supervised training (L1 on masked magnitudes, voxaug remixing) from a pretraining checkpoint, a run, a
    model folder or a preset. Prints the run directory. Ctrl-C or SIGTERM saves a checkpoint first."""
    params = {k: v for k, v in locals().items() if k != "ctx"}
    _run(ctx, "finetune", params)
