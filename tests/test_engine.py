"""`--engine`: onnxruntime for a model folder, exported once into the user cache, checked, reused."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from helpers import REPO
from vocal_remover import backends
from vocal_remover.artifacts import save_model_folder
from vocal_remover.errors import ConfigError, ModelError
from vocal_remover.model import build_model
from vocal_remover.separator import Separator
from vocal_remover.spec import network_input, stft

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory, tiny_model_dir):
    """A fresh ONNX cache folder, filled by the first `auto` separator in fp32 (one export for the module)."""
    folder = tmp_path_factory.mktemp("onnx-cache")
    before = os.environ.get(backends.CACHE_ENV)
    os.environ[backends.CACHE_ENV] = str(folder)
    messages: list[str] = []
    sep = Separator(tiny_model_dir, precision="fp32", log=messages.append)
    yield folder, sep, messages
    if before is None:
        os.environ.pop(backends.CACHE_ENV, None)
    else:
        os.environ[backends.CACHE_ENV] = before


def test_auto_takes_onnxruntime_where_the_cpu_computes_fp32():
    assert backends.choose_engine("auto", device_type="cpu", fp32=True, onnx_model=False) == "onnx"
    assert backends.choose_engine("auto", device_type="cpu", fp32=False, onnx_model=False) == "torch"  # native bf16
    assert backends.choose_engine("auto", device_type="cuda", fp32=True, onnx_model=False) == "torch"
    assert backends.choose_engine("auto", device_type="cpu", fp32=False, onnx_model=True) == "onnx"
    assert backends.choose_engine("torch", device_type="cpu", fp32=True, onnx_model=False) == "torch"
    with pytest.raises(ConfigError, match="ONNX export"):
        backends.choose_engine("torch", device_type="cpu", fp32=True, onnx_model=True)
    with pytest.raises(ConfigError, match="engine"):
        backends.choose_engine("openvino", device_type="cpu", fp32=True, onnx_model=False)


def test_first_use_exports_checks_and_caches(onnx_cache, tiny_model_dir):
    folder, sep, messages = onnx_cache
    assert sep.engine == "onnx" and isinstance(sep.model, backends.OnnxMaskModel)
    files = sorted(p.name for p in folder.iterdir())
    digest = hashlib.sha256((tiny_model_dir / "model.safetensors").read_bytes()).hexdigest()
    assert backends.weights_digest(tiny_model_dir / "model.safetensors") == digest
    expected = backends.onnx_cache_file(sep.config, digest)
    assert files == [expected.name]  # no temporary or failure files left
    assert expected.name.endswith(f"-ort{backends.onnxruntime_version()}.onnx")
    assert any("one-time export" in m for m in messages)
    # A second separator reuses it: no message, the file untouched.
    mtime = expected.stat().st_mtime_ns
    again: list[str] = []
    second = Separator(tiny_model_dir, precision="fp32", log=again.append)
    assert second.engine == "onnx" and again == [] and expected.stat().st_mtime_ns == mtime
    assert second.loaded.trained is False and second.config == sep.config


def test_onnx_engine_separates_like_torch(onnx_cache, tiny_model_dir, real_mix):
    _, sep, _ = onnx_cache
    x, rate = sf.read(real_mix, dtype="float32")
    x = x[:5 * rate]
    torch_sep = Separator(tiny_model_dir, precision="fp32", engine="torch")
    assert torch_sep.engine == "torch"
    a = sep.separate_array(x, rate)
    b = torch_sep.separate_array(x, rate)
    assert a["vocals"].shape == x.shape
    assert np.abs(a["vocals"] - b["vocals"]).max() < 1e-4
    assert np.abs(a["instrumental"] - b["instrumental"]).max() < 1e-4


def test_every_graph_optimisation_level_gives_the_same_masks(onnx_cache, tiny_model_dir, real_mix, monkeypatch):
    """The onnx engine runs at "extended" (no NCHWc layout transform, faster here); "all" and "basic" are there for
    benchmarks/onnx_optimization.py and must compute the same network. A wrong value is a one-line error."""
    from vocal_remover.artifacts.onnx_model import OPTIMIZATION_ENV

    _, sep, _ = onnx_cache
    assert sep.model.optimization == "extended"
    x, rate = sf.read(real_mix, dtype="float32")
    cfg = sep.config
    spec = stft(torch.from_numpy(x[None, : 3 * rate].transpose(0, 2, 1).copy()), cfg.n_fft, cfg.hop_length)
    magnitude = network_input(spec, cfg.num_bins).numpy()
    masks = {level: backends.OnnxMaskModel(sep.model.path, optimization=level)(magnitude)
             for level in ("basic", "extended", "all")}
    assert masks["extended"].shape == magnitude.shape
    assert np.abs(masks["extended"] - masks["all"]).max() < 1e-5
    assert np.abs(masks["basic"] - masks["all"]).max() < 1e-5
    monkeypatch.setenv(OPTIMIZATION_ENV, "all")
    assert backends.OnnxMaskModel(sep.model.path).optimization == "all"
    monkeypatch.setenv(OPTIMIZATION_ENV, "fastest")
    with pytest.raises(ConfigError, match="must be one of basic, extended, all"):
        backends.OnnxMaskModel(sep.model.path)
    with pytest.raises(ConfigError, match="must be one of"):  # refused before the cached export is touched
        Separator(tiny_model_dir, precision="fp32")
    assert sep.model.path.is_file() and not backends.failure_marker(sep.model.path).exists()


def test_a_failed_export_is_not_retried_by_auto(onnx_cache, tmp_path):
    """A failure marker (written when an export fails or differs from torch) makes auto use torch quietly."""
    torch.manual_seed(1)
    folder = save_model_folder(build_model("tiny"), tmp_path / "other", trained=False)
    from vocal_remover.artifacts import read_model_config

    config, _ = read_model_config(folder)
    cache = backends.onnx_cache_file(config, backends.weights_digest(folder / "model.safetensors"))
    backends.failure_marker(cache).write_text("differs\n")
    messages: list[str] = []
    sep = Separator(folder, precision="fp32", log=messages.append)
    assert sep.engine == "torch" and messages == [] and sep.notes == [] and not cache.exists()


def test_explicit_engine_choices_are_checked(onnx_cache, tiny_model_dir):
    with pytest.raises(ConfigError, match="precision bf16"):
        Separator(tiny_model_dir, precision="bf16", engine="onnx")
    # --engine onnx where auto would take torch (here: native bf16 asked for implicitly) uses fp32.
    sep = Separator(tiny_model_dir, engine="onnx")
    assert sep.engine == "onnx" and sep.dtype is None
    assert Separator(tiny_model_dir, precision="bf16").engine == "torch"


def test_without_onnxruntime_auto_falls_back_to_torch_quietly(tiny_model_dir, tmp_path):
    """Run where onnxruntime cannot be imported (blocked in sys.modules, as if not installed)."""
    code = (
        "import sys; sys.modules['onnxruntime'] = None\n"
        "from vocal_remover.separator import Separator\n"
        "from vocal_remover.errors import ModelError\n"
        f"sep = Separator({str(tiny_model_dir)!r}, precision='fp32')\n"
        "print(sep.engine, sep.notes)\n"
        "try:\n"
        f"    Separator({str(tiny_model_dir)!r}, engine='onnx')\n"
        "except ModelError as exc:\n"
        "    print(exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), backends.CACHE_ENV: str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "torch []"
    assert lines[1].startswith("--engine onnx: onnxruntime is not installed")
    assert list(tmp_path.iterdir()) == []


def test_an_untrained_model_is_refused_before_any_export(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(backends.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(ModelError, match="untrained"):
        Separator(tiny_model_dir, precision="fp32", allow_untrained=False)
    assert not (tmp_path / "cache").exists()
