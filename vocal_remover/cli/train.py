"""`vocal-remover pretrain` and `vocal-remover finetune`: options in, a Trainer run, live progress out."""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from vocal_remover.cli.common import ProgressMode, console, guarded


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


class _Renderer:
    """Rich progress for a run: step bar with loss, LR, throughput and ETA; validations as lines."""

    def __init__(self, mode: ProgressMode):
        self.mode = mode
        self.progress = None
        self.task = None

    def __enter__(self):
        if self.mode is ProgressMode.bar:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[info]}"), TextColumn("ETA"), TimeRemainingColumn(),
                                     console=console)
            self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def __call__(self, event) -> None:
        if self.mode is ProgressMode.json:
            sys.stderr.write(json.dumps({"event": event.kind, "step": event.step, "total": event.total,
                                         **{k: v for k, v in event.data.items() if not isinstance(v, dict)}}) + "\n")
            sys.stderr.flush()
            return
        if self.mode is ProgressMode.none:
            return
        data = event.data
        if event.kind == "start":
            console.print(f"Training {data['parameters']:,} parameters on {data['device']}"
                          f"{' x ' + str(data['world_size']) if data['world_size'] > 1 else ''}")
            self.task = self.progress.add_task("train", total=event.total or None, completed=event.step, info="")
        elif event.kind == "step":
            info = (f"loss {data['loss']:.5f}  lr {data['lr']:.2e}  {data['frames_per_second']:.0f} frames/s  "
                    f"data {100 * data['data_wait_fraction']:.0f}%")
            self.progress.update(self.task, total=event.total or None, completed=event.step, info=info)
        elif event.kind == "validation":
            parts = [f"{k} {v:.3f}" for k, v in data.items() if isinstance(v, float)]
            console.print(f"step {event.step}: " + ", ".join(parts) + ("  [green]best[/green]" if data.get("best") else ""))
        elif event.kind == "done":
            stopped = " (stopped at --max-minutes)" if data.get("out_of_time") else ""
            console.print(f"Done: {data['steps']} steps{stopped} in {data['wall_seconds']:.0f} s, "
                          f"{data['skipped_steps']} skipped; run in {data['run_dir']}")


def _run(mode: str, *, data, val_data, layout, preset, model_config, checkpoint, run_dir, resume, steps, cropsizes,
         stage_steps, batch_size, accum, lr, lr_floor, warmup, decay_power, weight_decay, grad_clip, device,
         precision, compile_model, activation_checkpointing, workers, samples_per_epoch, val_every,
         checkpoint_every, keep_last, seed, tensorboard, wandb, progress, quiet, data_weights, max_minutes,
         augment="", **finetune) -> None:
    from vocal_remover.errors import ConfigError
    from vocal_remover.model import get_preset
    from vocal_remover.train.config import TrainConfig
    from vocal_remover.train.loop import Trainer

    if resume:
        if run_dir is None:
            raise ConfigError("--resume", "needs --run-dir of the run to continue")
        saved = Path(run_dir) / "config.json"
        if not saved.is_file():
            raise ConfigError(f"--run-dir {run_dir}", "has no config.json to resume")
        cfg = TrainConfig.from_dict({**json.loads(saved.read_text())["train"], "max_minutes": max_minutes})
    else:
        if not data:
            raise ConfigError("--data", "give at least one dataset folder or cache")
        if model_config is not None:
            model = json.loads(Path(model_config).read_text())
            model = model.get("model", model)
        elif checkpoint is not None:
            model = _config_of(checkpoint)
        else:
            model = get_preset(preset).to_dict()
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        cfg = TrainConfig(
            mode=mode, data=[str(d) for d in data], val_data=str(val_data[0]) if val_data else None,
            extra_val_data=[str(v) for v in (val_data or [])[1:]], layout=layout,
            run_dir=str(run_dir or Path("runs") / f"{mode}-{stamp}"), model=model,
            init_from=str(checkpoint) if checkpoint else None, seed=seed, steps=steps,
            cropsizes=_numbers(cropsizes, "--cropsizes"), stage_steps=_numbers(stage_steps, "--stage-steps"),
            batch_sizes=_numbers(batch_size, "--batch-size"), accum=_numbers(accum, "--accum"), lr=lr,
            lr_floor=lr_floor,
            warmup=warmup, decay_power=decay_power, weight_decay=weight_decay, grad_clip=grad_clip, device=device,
            precision=precision, compile=compile_model, activation_checkpointing=activation_checkpointing,
            workers=workers, samples_per_epoch=samples_per_epoch, val_every=val_every,
            checkpoint_every=checkpoint_every, keep_last=keep_last, tensorboard=tensorboard, wandb=wandb,
            data_weights=_numbers(data_weights, "--data-weights", float), max_minutes=max_minutes,
            augment=_augment(augment), **finetune)
        if Path(cfg.run_dir, "checkpoints", "last.pt").exists():
            raise ConfigError(f"--run-dir {cfg.run_dir}", "already holds a run; pass --resume to continue it")
    mode_ = progress if not quiet else ProgressMode.none
    if mode_ is ProgressMode.auto:
        mode_ = ProgressMode.bar if console.is_terminal else ProgressMode.none
    renderer = _Renderer(mode_)
    with renderer:
        trainer = Trainer(cfg, callback=renderer, resume=resume)
        summary = trainer.run()
    from vocal_remover.train import distributed as D

    if trainer.dist.is_main:
        typer.echo(str(Path(summary["run_dir"])))
    D.shutdown(trainer.dist)


def _config_of(source: Path) -> dict:
    """The model config of a checkpoint, run directory or model folder."""
    from vocal_remover.artifacts import read_model_config
    from vocal_remover.train.checkpoint import find_run_checkpoint, load_checkpoint

    source = Path(source)
    if source.is_dir() and (source / "checkpoints").is_dir():
        source = find_run_checkpoint(source, "best")
    if source.is_dir():
        return read_model_config(source)[0].to_dict()
    return load_checkpoint(source)["model_config"]


# Options shared by both commands.
DATA = typer.Option(None, "--data", "-d", help="Dataset folder or cache (repeatable).")
VAL_DATA = typer.Option(None, "--val-data", help="Validation tracks (stems layout) or their cache; repeat it to "
                        "report more sets (the best checkpoint is chosen on their mean).")
LAYOUT = typer.Option("auto", "--layout", help="auto, stems, pairs, pools or mixes.")
PRESET = typer.Option("small", "--preset", "-p", help="Model preset (see `models list`).")
MODEL_CONFIG = typer.Option(None, "--model-config", help="JSON file of model config fields (overrides --preset).")
RUN_DIR = typer.Option(None, "--run-dir", "-o", help="Run directory (default runs/<mode>-<time>).")
RESUME = typer.Option(False, "--resume", help="Continue the run in --run-dir exactly where it stopped.")
DATA_WEIGHTS = typer.Option("", "--data-weights", help="Sampling weight per --data, e.g. 1,0.25 (default: per track).")
MAX_MINUTES = typer.Option(0.0, "--max-minutes", help="Stop (validate, save) after this many minutes; 0: no limit.")


CHECKPOINT = typer.Option(None, "--checkpoint", "-c", help="Pretraining/training checkpoint, run directory or model "
                          "folder to start from (else --preset from scratch).")


@guarded
def pretrain(
    checkpoint: Optional[Path] = CHECKPOINT,
    data: Optional[List[Path]] = DATA, val_data: Optional[List[Path]] = VAL_DATA, layout: str = LAYOUT,
    preset: str = PRESET, model_config: Optional[Path] = MODEL_CONFIG, run_dir: Optional[Path] = RUN_DIR,
    resume: bool = RESUME, data_weights: str = DATA_WEIGHTS, max_minutes: float = MAX_MINUTES,
    steps: int = typer.Option(1000, "--steps", help="Optimizer steps in total (0: as many as fit --max-minutes)."),
    cropsizes: str = typer.Option("256", "--cropsizes", help="Crop sizes in frames, one per curriculum stage."),
    stage_steps: str = typer.Option("", "--stage-steps", help="Steps of each stage but the last."),
    batch_size: str = typer.Option("4", "--batch-size", "-b", help="Crops per micro-batch (one or per stage)."),
    accum: str = typer.Option("1", "--accum", help="Micro-batches per optimizer step (one or per stage)."),
    lr: float = typer.Option(1e-4, "--lr"), lr_floor: float = typer.Option(1e-7, "--lr-floor"),
    warmup: int = typer.Option(100, "--warmup", help="Linear warmup steps."),
    decay_power: float = typer.Option(1.0, "--decay-power", help="Polynomial decay power after warmup."),
    weight_decay: float = typer.Option(1e-2, "--weight-decay"),
    grad_clip: float = typer.Option(1.0, "--grad-clip"),
    device: str = typer.Option("auto", "--device"), precision: str = typer.Option("auto", "--precision"),
    compile_model: bool = typer.Option(False, "--compile", help="torch.compile the model."),
    activation_checkpointing: bool = typer.Option(False, "--activation-checkpointing",
                                                  help="Recompute primer modules in backward (saves memory)."),
    workers: int = typer.Option(0, "--workers", help="DataLoader worker processes."),
    samples_per_epoch: int = typer.Option(2048, "--samples-per-epoch"),
    val_every: int = typer.Option(100, "--val-every"), checkpoint_every: int = typer.Option(100, "--checkpoint-every"),
    keep_last: int = typer.Option(3, "--keep-last", help="Step checkpoints kept (plus last and best)."),
    seed: int = typer.Option(0, "--seed"),
    tensorboard: bool = typer.Option(False, "--tensorboard", help="Also log to RUN/tensorboard (needs tensorboard)."),
    wandb: bool = typer.Option(False, "--wandb", help="Also log to wandb (offline unless WANDB_MODE is set)."),
    progress: ProgressMode = typer.Option(ProgressMode.auto, "--progress"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Self-supervised pretraining on unlabeled music (the seed's masked unmasking). Prints the run directory."""
    _run("pretrain", **{k: v for k, v in locals().items()})


@guarded
def finetune(
    checkpoint: Optional[Path] = CHECKPOINT,
    data: Optional[List[Path]] = DATA, val_data: Optional[List[Path]] = VAL_DATA, layout: str = LAYOUT,
    preset: str = PRESET, model_config: Optional[Path] = MODEL_CONFIG, run_dir: Optional[Path] = RUN_DIR,
    resume: bool = RESUME, data_weights: str = DATA_WEIGHTS, max_minutes: float = MAX_MINUTES,
    strategy: str = typer.Option("full", "--strategy",
                                 help="full, freeze-encoders, llrd, transformer-only or last-n-decoders."),
    llrd_decay: float = typer.Option(0.8, "--llrd-decay", help="Per-layer LR factor for --strategy llrd."),
    last_n: int = typer.Option(1, "--last-n", help="Levels trained by --strategy last-n-decoders."),
    wave_weight: float = typer.Option(0.0, "--wave-weight", help="Weight of a waveform L1 term."),
    voxaug: bool = typer.Option(True, "--voxaug/--no-voxaug", help="Remix any vocal over any accompaniment."),
    augment: str = typer.Option("", "--augment", help="Augmentation overrides, e.g. vocal_pan_prob=0.5,"
                                "instrumental_gain_db=-3:3 (fields of data/augment.py's AugmentConfig)."),
    adversarial: bool = typer.Option(False, "--adversarial", help="GAN finetuning with a PatchGAN discriminator."),
    adv_lambda_l1: float = typer.Option(100.0, "--adv-lambda-l1"),
    steps: int = typer.Option(1000, "--steps", help="Optimizer steps in total (0: as many as fit --max-minutes)."),
    cropsizes: str = typer.Option("256", "--cropsizes"), stage_steps: str = typer.Option("", "--stage-steps"),
    batch_size: str = typer.Option("4", "--batch-size", "-b"), accum: str = typer.Option("1", "--accum"),
    lr: float = typer.Option(1e-4, "--lr"), lr_floor: float = typer.Option(1e-7, "--lr-floor"),
    warmup: int = typer.Option(100, "--warmup"), decay_power: float = typer.Option(1.0, "--decay-power"),
    weight_decay: float = typer.Option(1e-2, "--weight-decay"), grad_clip: float = typer.Option(1.0, "--grad-clip"),
    device: str = typer.Option("auto", "--device"), precision: str = typer.Option("auto", "--precision"),
    compile_model: bool = typer.Option(False, "--compile"),
    activation_checkpointing: bool = typer.Option(False, "--activation-checkpointing"),
    workers: int = typer.Option(0, "--workers"), samples_per_epoch: int = typer.Option(2048, "--samples-per-epoch"),
    val_every: int = typer.Option(100, "--val-every"), checkpoint_every: int = typer.Option(100, "--checkpoint-every"),
    keep_last: int = typer.Option(3, "--keep-last"), seed: int = typer.Option(0, "--seed"),
    tensorboard: bool = typer.Option(False, "--tensorboard"), wandb: bool = typer.Option(False, "--wandb"),
    progress: ProgressMode = typer.Option(ProgressMode.auto, "--progress"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Supervised training on stems or pairs (L1 on masked magnitudes), from a checkpoint or from scratch."""
    _run("finetune", **{k: v for k, v in locals().items()})
