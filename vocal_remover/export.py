"""Release artifacts: `vocal-remover export`.

Sources: a training run directory (its `checkpoints/best.pt`, falling back to `last.pt`, or `last.pt`),
a training checkpoint file, a model folder, or a registry name / Hub id (resolved like `-m`).

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
`PARITY_LIMIT`.

The network's attention slices its relative-position table with Python integers computed from the
frame count, which a tracer would freeze; exporting swaps in an equivalent forward (same parameters,
same result to float rounding) that gathers from the whole table, so the frames axis stays dynamic.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import io
import json
import logging
import math
import os
import re
import shutil
import tempfile
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vocal_remover import __version__
from vocal_remover.artifacts import make_shareable, replace_path
from vocal_remover.errors import ConfigError, ModelError

FORMATS = ("folder", "onnx", "torchscript")
FILE_SUFFIXES = {"onnx": (".onnx",), "torchscript": (".pt", ".ts")}
TORCHSCRIPT_NAME = "model.torchscript.pt"
ONNX_OPSET = 18
PARITY_LIMIT = 1e-3  # an export differing more than this from PyTorch is refused
_REPO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")

Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


@dataclass
class ExportSource:
    model: Any  # torch.nn.Module, eval mode, CPU, float32
    trained: bool
    training: dict[str, Any]  # provenance, stored as config.json "training" and shown in the card
    kind: str  # "run" | "checkpoint" | "folder"
    path: Path


def _jsonable(value: Any) -> Any:
    """Builtin containers and scalars for JSON (tensors become lists, other objects strings)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    return str(value)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def validation_sdr(metrics: Any) -> dict[str, float] | None:
    """{"vocals_sdr", "instrumental_sdr"} from a checkpoint's metrics (the training loop keeps the best
    validation under "best_val"); None when absent."""
    if not isinstance(metrics, dict):
        return None
    for candidate in (metrics.get("best_val"), metrics.get("best"), metrics.get("validation"), metrics):
        if isinstance(candidate, dict):
            found = {k: _number(candidate.get(k)) for k in ("vocals_sdr", "instrumental_sdr")}
            found = {k: v for k, v in found.items() if v is not None}
            if found:
                if _number(candidate.get("step")) is not None:
                    found["step"] = int(candidate["step"])
                return found
    return None


def _from_checkpoint(path: Path, kind: str) -> ExportSource:
    from vocal_remover.train.checkpoint import load_checkpoint, model_from_checkpoint

    state = load_checkpoint(path)
    model = model_from_checkpoint(state)
    step = state.get("step")
    training = {
        "source": str(path),
        "steps": int(step) if isinstance(step, int) or _number(step) is not None else None,
        "data": state.get("dataset_fingerprint") if isinstance(state.get("dataset_fingerprint"), str) else None,
        "validation": validation_sdr(state.get("metrics")),
        "command": state.get("command") if isinstance(state.get("command"), str) else None,
        "package_version": state.get("package_version") if isinstance(state.get("package_version"), str) else None,
        "train_config": _jsonable(state.get("train_config")) if isinstance(state.get("train_config"), dict) else None,
    }
    training = {k: v for k, v in training.items() if v is not None}
    trained = training.get("steps", 1) != 0
    return ExportSource(model.float().eval(), trained, training, kind, path)


def _from_folder(folder: Path) -> ExportSource:
    from vocal_remover.artifacts import ONNX_NAME, WEIGHTS_NAME, load_model_folder

    if (folder / ONNX_NAME).is_file() and not (folder / WEIGHTS_NAME).is_file():
        raise ModelError(str(folder), "an ONNX export cannot be exported again; export from the run, checkpoint "
                                      "or model folder it was made from")
    loaded = load_model_folder(folder)
    training = dict(loaded.metadata.get("training") or {})
    training.setdefault("source", str(folder))
    return ExportSource(loaded.model.float().eval(), loaded.trained, training, "folder", folder)


def load_source(source: str | Path, *, which: str = "best", offline: bool = False) -> ExportSource:
    """The network and its provenance from a run directory, a checkpoint, a model folder or a model spec."""
    if which not in ("best", "last"):
        raise ConfigError(f"checkpoint '{which}'", "expected best or last")
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.is_dir():
        if (path / "checkpoints").is_dir():
            from vocal_remover.train.checkpoint import find_run_checkpoint

            return _from_checkpoint(find_run_checkpoint(path, which), "run")
        return _from_folder(path)
    if path.is_file():
        if path.suffix.lower() == ".onnx":
            raise ModelError(str(path), "an ONNX export cannot be exported again; export from the run, checkpoint "
                                        "or model folder it was made from")
        return _from_checkpoint(path, "checkpoint")
    from vocal_remover.hub import resolve_model

    return _from_folder(Path(resolve_model(text, offline=offline)))


# --------------------------------------------------------------------------------------------
# Model card
# --------------------------------------------------------------------------------------------


def _fmt_sdr(validation: Any) -> str:
    if not isinstance(validation, dict):
        return "unknown"
    parts = [f"{label} {validation[key]:.2f} dB" for key, label in (("vocals_sdr", "vocals"),
                                                                       ("instrumental_sdr", "instrumental"))
             if isinstance(validation.get(key), (int, float))]
    if not parts:
        return "unknown"
    at = f" (at step {validation['step']})" if isinstance(validation.get("step"), int) else ""
    return ", ".join(parts) + at + "; global SDR, median over the validation tracks"


def model_card(config, meta: dict[str, Any], num_parameters: int, *, fmt: str = "folder") -> str:
    """README.md of an exported model: what it is, where it came from, how to use it."""
    training = meta.get("training") or {}
    trained = bool(meta.get("trained"))

    def known(key: str) -> str:
        value = training.get(key)
        return "unknown" if value in (None, "") else str(value)

    def code(key: str) -> str:
        value = known(key)
        return value if value == "unknown" else f"`{value}`"

    artifact = {
        "folder": f"model folder, {meta.get('weights_dtype', 'float32')} weights in `model.safetensors`"
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
        ("validation SDR", _fmt_sdr(training.get("validation"))),
        ("trained with", code("command")),
        ("exported with", code("exported_with")),
        ("exported from", code("source")),
        ("made with", f"vocal-remover {meta.get('package_version', __version__)}"),
    ]
    use = {
        "folder": "vocal-remover separate -m path/to/this-folder song.mp3",
        "onnx": "vocal-remover separate -m path/to/model.onnx song.mp3   # or the folder holding it",
        "torchscript": "# torch.jit.load('model.torchscript.pt') maps (batch, 2, bins, frames) magnitudes to a mask",
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


def _metadata(config, trained: bool, training: dict[str, Any], weights_dtype: str, runtime: str) -> dict[str, Any]:
    from vocal_remover.artifacts import FORMAT_VERSION

    return {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "trained": bool(trained),
        "weights_dtype": weights_dtype,
        "runtime": runtime,
        "model": config.to_dict(),
        "training": _jsonable(training),
    }


# --------------------------------------------------------------------------------------------
# Export-friendly network
# --------------------------------------------------------------------------------------------


def _attention_forward_for_export(self, x, memory=None, prev_scores=None):
    """MultibandFrameAttention.forward without Python ints derived from the frame count: the relative
    term is gathered from the whole position table instead of the reachable slice (same values)."""
    import torch

    memory = x if memory is None else memory
    batch, width = x.shape[0], x.shape[1]
    scale = self.head_dim ** -0.5
    q = self._heads(self.q_conv(self.q_proj(x))) * scale
    k = self._heads(self.k_conv(self.k_proj(memory)))
    v = self._heads(self.v_conv(self.v_proj(memory)))
    scores = q @ k.transpose(-1, -2)
    half = self.max_cropsize // 2
    pos = torch.arange(width, device=x.device)
    index = (pos[None, :] - pos[:, None]).clamp(-half, half - 1) + half  # relative_index(), unsliced
    rel = q @ self.rel_table.to(q.dtype)  # (B, h, W, max_cropsize)
    scores = scores + torch.gather(rel, -1, index.expand(rel.shape[0], rel.shape[1], width, width))
    if prev_scores is not None:
        scores = scores + prev_scores
    attn = torch.softmax(scores, dim=-1)
    out = (attn @ v).transpose(1, 2).reshape(batch, width, -1)
    return self.out_proj(out), scores


def exportable(model):
    """A copy of `model` (eval, CPU, float32) whose attention modules use the export-friendly forward."""
    from vocal_remover.model.attention import MultibandFrameAttention

    net = copy.deepcopy(model).to("cpu").float().eval()
    for module in net.modules():
        if isinstance(module, MultibandFrameAttention):
            module.forward = types.MethodType(_attention_forward_for_export, module)
    return net


def _example(config, batch: int, frames: int, seed: int = 0):
    """Music-like network input: sparse, non-negative, falling with frequency, peak 1 (mean ~0.01, as
    peak-normalised mixtures have). Dense noise (mean ~0.2) lies far outside what a trained model sees:
    its activations grow huge there, and float16 rounding then flips whole mask bins."""
    import torch

    rng = np.random.default_rng(seed)
    x = rng.random((batch, config.in_channels, config.num_bins, frames), dtype=np.float32) ** 8
    x *= (1.0 / (1.0 + np.arange(config.num_bins, dtype=np.float32) / 32.0))[:, None]
    x /= x.reshape(batch, -1).max(axis=1)[:, None, None, None]
    return torch.from_numpy(x)


def _parity_frames(config) -> tuple[tuple[int, int], ...]:
    """(batch, frames) pairs for the parity check: none equals the traced (2, 64)."""
    limit = config.max_cropsize
    return (1, min(37, limit)), (2, min(160, limit))


def parity_inputs(config) -> list:
    """The music-like network inputs an export is checked on (batch and frame counts other than the traced)."""
    return [_example(config, b, f, seed=i + 1) for i, (b, f) in enumerate(_parity_frames(config))]


@contextlib.contextmanager
def _quiet():
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


def max_mask_difference(reference, candidate: Callable, inputs) -> float:
    """Largest |mask difference| between a torch module and another callable over `inputs` (tensors)."""
    import torch

    worst = 0.0
    with torch.inference_mode():
        for x in inputs:
            expected = reference(x).float().numpy()
            got = candidate(x)
            got = got.float().numpy() if hasattr(got, "numpy") and not isinstance(got, np.ndarray) else np.asarray(got)
            if got.shape != expected.shape:
                raise ModelError("export", f"exported network returned shape {got.shape}, expected {expected.shape}")
            worst = max(worst, float(np.max(np.abs(got - expected))))
    return worst


def export_onnx(model, path: str | Path, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write the network as ONNX to `path` (input `magnitude`, output `mask`, dynamic batch and frames),
    with `metadata` (a config.json dict) under the key `vocal_remover_config`. Needs onnx + onnxscript."""
    import torch

    from vocal_remover.backends import INPUT_NAME, METADATA_KEY, OUTPUT_NAME

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
        program = torch.onnx.export(net, (_example(config, 2, min(64, config.max_cropsize)),), dynamo=True,
                                    input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                                    dynamic_shapes=({0: batch, 3: frames},), opset_version=ONNX_OPSET,
                                    optimize=True, verbose=False, report=False)
        if metadata is not None:
            program.model.metadata_props[METADATA_KEY] = json.dumps(metadata)
        program.save(str(path))
    return Path(path)


def export_torchscript(model, path: str | Path, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write the network traced with torch.jit.trace (dynamic batch and frames) to `path`, with
    `metadata` as the archive's extra file `config.json`."""
    import torch

    net = exportable(model)
    with _quiet(), torch.no_grad():
        traced = torch.jit.trace(net, _example(net.config, 2, min(64, net.config.max_cropsize)), check_trace=False)
        extra = {"config.json": json.dumps(metadata)} if metadata is not None else {}
        torch.jit.save(traced, str(path), _extra_files=extra)
    return Path(path)


def load_torchscript(path: str | Path):
    """(module, metadata dict) of a TorchScript export."""
    import torch

    extra = {"config.json": ""}
    with _quiet():
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    text = extra["config.json"]
    return module.eval(), (json.loads(text) if text else {})


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


@dataclass
class ExportResult:
    path: Path
    format: str
    source: ExportSource
    parameters: int
    max_abs_diff: float | None = None  # of the exported network's mask vs PyTorch (None: not checked)
    files: list[str] = field(default_factory=list)


def _check_target(target: Path, overwrite: bool, single_file: bool) -> None:
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise ModelError(str(target), "already exists (pass --overwrite to replace it)")
        if single_file and target.is_dir():
            raise ModelError(str(target), "is a folder; a single-file export cannot replace it")
        if not single_file and not target.is_dir():
            raise ModelError(str(target), "is a file; a folder export cannot replace it")


@contextlib.contextmanager
def _staged(target: Path, *, overwrite: bool, single_file: bool):
    """Yield a temporary path next to `target` (a folder, or a file path); on success it is renamed onto
    `target`, on any error or Ctrl-C it is removed and `target` is left as it was."""
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if single_file:
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.partial-", suffix=target.suffix, dir=parent)
            os.close(fd)
            tmp = Path(name)
        else:
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=parent))
    except OSError as exc:
        raise ModelError(str(target), f"cannot write here: {exc.strerror or exc}") from None
    try:
        yield tmp
        _check_target(target, overwrite, single_file)  # it may have appeared meanwhile
        make_shareable(tmp)
        replace_path(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


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
    from vocal_remover.artifacts import CARD_NAME, CONFIG_NAME, ONNX_NAME, load_model_folder, save_model_folder
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

    src = load_source(source, which=which, offline=offline)
    say(f"Loaded {src.kind} {src.path}")
    model, config = src.model, src.model.config
    training = dict(src.training)
    if command:
        training["exported_with"] = command
    parameters = count_parameters(model)
    inputs = parity_inputs(config)

    if fmt == "folder":
        meta = _metadata(config, src.trained, training, "float16" if half else "float32", "torch")
        card = model_card(config, meta, parameters, fmt="folder")
        with _staged(output, overwrite=overwrite, single_file=False) as tmp:
            # save_model_folder writes atomically itself: build inside our staging folder.
            built = save_model_folder(model, tmp / "model", trained=src.trained, training=meta["training"],
                                      card=card, half=half)
            for child in built.iterdir():
                os.replace(child, tmp / child.name)
            built.rmdir()
            diff = None
            if verify:
                say("Checking the saved weights against the source")
                diff = max_mask_difference(model, load_model_folder(tmp).model, inputs)
                if diff > (PARITY_LIMIT if not half else 0.05):
                    raise ModelError(str(output), f"the saved model differs from its source (mask difference {diff:.2e})")
        files = sorted(p.name for p in output.iterdir())
        return ExportResult(output, fmt, src, parameters, diff, files)

    runtime = "onnxruntime" if fmt == "onnx" else "torchscript"
    meta = _metadata(config, src.trained, training, "float32", runtime)
    name = ONNX_NAME if fmt == "onnx" else TORCHSCRIPT_NAME
    with _staged(output, overwrite=overwrite, single_file=single_file) as tmp:
        file = tmp if single_file else tmp / name
        say(f"Exporting to {fmt} (this traces the network; it can take a minute)")
        if fmt == "onnx":
            export_onnx(model, file, metadata=meta)
        else:
            export_torchscript(model, file, metadata=meta)
        if not single_file:
            (tmp / CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            (tmp / CARD_NAME).write_text(model_card(config, meta, parameters, fmt=fmt), encoding="utf-8")
        diff = None
        if verify:
            say(f"Checking the {fmt} network against PyTorch")
            if fmt == "onnx":
                from vocal_remover.backends import OnnxMaskModel

                run = OnnxMaskModel(file)
            else:
                run = load_torchscript(file)[0]
            diff = max_mask_difference(model, run, inputs)
            if not diff <= PARITY_LIMIT:
                raise ModelError(str(output), f"the {fmt} network differs from PyTorch by {diff:.2e} "
                                              f"(limit {PARITY_LIMIT:g}); nothing was written")
    files = [output.name] if single_file else sorted(p.name for p in output.iterdir())
    return ExportResult(output, fmt, src, parameters, diff, files)


# --------------------------------------------------------------------------------------------
# Hugging Face Hub
# --------------------------------------------------------------------------------------------


@dataclass
class PushResult:
    repo_id: str
    revision: str  # the branch pushed to
    commit: str  # 40-hex commit hash: pin it as ORG/NAME@<commit>
    url: str

    @property
    def spec(self) -> str:
        return f"{self.repo_id}@{self.commit}"


def _push_error(exc: BaseException, repo_id: str, endpoint: str) -> BaseException:
    from vocal_remover import hub

    what = f"push to {repo_id}"
    if hub._is_unreachable(exc) and hub._status(exc) is None:
        return ModelError(what, f"{hub._unreachable(exc, endpoint)}; check your connection or HF_ENDPOINT")
    status = hub._status(exc)
    if status in (401, 403):
        return ModelError(what, f"access denied (HTTP {status}); log in with `hf auth login` or set HF_TOKEN "
                                "(a token with write access)")
    if status is not None:
        response = getattr(exc, "response", None)
        server = (getattr(response, "headers", None) or {}).get("X-Error-Message") if response is not None else None
        reason = f"HTTP {status}" + (f": {' '.join(str(server).split())[:100]}" if server else "")
        return ModelError(what, f"the Hub at {endpoint} refused it ({reason})")
    if isinstance(exc, (OSError, ValueError, RuntimeError)):
        return ModelError(what, f"upload failed: {' '.join(str(exc).split())[:200]}")
    return exc


def push_to_hub(folder: str | Path, repo_id: str, *, revision: str | None = None, private: bool = False,
                token: str | None = None, commit_message: str | None = None) -> PushResult:
    """Upload a model folder (config.json, model.safetensors, README.md) to the Hub repo `repo_id`
    (created if needed, private if asked; an existing repo keeps its visibility) on branch `revision`
    (default main; created from main if missing) in one commit. Returns the commit to pin.

    Uses huggingface_hub's HfApi with HF_ENDPOINT / HF_TOKEN; file contents go through Xet when
    `hf_xet` is installed, else through the LFS protocol.
    """
    from vocal_remover.artifacts import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME
    from vocal_remover.hub import _endpoint

    folder = Path(folder)
    if not _REPO_ID_RE.match(repo_id or ""):
        raise ConfigError(f"--push-to-hub '{repo_id}'", "expected a Hub id like org/name")
    if revision is not None and (not revision.strip() or re.fullmatch(r"[0-9a-f]{40}", revision)):
        raise ConfigError(f"--revision '{revision}'", "expected a branch name")
    missing = [n for n in (CONFIG_NAME, WEIGHTS_NAME) if not (folder / n).is_file()]
    if missing:
        raise ModelError(str(folder), f"not a model folder (missing {' and '.join(missing)}); only model folders "
                                      "can be pushed: `separate` downloads those")
    import huggingface_hub as hf

    endpoint = _endpoint()
    branch = revision or "main"
    api = hf.HfApi(endpoint=endpoint, token=token)
    operations = [hf.CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(folder / name))
                  for name in (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME) if (folder / name).is_file()]
    bars_were_off = hf.utils.are_progress_bars_disabled()
    hf_logger = logging.getLogger("huggingface_hub")
    level = hf_logger.level
    hf.utils.disable_progress_bars()  # the library never prints
    hf_logger.setLevel(logging.ERROR)
    try:
        api.create_repo(repo_id, private=True if private else None, exist_ok=True)
        if branch != "main":
            api.create_branch(repo_id, branch=branch, exist_ok=True)
        info = api.create_commit(repo_id, operations=operations, revision=branch,
                                 commit_message=commit_message or f"Upload vocal-remover model ({__version__})")
    except Exception as exc:  # noqa: BLE001 - mapped to one-line errors
        raise _push_error(exc, repo_id, endpoint) from None
    finally:
        hf_logger.setLevel(level)
        if not bars_were_off:
            hf.utils.enable_progress_bars()
    return PushResult(repo_id, branch, info.oid, info.commit_url)
