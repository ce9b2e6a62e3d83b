"""Inference back ends for the magnitude-to-mask network.

A separator calls its network as `mask = model(magnitude)` on (B, 2, bins, W) float32 tensors. The
network is either a torch module (a model folder) or, here, an exported ONNX model run by onnxruntime
(`vocal-remover export --format onnx`). `OnnxMaskModel` is called exactly like the module; the
network itself runs in onnxruntime on numpy arrays, without torch.

An ONNX model knows its STFT parameters: the exporter stores the model folder's `config.json`
content in the ONNX file's metadata (key `vocal_remover_config`) and also writes `config.json`
beside `model.onnx` in an exported folder. A bare `.onnx` file therefore works on its own.

Engines (`separate --engine`): `torch` runs a model folder's network in PyTorch; `onnx` runs it in
onnxruntime from an ONNX export made once per model and kept in the user cache directory
(`onnx_cache_file`: keyed by the weights' and configuration's hash, this package's version and
onnxruntime's version; written under a temporary name, checked against PyTorch, then renamed into
place); `auto` takes onnx where the network would run in fp32 on the CPU (a CPU without native bf16,
or `--precision fp32`), where onnxruntime is faster, and torch everywhere else.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vocal_remover import __version__
from vocal_remover.errors import ConfigError, ModelError

ONNX_NAME = "model.onnx"
CONFIG_NAME = "config.json"
METADATA_KEY = "vocal_remover_config"
INPUT_NAME = "magnitude"  # (batch, in_channels, bins, frames) float32, dynamic batch and frames
OUTPUT_NAME = "mask"  # (batch, out_channels, bins, frames) float32 in (0, 1)
EXPORT_HINT = "pip install onnxruntime onnx onnxscript"
ENGINES = ("auto", "torch", "onnx")
CACHE_ENV = "VOCAL_REMOVER_ONNX_CACHE"  # overrides the folder of cached ONNX exports


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

    def __init__(self, path: str | Path, *, threads: int | None = None):
        ort = _import_onnxruntime()
        self.path = Path(path)
        options = ort.SessionOptions()
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
            raise ModelError(str(self.path), f"expected one input ({INPUT_NAME}), found {len(inputs)}")
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


def load_onnx_model(path: str | Path, *, threads: int | None = None):
    """A `LoadedModel` whose network is an `OnnxMaskModel`: from a `.onnx` file (configuration from its
    metadata, else from `config.json` beside it) or a folder holding `model.onnx` + `config.json`."""
    from vocal_remover.artifacts import LoadedModel, parse_model_meta

    path = Path(path)
    file = onnx_file(path)
    if not file.is_file():
        raise ModelError(str(path), f"{ONNX_NAME} is missing")
    network = OnnxMaskModel(file, threads=threads)
    text = network.metadata.get(METADATA_KEY)
    label = f"{file} (metadata {METADATA_KEY})"
    if text is None:
        beside = file.parent / CONFIG_NAME
        if not beside.is_file():
            raise ModelError(str(file), f"has no vocal-remover configuration (no {METADATA_KEY} metadata and no "
                                        f"{CONFIG_NAME} beside it); export it with `vocal-remover export --format onnx`")
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


# --------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------


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
    CPU and onnxruntime is installed (faster there: see the README), torch otherwise (GPUs, and CPUs
    with native bf16, where PyTorch's bf16 autocast is faster). Explicit choices are checked."""
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


def weights_digest(source: Any) -> str:
    """sha256 of a model's weights: of a model folder's `model.safetensors` file (a Path), or of a torch
    module's state dict (names, dtypes, shapes and bytes, in order)."""
    h = hashlib.sha256()
    if isinstance(source, (str, Path)):
        with open(source, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    import torch

    for name, tensor in source.state_dict().items():
        t = tensor.detach().to("cpu").contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())  # any dtype, bf16 included
    return h.hexdigest()


def onnx_cache_file(config, digest: str) -> Path | None:
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


def build_onnx_cache(model, metadata: dict[str, Any], cache_file: Path,
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
        fd, name = tempfile.mkstemp(prefix=f".{cache_file.name}.partial-", suffix=".onnx", dir=folder)
        os.close(fd)
    except OSError as exc:
        raise ModelError(str(folder), f"cannot write the ONNX cache here: {exc.strerror or exc}") from None
    tmp = Path(name)
    try:
        if log is not None:
            log("Preparing the onnxruntime engine for this model: a one-time export and check (about a minute), "
                f"kept in {folder}")
        try:
            export_onnx(model, tmp, metadata=metadata)
            diff = max_mask_difference(model, OnnxMaskModel(tmp), parity_inputs(model.config))
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - any exporter failure means: no ONNX engine for this model
            raise ModelError("onnx engine", f"exporting the model failed: {' '.join(str(exc).split())[:200]}") from None
        if not diff <= PARITY_LIMIT:
            raise ModelError("onnx engine", f"the ONNX export differs from PyTorch by {diff:.2e} "
                                            f"(limit {PARITY_LIMIT:g})")
        os.replace(tmp, cache_file)
        return diff
    except ModelError as exc:
        try:
            failure_marker(cache_file).write_text(exc.why + "\n", encoding="utf-8")
        except OSError:
            pass
        raise
    finally:
        tmp.unlink(missing_ok=True)
