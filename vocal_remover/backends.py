"""Inference engines for the magnitude-to-mask network, and the onnx engine's cache of exports.

Engines (`separate --engine`): `torch` runs a model folder's network in PyTorch; `onnx` runs it in
onnxruntime (vocal_remover.artifacts.onnx_model) from an ONNX export made once per model and kept in
the user cache directory (`onnx_cache_file`: keyed by the weights' and configuration's hash, this
package's version and onnxruntime's version; written under a temporary name, checked against PyTorch,
then renamed into place); `auto` takes onnx where the network would run in fp32 on the CPU (a CPU
without AMX, or `--precision fp32`), where onnxruntime is faster, and torch everywhere else.
An ONNX export given as the model always runs in onnxruntime.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from vocal_remover import __version__
from vocal_remover.artifacts.onnx_model import EXPORT_HINT, OnnxMaskModel
from vocal_remover.atomic import atomic_path, sha256_file, write_text_atomic
from vocal_remover.errors import ConfigError, ModelError

if TYPE_CHECKING:
    import torch

    from vocal_remover.model.config import ModelConfig

ENGINES = ("auto", "torch", "onnx")
CACHE_ENV = "VOCAL_REMOVER_ONNX_CACHE"  # overrides the folder of cached ONNX exports
def onnxruntime_version() -> str | None:
    """onnxruntime's version, or None when it cannot be imported."""
    try:
        import onnxruntime
    except ImportError:
        return None
    return str(onnxruntime.__version__)


def exporter_missing() -> str | None:
    """The first package the ONNX export needs that is not installed (onnx, onnxscript), or None."""
    for name in ("onnx", "onnxscript"):
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):
            return name
    return None


def choose_engine(requested: str, *, device_type: str, fp32: bool, onnx_model: bool) -> str:
    """"torch" or "onnx" for `--engine` `requested` (auto, torch, onnx).

    auto: onnx for an ONNX model; for a model folder, onnx where its network would run in fp32 on the
    CPU and onnxruntime is installed (faster there: see docs/design.md, "Engines"), torch otherwise (GPUs, and CPUs
    with AMX, where PyTorch's bf16 autocast is faster). Explicit choices are checked."""
    engine = (requested or "auto").strip().lower()
    if engine not in ENGINES:
        raise ConfigError(f"--engine {requested}", f"expected one of {', '.join(ENGINES)}")
    if onnx_model:
        if engine == "torch":
            raise ConfigError("--engine torch", "this model is an ONNX export, which only onnxruntime runs; "
                                                "use --engine onnx or auto")
        engine = "onnx"
    if engine == "onnx":
        if onnxruntime_version() is None:
            raise ModelError("--engine onnx", f"onnxruntime is not installed: {EXPORT_HINT}")
        return "onnx"
    if engine == "torch":
        return "torch"
    return "onnx" if device_type == "cpu" and fp32 and onnxruntime_version() is not None else "torch"


def onnx_cache_dir() -> Path:
    """Where `onnx` engine exports are kept: $VOCAL_REMOVER_ONNX_CACHE, else <user cache>/vocal-remover/onnx."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("vocal-remover")) / "onnx"


def weights_digest(source: str | Path | torch.nn.Module) -> str:
    """sha256 of a model's weights: of a model folder's `model.safetensors` file (a path), or of a torch
    module's state dict (names, dtypes, shapes and bytes, in order)."""
    if isinstance(source, (str, Path)):
        return sha256_file(source)
    import torch

    h = hashlib.sha256()
    for name, tensor in source.state_dict().items():
        t = tensor.detach().to("cpu").contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())  # any dtype, bf16 included
    return h.hexdigest()


def onnx_cache_file(config: ModelConfig, digest: str) -> Path | None:
    """The cache path of the ONNX export of a model (configuration + weights digest), or None without
    onnxruntime. The key also holds this package's version (the exporter's code) and onnxruntime's
    version (the runtime the export was checked with)."""
    ort = onnxruntime_version()
    if ort is None:
        return None
    key = hashlib.sha256(json.dumps({"config": config.to_dict(), "weights": digest, "package": __version__},
                                    sort_keys=True).encode()).hexdigest()[:32]
    return onnx_cache_dir() / f"{key}-ort{ort}.onnx"


def failure_marker(cache_file: Path) -> Path:
    """Written next to a cache entry whose export failed, so `auto` does not retry it on every run."""
    return cache_file.with_suffix(".failed")


def build_onnx_cache(model: torch.nn.Module, metadata: dict[str, Any], cache_file: Path,
                     log: Callable[[str], None] | None = None) -> float:
    """Export a torch network to `cache_file`, check it against PyTorch, then rename it into place.

    Returns the largest mask difference found; raises ModelError (after writing the failure marker)
    when the export fails or differs by more than export.PARITY_LIMIT. Nothing is left under
    `cache_file` unless it passed."""
    from vocal_remover.export import PARITY_LIMIT, export_onnx, max_mask_difference, parity_inputs

    missing = exporter_missing()
    if missing is not None:
        raise ModelError("onnx engine", f"exporting the model needs {missing}, which is not installed: {EXPORT_HINT}")
    folder = cache_file.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(str(folder), f"cannot write the ONNX cache here: {exc.strerror or exc}") from None
    try:
        if log is not None:
            log("Preparing the onnxruntime engine for this model: a one-time export and check (about a minute), "
                f"kept in {folder}")
        with atomic_path(cache_file) as tmp:
            try:
                export_onnx(model, tmp, metadata=metadata)
                diff = max_mask_difference(model, OnnxMaskModel(tmp), parity_inputs(model.config))
            except ModelError:
                raise
            except Exception as exc:  # noqa: BLE001 - any exporter failure means: no ONNX engine for this model
                raise ModelError("onnx engine", f"exporting the model failed: {' '.join(str(exc).split())[:200]}"
                                 ) from None
            if not diff <= PARITY_LIMIT:
                raise ModelError("onnx engine", f"the ONNX export differs from PyTorch by {diff:.2e} "
                                                f"(limit {PARITY_LIMIT:g})")
        return diff
    except ModelError as exc:
        with contextlib.suppress(OSError):  # without a marker, auto just tries again next time
            write_text_atomic(failure_marker(cache_file), exc.why + "\n")
        raise
