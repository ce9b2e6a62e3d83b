"""Release artifacts: `vocal-remover export`.

Sources (vocal_remover.train.source): a training run directory (its `checkpoints/best.pt`, falling
back to `last.pt`, or `last.pt`), a training checkpoint file, a model folder, or a registry name / Hub
id (resolved like `-m`).

Formats:

* `folder` (default): a model folder (`config.json`, `model.safetensors`, `README.md` model card),
  float32 or, with `half=True`, float16 weights (loaded back as float32).
* `onnx`: the magnitude-to-mask network only (the STFT stays outside), input `magnitude`
  (batch, 2, bins, frames) -> output `mask`, batch and frames dynamic (frames up to the model's
  `max_cropsize`), opset 18, exported with torch's dynamo-based exporter. The configuration
  (`config.json` content) is stored in the file's metadata, so a bare `.onnx` file can be used with
  `separate -m model.onnx`; an output folder holds `model.onnx`, `config.json` and `README.md`.
* `torchscript`: the same network traced with `torch.jit.trace` (dynamic batch and frames), the
  configuration stored as the archive's extra file `config.json`; `model.torchscript.pt` in a folder,
  or a bare `.pt` file. For LibTorch/C++ users; `separate` does not read it.

An output whose name ends in the format's suffix (`.onnx`; `.pt` / `.ts`) is written as a single file,
anything else as a folder. Outputs are built under a temporary name next to the target and renamed
into place, so a half-written export never appears; an existing target is only replaced with
`overwrite=True`. ONNX and TorchScript exports are checked against PyTorch before they are kept
(`verify`): masks for two batch sizes and two frame counts other than the traced one must agree to
`PARITY_LIMIT`. Pushing a model folder to the Hub is `vocal_remover.hub.push_to_hub`.

    writer.py    export_model: source -> checked artifact, written atomically
    networks.py  the network as an ONNX or TorchScript file (traced export-safe)
    parity.py    the inputs an export is checked on, and the check
"""

from vocal_remover.export.networks import export_onnx, export_torchscript, load_torchscript
from vocal_remover.export.parity import PARITY_LIMIT, max_mask_difference, parity_inputs
from vocal_remover.export.writer import FORMATS, ExportResult, export_model, output_format

__all__ = ["FORMATS", "PARITY_LIMIT", "ExportResult", "export_model", "export_onnx", "export_torchscript",
           "load_torchscript", "max_mask_difference", "output_format", "parity_inputs"]
