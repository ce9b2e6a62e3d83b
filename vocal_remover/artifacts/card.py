"""The model card (`README.md`) of every model artifact: what it is, where it came from, how to use it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from vocal_remover import __version__
from vocal_remover.artifacts.format import ONNX_NAME, ONNX_OPSET, TORCHSCRIPT_NAME, WEIGHTS_NAME

if TYPE_CHECKING:
    from vocal_remover.model.config import ModelConfig

CARD_FORMATS = ("folder", "onnx", "torchscript")


def _validation_text(validation: Any) -> str:
    if not isinstance(validation, dict):
        return "unknown"
    parts = [f"{label} {validation[key]:.2f} dB" for key, label in (("vocals_sdr", "vocals"),
                                                                       ("instrumental_sdr", "instrumental"))
             if isinstance(validation.get(key), (int, float))]
    if not parts:
        return "unknown"
    at = f" (at step {validation['step']})" if isinstance(validation.get("step"), int) else ""
    return ", ".join(parts) + at + "; global SDR, median over the validation tracks"


def model_card(config: ModelConfig, meta: dict[str, Any], num_parameters: int, *, fmt: str = "folder") -> str:
    """README.md of a model artifact (`fmt`: folder, onnx or torchscript) from its config.json metadata."""
    training = meta.get("training") or {}
    trained = bool(meta.get("trained"))

    def known(key: str) -> str:
        value = training.get(key)
        return "unknown" if value in (None, "") else str(value)

    def code(key: str) -> str:
        value = known(key)
        return value if value == "unknown" else f"`{value}`"

    artifact = {
        "folder": f"model folder, {meta.get('weights_dtype', 'float32')} weights in `{WEIGHTS_NAME}`"
                  + (" (loaded as float32)" if meta.get("weights_dtype") == "float16" else ""),
        "onnx": f"ONNX (opset {ONNX_OPSET}) magnitude-to-mask network, dynamic batch and frames (up to "
                f"{config.max_cropsize}); run with onnxruntime",
        "torchscript": "TorchScript (traced) magnitude-to-mask network, dynamic batch and frames; for LibTorch",
    }[fmt]
    rows = [
        ("trained", "yes" if trained else "**no: random weights**, for smoke tests and speed benchmarks only"),
        ("architecture", f"`{config.arch}` ({config.norm} norm, {config.channels} base channels, depth "
                         f"{config.depth}, {config.num_transformer_encoders} primer encoders and "
                         f"{config.num_transformer_decoders} primer decoders per level)"),
        ("parameters", f"{num_parameters:,}"),
        ("signal", f"{config.sample_rate} Hz stereo, STFT n_fft {config.n_fft}, hop {config.hop_length}, "
                   f"{config.num_bins} bins to the network"),
        ("artifact", artifact),
        ("training data fingerprint", code("data")),
        ("training steps", known("steps")),
        ("validation SDR", _validation_text(training.get("validation"))),
        ("trained with", code("command")),
        ("exported with", code("exported_with")),
        ("exported from", code("source")),
        ("made with", f"vocal-remover {meta.get('package_version', __version__)}"),
    ]
    use = {
        "folder": "vocal-remover separate -m path/to/this-folder song.mp3",
        "onnx": f"vocal-remover separate -m path/to/{ONNX_NAME} song.mp3   # or the folder holding it",
        "torchscript": f"# torch.jit.load('{TORCHSCRIPT_NAME}') maps (batch, 2, bins, frames) magnitudes to a mask",
    }[fmt]
    lines = [
        "---",
        "library_name: vocal-remover",
        "tags:",
        "- audio",
        "- music-source-separation",
        "- vocal-remover",
        "---",
        "",
        f"# vocal-remover model ({config.arch})",
        "",
        "Separates a song into instrumental and vocals: the network predicts a sigmoid mask on the mixture's",
        "magnitude spectrogram; instrumental = mask x mixture, vocals = mixture - instrumental.",
        "",
        "| | |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in rows],
        "",
        "## Use",
        "",
        "```bash",
        use,
        "```",
        "",
        "## Configuration",
        "",
        "```json",
        json.dumps(config.to_dict(), indent=2),
        "```",
        "",
    ]
    return "\n".join(lines)
