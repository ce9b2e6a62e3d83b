"""Model folders run with torch: `config.json` + `model.safetensors` + `README.md` (the model card).

Loading is strict: an unknown format version, a missing file, a missing/unexpected tensor or a shape
mismatch is a clear `ModelError`, never a silently half-loaded model. Saving builds the folder under a
temporary name and renames it into place (vocal_remover.atomic), so a reader never sees half a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from vocal_remover.artifacts.card import model_card
from vocal_remover.artifacts.format import (
    CARD_NAME,
    CONFIG_NAME,
    WEIGHTS_NAME,
    LoadedModel,
    metadata_json,
    model_metadata,
    read_model_config,
)
from vocal_remover.atomic import atomic_dir
from vocal_remover.errors import ModelError

if TYPE_CHECKING:
    import torch


def load_model_folder(folder: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Build the network of a model folder and load its weights strictly (fp16 weights become fp32)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from vocal_remover.model import build_model

    folder = Path(folder)
    config, meta = read_model_config(folder)
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise ModelError(str(folder), f"{WEIGHTS_NAME} is missing")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(str(weights), f"unreadable weights: {exc}") from None

    model = build_model(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        raise ModelError(str(weights), f"weights do not match {CONFIG_NAME}: " + ", ".join(parts))
    for name, tensor in expected.items():
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise ModelError(str(weights), f"shape mismatch for {name}: file {tuple(state[name].shape)}, "
                             f"config expects {tuple(tensor.shape)}")
        if tensor.is_floating_point():
            state[name] = state[name].to(tensor.dtype)
    model.load_state_dict(state, strict=True)
    model.eval()
    model.to(device)
    return LoadedModel(model=model, config=config, metadata=meta, path=folder)


def write_model_files(model: torch.nn.Module, folder: Path, *, trained: bool,
                      training: dict[str, Any] | None = None, half: bool = False) -> dict[str, Any]:
    """Write the files of `model`'s model folder into the existing `folder`; returns its metadata.
    Not atomic by itself: `folder` is a staging folder (save_model_folder, export)."""
    import torch
    from safetensors.torch import save_file

    from vocal_remover.model import count_parameters

    config = model.config
    meta = model_metadata(config, trained=trained, training=training, weights_dtype="float16" if half else "float32")
    state = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().to("cpu")
        # Half precision for the weight matrices and kernels only (nearly all the bytes): norm statistics,
        # norm scales and biases stay float32, as does anything beyond float16's range (65504), since a
        # trained BatchNorm after a squared-ReLU FFN can hold running variances that would become inf.
        if half and tensor.is_floating_point() and tensor.dim() >= 2 and tensor.abs().max() < 6e4:
            tensor = tensor.to(torch.float16)
        state[name] = tensor.contiguous()
    save_file(state, str(folder / WEIGHTS_NAME), metadata={"format": "pt"})
    (folder / CONFIG_NAME).write_text(metadata_json(meta), encoding="utf-8")
    (folder / CARD_NAME).write_text(model_card(config, meta, count_parameters(model)), encoding="utf-8")
    return meta


def save_model_folder(model: torch.nn.Module, folder: str | Path, *, trained: bool,
                      training: dict[str, Any] | None = None, half: bool = False, overwrite: bool = False) -> Path:
    """Write `model` as a model folder at `folder`, atomically; `half` stores float16 weight matrices."""
    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise ModelError(str(folder), "already exists (pass overwrite to replace it)")
    try:
        with atomic_dir(folder, overwrite=overwrite) as tmp:
            write_model_files(model, tmp, trained=trained, training=training, half=half)
    except OSError as exc:
        raise ModelError(str(folder), f"cannot write here: {exc.strerror or exc}") from None
    return folder
