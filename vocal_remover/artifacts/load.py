"""Any model artifact from a local path: a model folder (torch) or an ONNX export (onnxruntime)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from vocal_remover.artifacts.folder import load_model_folder
from vocal_remover.artifacts.format import ONNX_NAME, WEIGHTS_NAME, LoadedModel
from vocal_remover.errors import ModelError

if TYPE_CHECKING:
    import torch

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ts", ".ckpt")


def is_onnx_path(path: str | Path) -> bool:
    """Whether `path` is an exported ONNX model: a `.onnx` file, or a folder with `model.onnx` and no weights."""
    path = Path(path)
    if path.is_dir():
        return (path / ONNX_NAME).is_file() and not (path / WEIGHTS_NAME).is_file()
    return path.is_file() and path.suffix.lower() == ".onnx"


def load_model(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """A model folder (run with torch), or an exported ONNX model (run with onnxruntime): a `.onnx` file,
    or a folder holding `model.onnx` + `config.json` and no `model.safetensors`."""
    path = Path(path)
    if is_onnx_path(path):
        from vocal_remover.artifacts.onnx_model import load_onnx_model  # onnxruntime only when asked for

        return load_onnx_model(path)
    if path.is_file():
        if path.suffix.lower() in CHECKPOINT_SUFFIXES:
            raise ModelError(str(path), "a checkpoint or TorchScript file, not a model; for a training "
                             f"checkpoint, export it first: vocal-remover export {shlex.quote(str(path))} -o MODEL_DIR")
        raise ModelError(str(path), "not a model folder or an .onnx file")
    return load_model_folder(path, device)
