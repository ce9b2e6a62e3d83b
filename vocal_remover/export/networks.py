"""The network alone as a file: ONNX (run with onnxruntime) and TorchScript (for LibTorch).

Both are traced from an export-safe copy of the network (vocal_remover.model.attention's
`make_export_safe`), so batch and frames stay dynamic. The configuration (`config.json` content)
goes into the file: ONNX metadata under `ONNX_METADATA_KEY`, a TorchScript extra file `config.json`.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from vocal_remover.artifacts.format import (
    CONFIG_NAME,
    ONNX_INPUT_NAME,
    ONNX_METADATA_KEY,
    ONNX_OPSET,
    ONNX_OUTPUT_NAME,
)
from vocal_remover.errors import ModelError
from vocal_remover.export.parity import traced_input

if TYPE_CHECKING:
    import torch


def exportable(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of `model` (eval, CPU, float32) whose attention layers take the export-safe path."""
    from vocal_remover.model.attention import make_export_safe

    return make_export_safe(copy.deepcopy(model).to("cpu").float().eval())


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """torch's exporters print progress and warn loudly; the library never prints."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def export_onnx(model: torch.nn.Module, path: str | Path, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write the network as ONNX to `path` (input `magnitude`, output `mask`, dynamic batch and frames),
    with `metadata` (a config.json dict) under the key `vocal_remover_config`. Needs onnx + onnxscript."""
    import torch

    for module in ("onnx", "onnxscript"):
        try:
            __import__(module)
        except ImportError:
            raise ModelError("ONNX export", f"{module} is not installed: pip install 'vocal-remover[export]'") from None
    config = model.config
    net = exportable(model)
    batch = torch.export.Dim("batch", min=1, max=4096)
    frames = torch.export.Dim("frames", min=2, max=config.max_cropsize)
    with _quiet(), torch.no_grad():
        program = torch.onnx.export(net, (traced_input(config),), dynamo=True,
                                    input_names=[ONNX_INPUT_NAME], output_names=[ONNX_OUTPUT_NAME],
                                    dynamic_shapes=({0: batch, 3: frames},), opset_version=ONNX_OPSET,
                                    optimize=True, verbose=False, report=False)
        if metadata is not None:
            program.model.metadata_props[ONNX_METADATA_KEY] = json.dumps(metadata)
        program.save(str(path))
    return Path(path)


def export_torchscript(model: torch.nn.Module, path: str | Path, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write the network traced with torch.jit.trace (dynamic batch and frames) to `path`, with
    `metadata` as the archive's extra file `config.json`."""
    import torch

    net = exportable(model)
    with _quiet(), torch.no_grad():
        traced = torch.jit.trace(net, traced_input(net.config), check_trace=False)
        extra = {CONFIG_NAME: json.dumps(metadata)} if metadata is not None else {}
        torch.jit.save(traced, str(path), _extra_files=extra)
    return Path(path)


def load_torchscript(path: str | Path) -> tuple[torch.jit.ScriptModule, dict[str, Any]]:
    """(module, metadata dict) of a TorchScript export."""
    import torch

    extra = {CONFIG_NAME: ""}
    with _quiet():
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    text = extra[CONFIG_NAME]
    return module.eval(), (json.loads(text) if text else {})
