"""Model folders: `config.json` + `model.safetensors` + `README.md` (model card).

Loading is strict: an unknown format version, a missing file, a missing/unexpected tensor or a
shape mismatch is a clear `ModelError`, never a silently half-loaded model. Saving builds the
folder under a temporary name and renames it into place, so a reader never sees half a model.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shlex
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocal_remover import __version__
from vocal_remover.errors import ConfigError, ModelError

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
ONNX_NAME = "model.onnx"  # an exported network run with onnxruntime (vocal_remover.backends)


@dataclass
class LoadedModel:
    model: Any  # torch.nn.Module in eval mode, or a backends.OnnxMaskModel
    config: Any  # ModelConfig
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def trained(self) -> bool:
        return bool(self.metadata.get("trained", False))


def read_model_config(folder: str | Path):
    """(ModelConfig, metadata) from a model folder's config.json, validated."""
    folder = Path(folder)
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise ModelError(str(folder), f"not a model folder: {CONFIG_NAME} is missing")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(str(path), f"unreadable: {exc}") from None
    return parse_model_meta(meta, str(path))


def parse_model_meta(meta: Any, label: str):
    """(ModelConfig, metadata) from the content of a config.json (or of an ONNX file's metadata), validated."""
    from vocal_remover.model.config import ModelConfig

    path = label
    if not isinstance(meta, dict):
        raise ModelError(str(path), "expected a JSON object")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(str(path), f"unsupported format_version {version!r} (this vocal-remover "
                         f"{__version__} reads version {FORMAT_VERSION}); upgrade vocal-remover")
    if not isinstance(meta.get("model"), dict):
        raise ModelError(str(path), "missing the 'model' section")
    try:
        config = ModelConfig.from_dict(meta["model"])
    except (ConfigError, TypeError) as exc:
        raise ModelError(str(path), f"invalid model config: {exc}") from None
    return config, meta


def is_onnx_path(path: str | Path) -> bool:
    """Whether `path` is an exported ONNX model: a `.onnx` file, or a folder with `model.onnx` and no weights."""
    path = Path(path)
    if path.is_dir():
        return (path / ONNX_NAME).is_file() and not (path / WEIGHTS_NAME).is_file()
    return path.is_file() and path.suffix.lower() == ".onnx"


def load_model(path: str | Path, device: str | Any = "cpu") -> LoadedModel:
    """A model folder (run with torch), or an exported ONNX model (run with onnxruntime): a `.onnx` file,
    or a folder holding `model.onnx` + `config.json` and no `model.safetensors`."""
    path = Path(path)
    if is_onnx_path(path):
        from vocal_remover.backends import load_onnx_model

        return load_onnx_model(path)
    if path.is_file():
        if path.suffix.lower() in (".pt", ".pth", ".ts", ".ckpt"):
            raise ModelError(str(path), "a checkpoint or TorchScript file, not a model; for a training "
                             f"checkpoint, export it first: vocal-remover export {shlex.quote(str(path))} -o MODEL_DIR")
        raise ModelError(str(path), "not a model folder or an .onnx file")
    return load_model_folder(path, device)


def load_model_folder(folder: str | Path, device: str | Any = "cpu") -> LoadedModel:
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
        raise ModelError(str(weights), "weights do not match config.json: " + ", ".join(parts))
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


def default_card(config, meta: dict[str, Any], num_parameters: int) -> str:
    trained = meta.get("trained", False)
    lines = [
        f"# vocal-remover model ({config.arch})",
        "",
        "Separates a song into instrumental and vocals: the network predicts a sigmoid mask on the mixture's",
        "magnitude spectrogram; instrumental = mask x mixture, vocals = mixture - instrumental.",
        "",
        f"- trained: **{'yes' if trained else 'no: random weights, for smoke tests and speed benchmarks only'}**",
        f"- architecture: `{config.arch}`, {num_parameters:,} parameters",
        f"- signal: {config.sample_rate} Hz stereo, STFT n_fft {config.n_fft}, hop {config.hop_length}",
        f"- made with vocal-remover {meta.get('package_version', __version__)}",
    ]
    for key in ("preset", "data", "steps", "wall_time", "validation", "command"):
        if key in meta.get("training", {}):
            lines.append(f"- {key.replace('_', ' ')}: {meta['training'][key]}")
    lines += ["", "## Configuration", "", "```json", json.dumps(config.to_dict(), indent=2), "```", ""]
    return "\n".join(lines)


def make_shareable(path: Path) -> None:
    """Give a finished temporary file or folder (and a folder's files) the permissions the umask allows:
    mkstemp, mkdtemp and safetensors create them private, but a model is for sharing."""
    umask = os.umask(0)
    os.umask(umask)
    if path.is_dir():
        for child in path.iterdir():
            child.chmod((0o777 if child.is_dir() else 0o666) & ~umask)
    path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def replace_path(tmp: Path, target: Path) -> None:
    """Move a finished temporary file or folder onto `target`, replacing an existing folder
    (moved aside first, deleted after), so `target` is never half-written."""
    if target.is_dir():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


def save_model_folder(model, folder: str | Path, *, trained: bool, training: dict[str, Any] | None = None,
                      card: str | None = None, half: bool = False, overwrite: bool = False) -> Path:
    """Write `model` as a model folder at `folder` (atomically: temp folder, then rename)."""
    import torch
    from safetensors.torch import save_file

    from vocal_remover.model import count_parameters

    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise ModelError(str(folder), "already exists (pass overwrite to replace it)")
    config = model.config
    meta = {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "trained": bool(trained),
        "weights_dtype": "float16" if half else "float32",
        "model": config.to_dict(),
        "training": dict(training or {}),
    }
    state = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().to("cpu")
        # Half precision for the weight matrices and kernels only (nearly all the bytes): norm statistics,
        # norm scales and biases stay float32, as does anything beyond float16's range (65504), since a
        # trained BatchNorm after a squared-ReLU FFN can hold running variances that would become inf.
        if half and tensor.is_floating_point() and tensor.dim() >= 2 and tensor.abs().max() < 6e4:
            tensor = tensor.to(torch.float16)
        state[name] = tensor.contiguous()

    parent = folder.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=parent))
    except OSError as exc:
        raise ModelError(str(folder), f"cannot write here: {exc.strerror or exc}") from None
    try:
        save_file(state, str(tmp / WEIGHTS_NAME), metadata={"format": "pt"})
        (tmp / CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        text = card if card is not None else default_card(config, meta, count_parameters(model))
        (tmp / CARD_NAME).write_text(text, encoding="utf-8")
        make_shareable(tmp)
        replace_path(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
