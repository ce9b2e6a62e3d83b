"""ONNX exports run by onnxruntime: `OnnxMaskModel`, called exactly like the torch network.

A separator calls its network as `mask = model(magnitude)` on (B, 2, bins, W) float32 tensors; here the
network runs in onnxruntime on numpy arrays, without torch. An ONNX model knows its STFT parameters: the
exporter stores the model folder's `config.json` content in the ONNX file's metadata and also writes
`config.json` beside `model.onnx` in an exported folder, so a bare `.onnx` file works on its own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from vocal_remover.artifacts.format import (
    CONFIG_NAME,
    ONNX_INPUT_NAME,
    ONNX_METADATA_KEY,
    ONNX_NAME,
    LoadedModel,
    parse_model_meta,
)
from vocal_remover.errors import ConfigError, ModelError

EXPORT_HINT = "pip install onnxruntime onnx onnxscript"
# onnxruntime's graph optimisation level. "extended" fuses as "all" does but leaves out the layout transform to
# blocked (NCHWc) tensors, whose reorders around this network's concatenations, resizes and attention cost more
# than the blocked convolutions save: ~1.2x faster separation on two cores, the same masks to 1e-6
# (benchmarks/onnx_optimization.py). The environment variable is for benchmarks and troubleshooting.
OPTIMIZATION_ENV = "VOCAL_REMOVER_ONNX_OPTIMIZATION"
OPTIMIZATION_LEVELS = ("basic", "extended", "all")


def optimization_level(requested: str | None = None) -> str:
    """The graph optimisation level to use: `requested`, else $VOCAL_REMOVER_ONNX_OPTIMIZATION, else "extended".
    A setting error (ConfigError), not a model error: it must not pass for a damaged or failed export."""
    level = (requested or os.environ.get(OPTIMIZATION_ENV) or "extended").strip().lower()
    if level not in OPTIMIZATION_LEVELS:
        raise ConfigError(f"{OPTIMIZATION_ENV}={level}", f"must be one of {', '.join(OPTIMIZATION_LEVELS)}")
    return level


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise ModelError("onnxruntime", f"not installed; ONNX models need it: {EXPORT_HINT}") from None
    return onnxruntime


class OnnxMaskModel:
    """An exported magnitude-to-mask network run by onnxruntime (CPU execution provider).

    Called like the torch module it was exported from: a torch tensor in, a torch tensor out (on the
    input's device); a numpy array in, a numpy array out.
    """

    def __init__(self, path: str | Path, *, threads: int | None = None, optimization: str | None = None):
        ort = _import_onnxruntime()
        self.path = Path(path)
        self.optimization = optimization = optimization_level(optimization)
        options = ort.SessionOptions()
        options.graph_optimization_level = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                                            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                                            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[optimization]
        options.log_severity_level = 3  # errors only: onnxruntime's warnings would go to stderr
        # Idle worker threads sleep instead of spinning: spinning threads take CPU from the STFT, the
        # resampler and any torch work in the same process.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = int(threads)
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ModelError(str(self.path), f"not a loadable ONNX model: {' '.join(str(exc).split())[:200]}") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(str(self.path), f"expected one input ({ONNX_INPUT_NAME}), found {len(inputs)}")
        self.input_name = inputs[0].name

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def run(self, magnitude: np.ndarray) -> np.ndarray:
        """(B, C, bins, W) float32 magnitudes -> (B, C, bins, W) float32 mask."""
        x = np.ascontiguousarray(magnitude, dtype=np.float32)
        return self.session.run(None, {self.input_name: x})[0]

    def __call__(self, x: Any) -> Any:
        if isinstance(x, np.ndarray):
            return self.run(x)
        import torch

        out = self.run(x.detach().to("cpu", torch.float32).contiguous().numpy())
        return torch.from_numpy(out).to(x.device)


def onnx_file(path: str | Path) -> Path:
    """The .onnx file of `path`: the file itself, or `model.onnx` inside a folder."""
    path = Path(path)
    return path / ONNX_NAME if path.is_dir() else path


def load_onnx_model(path: str | Path, *, threads: int | None = None) -> LoadedModel:
    """A `LoadedModel` whose network is an `OnnxMaskModel`: from a `.onnx` file (configuration from its
    metadata, else from `config.json` beside it) or a folder holding `model.onnx` + `config.json`."""
    path = Path(path)
    file = onnx_file(path)
    if not file.is_file():
        raise ModelError(str(path), f"{ONNX_NAME} is missing")
    network = OnnxMaskModel(file, threads=threads)
    text = network.metadata.get(ONNX_METADATA_KEY)
    label = f"{file} (metadata {ONNX_METADATA_KEY})"
    if text is None:
        beside = file.parent / CONFIG_NAME
        if not beside.is_file():
            raise ModelError(str(file), f"has no vocal-remover configuration (no {ONNX_METADATA_KEY} metadata and "
                                        f"no {CONFIG_NAME} beside it); export it with `vocal-remover export "
                                        "--format onnx`")
        label = str(beside)
        try:
            text = beside.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelError(label, f"unreadable: {exc}") from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(label, f"invalid JSON: {exc.msg}") from None
    config, meta = parse_model_meta(meta, label)
    shape = network.session.get_inputs()[0].shape
    if len(shape) != 4 or shape[1] != config.in_channels or shape[2] != config.num_bins:
        raise ModelError(str(file), f"input shape {shape} does not match its configuration "
                                    f"(batch, {config.in_channels}, {config.num_bins}, frames)")
    return LoadedModel(model=network, config=config, metadata=meta, path=path)
