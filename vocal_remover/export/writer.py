"""`export_model`: a run, checkpoint or model as a model folder, an ONNX or a TorchScript export, checked
against PyTorch and written atomically (vocal_remover.atomic), never over an existing output unasked."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from vocal_remover.artifacts.card import model_card
from vocal_remover.artifacts.folder import load_model_folder, write_model_files
from vocal_remover.artifacts.format import (
    CARD_NAME,
    CONFIG_NAME,
    ONNX_NAME,
    TORCHSCRIPT_NAME,
    metadata_json,
    model_metadata,
)
from vocal_remover.train.source import LoadedSource, resolve_source
from vocal_remover.atomic import atomic_dir, atomic_path
from vocal_remover.errors import ConfigError, ModelError
from vocal_remover.export.networks import export_onnx, export_torchscript, load_torchscript
from vocal_remover.export.parity import PARITY_LIMIT, max_mask_difference, parity_inputs

FORMATS = ("folder", "onnx", "torchscript")
FILE_SUFFIXES = {"onnx": (".onnx",), "torchscript": (".pt", ".ts")}
HALF_PARITY_LIMIT = 0.05  # float16 weights round masks more than an export may differ

Progress = Callable[[str], None]


@dataclass
class ExportResult:
    path: Path
    format: str
    source: LoadedSource
    parameters: int
    max_abs_diff: float | None = None  # of the exported network's mask vs PyTorch (None: not checked)
    files: list[str] = field(default_factory=list)


def output_format(output: str | Path, fmt: str | None) -> str:
    """The format asked for, or the one an output's suffix implies (.onnx, .pt/.ts, else a folder)."""
    suffix = Path(output).suffix.lower()
    implied = next((name for name, suffixes in FILE_SUFFIXES.items() if suffix in suffixes), None)
    if fmt is not None:
        if fmt not in FORMATS:
            raise ConfigError(f"format '{fmt}'", f"expected one of {', '.join(FORMATS)}")
        if implied is not None and implied != fmt:  # `-o x.onnx --format torchscript`: which one was meant?
            raise ConfigError(f"-o {output} with --format {fmt}",
                              f"a {suffix} output is {implied}; drop --format or change the output's name")
        return fmt
    return implied or "folder"


def _check_target(target: Path, overwrite: bool, single_file: bool) -> None:
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise ModelError(str(target), "already exists (pass --overwrite to replace it)")
        if single_file and target.is_dir():
            raise ModelError(str(target), "is a folder; a single-file export cannot replace it")
        if not single_file and not target.is_dir():
            raise ModelError(str(target), "is a file; a folder export cannot replace it")


@contextlib.contextmanager
def _staged(target: Path, *, overwrite: bool, single_file: bool) -> Iterator[Path]:
    """A temporary path beside `target` (a folder, or a file path to create) that is renamed onto
    `target` when the block succeeds; on any error or Ctrl-C it is removed and `target` is left as it was."""
    with contextlib.ExitStack() as stack:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = stack.enter_context(atomic_path(target) if single_file else atomic_dir(target, overwrite=True))
        except OSError as exc:
            raise ModelError(str(target), f"cannot write here: {exc.strerror or exc}") from None
        yield tmp
        _check_target(target, overwrite, single_file)  # it may have appeared meanwhile


def export_model(source: str | Path, output: str | Path, *, fmt: str | None = None, half: bool = False,
                 overwrite: bool = False, which: str = "best", command: str | None = None, verify: bool = True,
                 offline: bool = False, progress: Progress | None = None) -> ExportResult:
    """Export `source` (run directory, checkpoint, model folder or model spec) to `output`.

    fmt: "folder" (default for outputs without a known suffix), "onnx" or "torchscript". half: float16
    weights (model folders only). command: the command line recorded in the card and config.json.
    verify: check the export against PyTorch (ONNX, TorchScript; for a folder, the reloaded weights)
    and refuse it when masks differ by more than PARITY_LIMIT. Nothing is written under `output`
    unless the whole export succeeded.
    """
    from vocal_remover.model import count_parameters

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    fmt = output_format(output, fmt)
    if half and fmt != "folder":
        raise ConfigError("--fp16", "applies to model folders only (ONNX and TorchScript exports are float32)")
    output = Path(output).expanduser()
    single_file = fmt != "folder" and output.suffix.lower() in FILE_SUFFIXES[fmt]
    _check_target(output, overwrite, single_file)

    src = resolve_source(source, which=which, offline=offline).load()
    say(f"Loaded {src.kind} {src.path}")
    model, config = src.model, src.model.config
    training = dict(src.training)
    if command:
        training["exported_with"] = command
    parameters = count_parameters(model)
    diff = None

    if fmt == "folder":
        with _staged(output, overwrite=overwrite, single_file=False) as tmp:
            write_model_files(model, tmp, trained=src.trained, training=training, half=half)
            if verify:
                say("Checking the saved weights against the source")
                diff = max_mask_difference(model, load_model_folder(tmp).model, parity_inputs(config))
                if diff > (HALF_PARITY_LIMIT if half else PARITY_LIMIT):
                    raise ModelError(str(output), "the saved model differs from its source "
                                                  f"(mask difference {diff:.2e})")
        return ExportResult(output, fmt, src, parameters, diff, sorted(p.name for p in output.iterdir()))

    meta = model_metadata(config, trained=src.trained, training=training)
    with _staged(output, overwrite=overwrite, single_file=single_file) as tmp:
        file = tmp if single_file else tmp / (ONNX_NAME if fmt == "onnx" else TORCHSCRIPT_NAME)
        say(f"Exporting to {fmt} (this traces the network; it can take a minute)")
        if fmt == "onnx":
            export_onnx(model, file, metadata=meta)
        else:
            export_torchscript(model, file, metadata=meta)
        if not single_file:
            (tmp / CONFIG_NAME).write_text(metadata_json(meta), encoding="utf-8")
            (tmp / CARD_NAME).write_text(model_card(config, meta, parameters, fmt=fmt), encoding="utf-8")
        if verify:
            say(f"Checking the {fmt} network against PyTorch")
            if fmt == "onnx":
                from vocal_remover.artifacts.onnx_model import OnnxMaskModel

                run = OnnxMaskModel(file)
            else:
                run = load_torchscript(file)[0]
            diff = max_mask_difference(model, run, parity_inputs(config))
            if not diff <= PARITY_LIMIT:
                raise ModelError(str(output), f"the {fmt} network differs from PyTorch by {diff:.2e} "
                                              f"(limit {PARITY_LIMIT:g}); nothing was written")
    files = [output.name] if single_file else sorted(p.name for p in output.iterdir())
    return ExportResult(output, fmt, src, parameters, diff, files)
