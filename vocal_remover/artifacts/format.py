"""What a model artifact is: its file names, its `config.json` metadata and the in-memory `LoadedModel`.

A model folder holds `config.json` (format version, provenance and the network's configuration),
`model.safetensors` (the weights) and `README.md` (the model card). An ONNX export holds `model.onnx`,
with the same metadata stored in the file, and, as a folder, `config.json` and `README.md` beside it.
Every module that names one of these files takes the name from here. A leaf (it imports only the
package's errors, and the model configuration when parsing), so every other module may import it.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from vocal_remover import __version__
from vocal_remover.errors import ConfigError, ModelError

if TYPE_CHECKING:
    import torch

    from vocal_remover.model.config import ModelConfig

FORMAT_VERSION = 1  # of config.json; a reader refuses any other
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
ONNX_NAME = "model.onnx"
TORCHSCRIPT_NAME = "model.torchscript.pt"
MODEL_FILES = (CONFIG_NAME, WEIGHTS_NAME)  # what a model folder cannot do without; the card is optional

# The ONNX network's interface, written by vocal_remover.export and read by artifacts.onnx_model.
ONNX_OPSET = 18
ONNX_INPUT_NAME = "magnitude"  # (batch, in_channels, bins, frames) float32, dynamic batch and frames
ONNX_OUTPUT_NAME = "mask"  # (batch, out_channels, bins, frames) float32 in (0, 1)
ONNX_METADATA_KEY = "vocal_remover_config"  # the config.json content, stored in the .onnx file


class MaskNetwork(Protocol):
    """A magnitude-to-mask network run outside torch (artifacts.onnx_model.OnnxMaskModel), called like the
    torch module: (B, 2, bins, W) magnitudes in, a mask in (0, 1) out."""

    def __call__(self, magnitude: torch.Tensor) -> torch.Tensor: ...


@dataclass
class LoadedModel:
    """A network ready to run, with the configuration and metadata it was saved with."""

    model: torch.nn.Module | MaskNetwork  # a torch module in eval mode, or an ONNX export
    config: ModelConfig
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def trained(self) -> bool:
        return bool(self.metadata.get("trained", False))


def jsonable(value: Any) -> Any:
    """Builtin containers and scalars for JSON (tensors become lists, non-finite floats None, other
    objects strings)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    return str(value)


def model_metadata(config: ModelConfig, *, trained: bool, training: dict[str, Any] | None = None,
                   weights_dtype: str = "float32") -> dict[str, Any]:
    """The `config.json` content of a model: format, provenance (`training`, shown in the card) and the
    network's configuration."""
    return {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "trained": bool(trained),
        "weights_dtype": weights_dtype,
        "model": config.to_dict(),
        "training": jsonable(training or {}),
    }


def metadata_json(meta: dict[str, Any]) -> str:
    """The text of a config.json file: indented, ending in a newline."""
    return json.dumps(meta, indent=2) + "\n"


def parse_model_meta(meta: Any, label: str) -> tuple[ModelConfig, dict[str, Any]]:
    """(ModelConfig, metadata) from the content of a config.json (or of an ONNX file's metadata), validated."""
    from vocal_remover.model.config import ModelConfig

    if not isinstance(meta, dict):
        raise ModelError(label, "expected a JSON object")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(label, f"unsupported format_version {version!r} (this vocal-remover "
                         f"{__version__} reads version {FORMAT_VERSION}); upgrade vocal-remover")
    if not isinstance(meta.get("model"), dict):
        raise ModelError(label, "missing the 'model' section")
    try:
        config = ModelConfig.from_dict(meta["model"])
    except (ConfigError, TypeError) as exc:
        raise ModelError(label, f"invalid model config: {exc}") from None
    return config, meta


def read_model_config(folder: str | Path) -> tuple[ModelConfig, dict[str, Any]]:
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
