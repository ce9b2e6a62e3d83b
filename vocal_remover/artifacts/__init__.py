"""Model artifacts: what a model is on disk, and how it is loaded and saved.

    format.py      file names, config.json metadata, `LoadedModel` (the leaf everything else imports)
    card.py        the model card (README.md) of every artifact
    folder.py      model folders, run with torch: strict loading, atomic saving
    onnx_model.py  ONNX exports, run with onnxruntime (imported only when one is loaded)
    load.py        `load_model`: any artifact from a local path

Where the weights of an export or a training run come from (a run, a checkpoint, a model folder) is told
by vocal_remover.train.source.

Import-light: torch, numpy and onnxruntime are imported by the functions that need them.
"""

from vocal_remover.artifacts.folder import load_model_folder, save_model_folder
from vocal_remover.artifacts.format import (
    CARD_NAME,
    CONFIG_NAME,
    FORMAT_VERSION,
    ONNX_NAME,
    WEIGHTS_NAME,
    LoadedModel,
    read_model_config,
)
from vocal_remover.artifacts.load import is_onnx_path, load_model

__all__ = ["CARD_NAME", "CONFIG_NAME", "FORMAT_VERSION", "ONNX_NAME", "WEIGHTS_NAME", "LoadedModel", "is_onnx_path",
           "load_model", "load_model_folder", "read_model_config", "save_model_folder"]
