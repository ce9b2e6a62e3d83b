"""vocal_remover.export: model folders from runs/checkpoints, fp16, ONNX and TorchScript parity on a real
clip, `separate -m model.onnx`, atomic never-overwriting writes, and push-to-hub against the loopback Hub."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from helpers import leftovers

from vocal_remover.artifacts import load_model, load_model_folder
from vocal_remover.errors import ConfigError, ModelError
from vocal_remover.model import PRESETS
from vocal_remover.export import export_model, load_torchscript
from vocal_remover.hub import push_to_hub
from vocal_remover.model import build_model, count_parameters, get_preset
from vocal_remover.spec import network_input, stft
from vocal_remover.train.checkpoint import save_checkpoint

HAVE_ONNX = all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxscript", "onnxruntime"))
needs_onnx = pytest.mark.skipif(not HAVE_ONNX, reason="onnx/onnxscript/onnxruntime not installed "
                                                      "(pip install '.[export]')")
PARITY = 1e-4  # max |mask difference| against PyTorch on real magnitudes


def make_checkpoint(path: Path, *, seed: int = 0, full: bool = True) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model("tiny").eval()
    state = {"model_config": get_preset("tiny").to_dict(), "model": model.state_dict()}
    if full:
        state.update({"step": 10, "train_config": {"lr": 1e-3, "batch_size": 4}, "dataset_fingerprint": "fp-1234abcd",
                      "metrics": {"best_val": {"score": 5.0, "by": "mean_sdr", "step": 10, "vocals_sdr": 3.25,
                                               "instrumental_sdr": 6.75}},
                      "command": "vocal-remover train --preset tiny", "package_version": "0.1.0"})
    save_checkpoint(state, path)
    return model


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("run")
    make_checkpoint(run_dir / "checkpoints" / "best.pt", seed=0)
    make_checkpoint(run_dir / "checkpoints" / "last.pt", seed=1)
    return run_dir


@pytest.fixture(scope="module")
def real_magnitudes(real_track) -> torch.Tensor:
    """Network input of a real clip (tiny preset's STFT): (1, 2, 256, frames) of the whole 6.8 s."""
    import soundfile as sf

    vocals, _ = sf.read(real_track / "vocals.ogg", dtype="float32")
    accomp, _ = sf.read(real_track / "accompaniment.ogg", dtype="float32")
    mix = torch.from_numpy(np.ascontiguousarray((vocals + accomp).T))[None]
    cfg = get_preset("tiny")
    return network_input(stft(mix, cfg.n_fft, cfg.hop_length), cfg.num_bins)


def seeded_tiny(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model("tiny")


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ------------------------------------------------------------------------------- model folders


def test_folder_from_run_dir_best_and_last(run_dir, tmp_path):
    best = export_model(run_dir, tmp_path / "best", command="vocal-remover export RUN -o best")
    assert best.source.kind == "run" and best.source.path.name == "best.pt"
    assert best.files == ["README.md", "config.json", "model.safetensors"] and best.max_abs_diff == 0.0
    loaded = load_model_folder(best.path)
    assert same_weights(loaded.model, seeded_tiny(0)) and loaded.trained
    card = (best.path / "README.md").read_text()
    for text in (f"{count_parameters(loaded.model):,}", "`frame_primer`", "fp-1234abcd", "| training steps | 10 |",
                 "vocals 3.25 dB, instrumental 6.75 dB", "`vocal-remover train --preset tiny`",
                 "`vocal-remover export RUN -o best`"):
        assert text in card, text
    training = json.loads((best.path / "config.json").read_text())["training"]
    assert training["data"] == "fp-1234abcd" and training["steps"] == 10
    assert training["validation"] == {"vocals_sdr": 3.25, "instrumental_sdr": 6.75, "step": 10}
    assert training["train_config"] == {"lr": 1e-3, "batch_size": 4}

    last = export_model(run_dir, tmp_path / "last", which="last")
    assert same_weights(load_model_folder(last.path).model, seeded_tiny(1))
    assert leftovers(tmp_path) == []


def test_checkpoint_without_provenance_says_unknown(tmp_path):
    make_checkpoint(tmp_path / "bare.pt", full=False)
    result = export_model(tmp_path / "bare.pt", tmp_path / "out")
    card = (result.path / "README.md").read_text()
    for row in ("training data fingerprint", "training steps", "validation SDR", "trained with"):
        assert f"| {row} | unknown |" in card
    with pytest.raises(ModelError, match="no such file or folder"):
        export_model(tmp_path / "missing.pt", tmp_path / "junk-out")


def test_fp16_folder_and_refolding_a_folder(run_dir, tmp_path):
    f32 = export_model(run_dir, tmp_path / "f32")
    f16 = export_model(f32.path, tmp_path / "f16", half=True)  # a model folder as the source
    assert f16.source.kind == "folder" and f16.source.training["data"] == "fp-1234abcd"
    with safe_open(str(f16.path / "model.safetensors"), "pt") as f:
        stored = {k: f.get_tensor(k) for k in f.keys()}
    # weight matrices and kernels in float16; norm statistics, scales and biases (vectors) in float32
    assert {t.dtype for t in stored.values() if t.is_floating_point() and t.dim() >= 2} == {torch.float16}
    assert {t.dtype for t in stored.values() if t.is_floating_point() and t.dim() < 2} == {torch.float32}
    size32, size16 = (f32.path / "model.safetensors").stat().st_size, (f16.path / "model.safetensors").stat().st_size
    assert size16 < 0.6 * size32
    loaded = load_model_folder(f16.path)
    assert {p.dtype for p in loaded.model.parameters()} == {torch.float32}
    assert json.loads((f16.path / "config.json").read_text())["weights_dtype"] == "float16"
    assert 0 < f16.max_abs_diff < 1e-2  # fp16 rounding, measured on masks
    with pytest.raises(ConfigError, match="model folders only"):
        export_model(run_dir, tmp_path / "x.onnx", half=True)


def test_fp16_keeps_values_beyond_float16_range_in_float32(tmp_path):
    """A trained model can hold weights beyond float16's 65504: those stay float32, not inf."""
    from vocal_remover.artifacts import save_model_folder
    from vocal_remover.model import build_model

    model = build_model(PRESETS["tiny"]).eval()
    big = next(n for n, p in model.named_parameters() if p.dim() >= 2)
    with torch.no_grad():
        dict(model.named_parameters())[big].mul_(0).add_(7e4)
    folder = save_model_folder(model, tmp_path / "m", trained=True, half=True)
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        assert f.get_tensor(big).dtype == torch.float32
        assert all(torch.isfinite(f.get_tensor(k)).all() for k in f.keys() if f.get_tensor(k).is_floating_point())
    assert torch.equal(load_model_folder(folder).model.state_dict()[big], model.state_dict()[big])


def test_never_overwrites_and_never_half_writes(run_dir, tmp_path, monkeypatch):
    target = tmp_path / "model"
    export_model(run_dir, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(ModelError, match="already exists"):
        export_model(run_dir, target, which="last")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before

    # A failure in the middle of an export (here: while writing TorchScript) leaves neither a partial
    # folder nor temp files, and the existing target is untouched even with overwrite.
    import vocal_remover.export.writer as export_mod

    def boom(model, path, *, metadata=None):
        Path(path).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(export_mod, "export_torchscript", boom)
    with pytest.raises(KeyboardInterrupt):
        export_model(run_dir, target, fmt="torchscript", overwrite=True)
    with pytest.raises(KeyboardInterrupt):
        export_model(run_dir, tmp_path / "fresh.pt")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]

    replaced = export_model(run_dir, target, which="last", overwrite=True)
    assert same_weights(load_model_folder(replaced.path).model, seeded_tiny(1))
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------------------------- TorchScript


def test_torchscript_parity_on_a_real_clip(run_dir, tmp_path, real_magnitudes):
    result = export_model(run_dir, tmp_path / "ts")
    ts = export_model(run_dir, tmp_path / "ts-folder", fmt="torchscript")
    assert ts.files == ["README.md", "config.json", "model.torchscript.pt"] and ts.max_abs_diff <= PARITY
    module, meta = load_torchscript(ts.path / "model.torchscript.pt")
    assert meta["model"] == get_preset("tiny").to_dict() and meta["weights_dtype"] == "float32"
    reference = load_model_folder(result.path).model
    with torch.inference_mode():
        for x in (real_magnitudes[..., :256], real_magnitudes[..., 40:140],  # two frame counts
                  torch.cat([real_magnitudes[..., :64], real_magnitudes[..., 64:128]])):  # batch of 2
            assert (module(x) - reference(x)).abs().max().item() <= PARITY
    bare = export_model(run_dir, tmp_path / "model.pt")  # the suffix implies the format
    assert bare.format == "torchscript" and bare.path.is_file() and load_torchscript(bare.path)[1]["trained"]


# ------------------------------------------------------------------------------- ONNX


@pytest.fixture(scope="module")
def onnx_export(run_dir, tmp_path_factory):
    """One ONNX export (the dynamo exporter takes ~20 s), shared by the ONNX tests."""
    if not HAVE_ONNX:
        pytest.skip("onnx/onnxscript/onnxruntime not installed (pip install '.[export]')")
    out = tmp_path_factory.mktemp("onnx")
    return export_model(run_dir, out / "tiny-onnx", fmt="onnx"), export_model(run_dir, out / "tiny-folder")


@needs_onnx
def test_onnx_mask_parity_on_a_real_clip(onnx_export, real_magnitudes):
    result, folder = onnx_export
    assert result.files == ["README.md", "config.json", "model.onnx"] and result.max_abs_diff <= PARITY
    loaded = load_model(result.path)
    assert type(loaded.model).__name__ == "OnnxMaskModel" and loaded.trained
    assert loaded.config == get_preset("tiny") and "ONNX" in (result.path / "README.md").read_text()
    reference = load_model_folder(folder.path).model
    diffs = []
    with torch.inference_mode():
        # The whole clip (256 frames = max_cropsize), other frame counts than the export's 64, and a batch.
        for x in (real_magnitudes[..., :256], real_magnitudes[..., 13:113], real_magnitudes[..., 200:233],
                  torch.cat([real_magnitudes[..., :50], real_magnitudes[..., 100:150]])):
            diffs.append((loaded.model(x) - reference(x)).abs().max().item())
    assert max(diffs) <= PARITY, diffs
    assert isinstance(loaded.model(real_magnitudes[..., :20].numpy()), np.ndarray)  # numpy in, numpy out


@needs_onnx
def test_separate_with_onnx_matches_torch(onnx_export, real_mix, tmp_path):
    from vocal_remover.separator import Separator

    result, folder = onnx_export
    import soundfile as sf

    mix, rate = sf.read(real_mix, dtype="float32")
    expected = Separator(folder.path, precision="fp32").separate_array(mix, rate)
    for spec in (result.path, result.path / "model.onnx"):  # the folder, or the bare file beside config.json
        got = Separator(spec, precision="fp32").separate_array(mix, rate)
        assert np.abs(got["vocals"] - expected["vocals"]).max() < 1e-4

    # A bare .onnx file elsewhere: the configuration comes from its metadata.
    lone = tmp_path / "lone" / "model.onnx"
    lone.parent.mkdir()
    lone.write_bytes((result.path / "model.onnx").read_bytes())
    res = cli("separate", "-m", str(lone), "--allow-untrained", "-q", str(real_mix), "-o", str(tmp_path / "out"))
    assert res.exit_code == 0, res.output
    inst, _ = sf.read(tmp_path / "out" / "real mix_Instruments.wav", dtype="float32")
    assert np.abs(inst - expected["instrumental"]).max() < 1e-4

    # No configuration anywhere: a clear error.
    (tmp_path / "odd.onnx").write_bytes(b"not onnx")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        load_model(tmp_path / "odd.onnx")
    with pytest.raises(ModelError, match="cannot be exported again"):
        export_model(result.path, tmp_path / "again")


# ------------------------------------------------------------------------------- CLI


def cli(*args: str):
    """`vocal-remover ARGS` in-process (typer's runner: no interpreter start-up per call)."""
    from typer.testing import CliRunner

    from vocal_remover.cli import app

    return CliRunner().invoke(app, list(args))


def test_cli_export_folder_and_torchscript(run_dir, tmp_path):
    res = cli("export", str(run_dir), "-o", str(tmp_path / "m"), "-q")
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(tmp_path / "m")
    card = (tmp_path / "m" / "README.md").read_text()
    assert f"| exported with | `vocal-remover export {run_dir} -o {tmp_path / 'm'}` |" in card

    again = cli("export", str(run_dir), "-o", str(tmp_path / "m"))
    assert again.exit_code == 1 and again.stderr.startswith("Error: ") and "already exists" in again.stderr

    ts = cli("export", str(run_dir / "checkpoints" / "last.pt"), "-o", str(tmp_path / "m.pt"))
    assert ts.exit_code == 0, ts.output
    assert "differ from PyTorch by at most" in ts.stderr and (tmp_path / "m.pt").is_file()

    usage = cli("export", str(run_dir))
    assert usage.exit_code == 2 and "--output" in usage.stderr
    assert leftovers(tmp_path) == []


def test_contradictions_and_files_that_are_not_checkpoints_are_clear(run_dir, tmp_path):
    res = cli("export", str(run_dir), "-o", str(tmp_path / "x.onnx"), "--format", "torchscript")
    assert res.exit_code == 2 and res.stderr.count("\n") == 1, res.output
    assert "-o" in res.stderr and "--format torchscript" in res.stderr and ".onnx" in res.stderr
    assert list(tmp_path.iterdir()) == []

    torch.save(torch.nn.Linear(2, 2), tmp_path / "pickled.pt")  # `torch.save(model)`: pickled Python objects
    (tmp_path / "text.pt").write_text("hello\n")
    (tmp_path / "cut.pt").write_bytes((run_dir / "checkpoints" / "last.pt").read_bytes()[:5000])
    for name in ("pickled.pt", "text.pt", "cut.pt"):
        res = cli("export", str(tmp_path / name), "-o", str(tmp_path / "out"))
        assert res.exit_code == 1 and res.stderr.count("\n") == 1, res.output
        message = res.stderr.strip()
        assert message.startswith(f"Error: {tmp_path / name}: not a") and "Traceback" not in res.output
        assert "\x1b" not in message and "weights_only" not in message, message  # not torch's page of advice
        assert message.endswith((")", "loaded)", "one")), message  # whole sentences, not cut mid-word
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------- Hub


@pytest.fixture
def upload_hub(hub, monkeypatch):
    """The loopback Hub, with Xet off (huggingface_hub 2.4 uploads through Xet whenever hf_xet is
    installed; the loopback server speaks the LFS protocol)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    return hub


def test_push_to_hub_round_trip(upload_hub, run_dir, tmp_path):
    from vocal_remover.hub import resolve_model

    folder = export_model(run_dir, tmp_path / "model").path
    pushed = push_to_hub(folder, "org/tiny", private=True)
    assert len(pushed.commit) == 40 and pushed.spec == f"org/tiny@{pushed.commit}"
    assert upload_hub.repo_settings["org/tiny"] == {"private": True}
    # The weights went through the LFS batch API and a PUT to the "CDN"; the commit was NDJSON.
    assert upload_hub.count("/info/lfs/objects/batch", method="POST") == 1
    assert upload_hub.count("/upload/", method="PUT", server="cdn") == 1
    assert upload_hub.count("/api/models/org/tiny/commit/main", method="POST") == 1

    downloaded = resolve_model(pushed.spec)  # the real client downloads the pinned commit back
    assert same_weights(load_model_folder(downloaded).model, load_model_folder(folder).model)
    assert (downloaded / "README.md").read_text() == (folder / "README.md").read_text()

    again = push_to_hub(folder, "org/tiny")  # nothing changed: no new commit
    assert again.commit == pushed.commit

    f16 = export_model(folder, tmp_path / "f16", half=True).path
    branch = push_to_hub(f16, "org/tiny", revision="fp16")
    assert branch.revision == "fp16" and branch.commit != pushed.commit
    assert upload_hub.repos["org/tiny"].refs["main"] == pushed.commit  # main did not move
    assert load_model_folder(resolve_model(branch.spec)).metadata["weights_dtype"] == "float16"

    with pytest.raises(ConfigError, match="org/name"):
        push_to_hub(folder, "no-slash")
    with pytest.raises(ModelError, match="only model folders"):
        push_to_hub(tmp_path, "org/tiny")


def test_cli_export_push_prints_the_commit(upload_hub, run_dir):
    res = cli("export", str(run_dir), "--push-to-hub", "org/cli", "--revision", "dev")
    assert res.exit_code == 0, res.output
    commit = upload_hub.repos["org/cli"].refs["dev"]
    spec = res.stdout.strip()
    assert spec == f"org/cli@{commit}" and f"pin it with -m {spec}" in res.stderr
    assert sorted(upload_hub.repos["org/cli"].commits[commit].files) == [".gitattributes", "README.md",
                                                                         "config.json", "model.safetensors"]
    bad = cli("export", str(run_dir), "--push-to-hub", "org/cli", "--format", "onnx")
    assert bad.exit_code == 2 and "model folders only" in bad.stderr
