"""Where a network's weights come from: a training run, a training checkpoint or a model folder.

`resolve_source()` is the one place that tells these apart, for `export`, for `--checkpoint` in
training and for the model configuration a training run starts from:

* a folder holding `checkpoints/` is a run: its `best.pt` (falling back to `last.pt`), or `last.pt`;
* another folder is a model folder; an existing file is a training checkpoint;
* an ONNX export is refused (it holds no weights to train or export again);
* anything else is resolved like `separate -m` (registry name or Hub id; a `Path` is never one).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vocal_remover.artifacts.folder import load_model_folder
from vocal_remover.artifacts.format import jsonable, read_model_config
from vocal_remover.artifacts.load import is_onnx_path
from vocal_remover.errors import ConfigError, ModelError
from vocal_remover.train.checkpoint import find_run_checkpoint, load_checkpoint, model_from_checkpoint

if TYPE_CHECKING:
    import torch

    from vocal_remover.model.config import ModelConfig

CHECKPOINT_CHOICES = ("best", "last")


@dataclass(frozen=True)
class ModelSource:
    kind: Literal["run", "checkpoint", "folder"]
    path: Path  # the checkpoint file (of a run: the one chosen), or the model folder

    def model_config(self) -> ModelConfig:
        """The network's configuration, without building the network."""
        from vocal_remover.model.config import ModelConfig

        if self.kind == "folder":
            return read_model_config(self.path)[0]
        return ModelConfig.from_dict(load_checkpoint(self.path)["model_config"])

    def load(self) -> LoadedSource:
        """The network (eval mode, CPU, float32) and its provenance."""
        if self.kind == "folder":
            loaded = load_model_folder(self.path)
            training = dict(loaded.metadata.get("training") or {})
            training.setdefault("source", str(self.path))
            return LoadedSource(self, loaded.model.float().eval(), loaded.trained, training)
        state = load_checkpoint(self.path)
        model = model_from_checkpoint(state)
        training = checkpoint_provenance(state, self.path)
        return LoadedSource(self, model.float().eval(), training.get("steps", 1) != 0, training)


@dataclass
class LoadedSource:
    source: ModelSource
    model: torch.nn.Module
    trained: bool
    training: dict[str, Any]  # provenance, stored as config.json "training" and shown in the card

    @property
    def kind(self) -> str:
        return self.source.kind

    @property
    def path(self) -> Path:
        return self.source.path


def resolve_source(source: str | Path, *, which: str = "best", offline: bool = False) -> ModelSource:
    """The run directory, checkpoint or model folder `source` names (see the module's docstring);
    `which` picks a run's checkpoint: best (falling back to last) or last."""
    if which not in CHECKPOINT_CHOICES:
        raise ConfigError(f"checkpoint '{which}'", f"expected {' or '.join(CHECKPOINT_CHOICES)}")
    path = Path(os.fspath(source)).expanduser()
    if is_onnx_path(path):
        raise ModelError(str(path), "an ONNX export cannot be exported again or trained from; use the run, "
                                    "checkpoint or model folder it was made from")
    if path.is_dir():
        if (path / "checkpoints").is_dir():
            return ModelSource("run", find_run_checkpoint(path, which))
        return ModelSource("folder", path)
    if path.is_file():
        return ModelSource("checkpoint", path)
    from vocal_remover.hub import resolve_model

    return ModelSource("folder", Path(resolve_model(source, offline=offline)))


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def validation_sdr(metrics: Any) -> dict[str, float] | None:
    """{"vocals_sdr", "instrumental_sdr", "step"} of the best validation a checkpoint's metrics hold
    (the training loop keeps it under "best_val"); None when absent."""
    best = metrics.get("best_val") if isinstance(metrics, dict) else None
    if not isinstance(best, dict):
        return None
    found = {k: _number(best.get(k)) for k in ("vocals_sdr", "instrumental_sdr")}
    found = {k: v for k, v in found.items() if v is not None}
    if not found:
        return None
    if _number(best.get("step")) is not None:
        found["step"] = int(best["step"])
    return found


def checkpoint_provenance(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """What a training checkpoint says about where its weights came from (the keys it has)."""
    def text(key: str) -> str | None:
        return state.get(key) if isinstance(state.get(key), str) else None

    step = state.get("step")
    training = {
        "source": str(path),
        "steps": int(step) if isinstance(step, int) or _number(step) is not None else None,
        "data": text("dataset_fingerprint"),
        "validation": validation_sdr(state.get("metrics")),
        "command": text("command"),
        "package_version": text("package_version"),
        "train_config": jsonable(state["train_config"]) if isinstance(state.get("train_config"), dict) else None,
    }
    return {k: v for k, v in training.items() if v is not None}
