"""Training checkpoints: everything needed to resume a run exactly, in one file.

A checkpoint holds only tensors and builtin containers, so it loads with
`torch.load(weights_only=True)` (no pickled classes; safe and stable across PyTorch releases).
Model weights are those of the unwrapped module (no `module.` / `_orig_mod.` prefixes).
Written atomically (vocal_remover.atomic): a temporary file in the same folder, synced, then renamed.

Layout of a run directory:
    RUN/config.json            resolved training configuration
    RUN/metrics.jsonl          one JSON object per logged step / validation
    RUN/checkpoints/step-00001000.pt ... (the last K kept)
    RUN/checkpoints/last.pt    the latest (a copy made atomically)
    RUN/checkpoints/best.pt    the best by the validation metric
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vocal_remover.atomic import atomic_path
from vocal_remover.errors import ModelError

CHECKPOINT_FORMAT = "vocal-remover-training-checkpoint"
CHECKPOINT_VERSION = 1


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write `state` (must contain "model_config" and "model") to `path` atomically."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **state}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> dict[str, Any]:
    """Read a training checkpoint (weights_only) and check its format; ModelError when it is not one."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelError(str(path), "no such checkpoint file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc):  # not a pickle of Python objects: junk or damaged
            raise ModelError(str(path), "not a readable training checkpoint: not a PyTorch file, or a damaged or "
                             "truncated one") from exc
        # torch's own message is a page of advice about weights_only; ours says what the file is.
        raise ModelError(str(path), "not a vocal-remover training checkpoint: it holds pickled Python objects, "
                         "which are never loaded (only tensors and plain containers are)") from exc
    except Exception as exc:  # noqa: BLE001 - torch raises anything from KeyError to RuntimeError on junk
        raise ModelError(str(path), "not a readable training checkpoint: not a PyTorch file, or a damaged or "
                         "truncated one") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ModelError(str(path), "not a vocal-remover training checkpoint")
    if state.get("version") != CHECKPOINT_VERSION:
        raise ModelError(str(path), f"unsupported checkpoint version {state.get('version')!r}")
    for key in ("model_config", "model"):
        if key not in state:
            raise ModelError(str(path), f"checkpoint lacks '{key}'")
    return state


def model_from_checkpoint(state: dict[str, Any]):
    """The network of a checkpoint, weights loaded strictly, in eval mode."""
    from vocal_remover.model import ModelConfig, build_model

    config = ModelConfig.from_dict(state["model_config"])
    model = build_model(config)
    try:
        model.load_state_dict(state["model"], strict=True)
    except RuntimeError as exc:
        raise ModelError("checkpoint", f"weights do not match its model config: {str(exc).splitlines()[0]}") from None
    return model.eval()


def find_run_checkpoint(run_dir: str | Path, which: str = "best") -> Path:
    """`RUN/checkpoints/best.pt` (falling back to last.pt) or `last.pt`."""
    folder = Path(run_dir) / "checkpoints"
    order = ["best.pt", "last.pt"] if which == "best" else ["last.pt"]
    for name in order:
        if (folder / name).is_file():
            return folder / name
    raise ModelError(str(run_dir), f"no {' or '.join(order)} under checkpoints/ (is this a run directory?)")
