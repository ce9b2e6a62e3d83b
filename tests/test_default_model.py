"""The packaged default model: found offline with no download, the configuration of the recipe, small
enough for a wheel, and a real separation quality on real music (a floor well under what it measured, to
catch a broken model or a broken separation path, not to re-measure it)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from helpers import ENV, HANG, REPO, assert_no_traceback, musdb_tracks

from vocal_remover.hub import load_registry, resolve_model

PACKAGED = REPO / "vocal_remover" / "models" / "default"


def test_default_is_packaged_trained_and_loads_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = load_registry()["default"]
    assert entry.packaged_present and entry.packaged_path == PACKAGED
    folder = resolve_model("default", offline=True)
    config = json.loads((folder / "config.json").read_text())
    assert config["trained"] is True and config["weights_dtype"] == "float16"
    assert config["model"] == json.loads((REPO / "recipes" / "default-model.json").read_text())
    assert config["training"]["validation"]["vocals_sdr"] > 0
    size = sum(p.stat().st_size for p in folder.iterdir())
    assert size < 30e6, size  # fits in a wheel


@pytest.mark.skipif(not musdb_tracks(), reason="needs ../shared/data/musdb7/valid")
def test_default_separates_real_music(tmp_path):
    """`vocal-remover separate FILE` with no -m and no network, on three real validation mixtures."""
    from vocal_remover.evaluate import global_sdr

    tracks = musdb_tracks()[:3]
    inputs = []
    for track in tracks:
        vocals, rate = sf.read(track / "vocals.ogg", dtype="float32")
        accomp, _ = sf.read(track / "accompaniment.ogg", dtype="float32")
        path = tmp_path / f"{track.name}.wav"
        sf.write(path, vocals + accomp, rate, subtype="FLOAT")
        inputs.append((path, vocals, accomp))
    # No network: the Hub endpoint is a closed local port, and offline mode is on.
    env = {**ENV, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}
    proc = subprocess.run([sys.executable, "-m", "vocal_remover", "separate", *[str(p) for p, _, _ in inputs],
                           "-o", str(tmp_path / "out"), "-q"], capture_output=True, text=True, env=env, timeout=HANG)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    voc_sdr, inst_sdr = [], []
    for path, vocals, accomp in inputs:
        est_v, _ = sf.read(tmp_path / "out" / f"{path.stem}_Vocals.wav", dtype="float32")
        est_i, _ = sf.read(tmp_path / "out" / f"{path.stem}_Instruments.wav", dtype="float32")
        assert est_v.shape == vocals.shape and est_i.shape == accomp.shape
        assert np.abs(est_v + est_i - (vocals + accomp)).max() < 1e-4  # the stems sum to the input
        voc_sdr.append(global_sdr(vocals, est_v))
        inst_sdr.append(global_sdr(accomp, est_i))
    # The mixture itself scores about -4 / +4 dB on these tracks; the model measured far above the floors.
    assert np.median(voc_sdr) > 2.0 and np.median(inst_sdr) > 6.0, (voc_sdr, inst_sdr)


def test_cpu_precision_auto_is_bf16_only_for_inference_on_amx():
    """`auto` on the CPU: bf16 for separation where the CPU has AMX, fp32 elsewhere (the onnx engine) and
    always for training (exact, reproducible runs)."""
    import torch

    from vocal_remover.device import cpu_has_amx, resolve_precision

    cpu = torch.device("cpu")
    assert resolve_precision(cpu, "auto") is None
    assert resolve_precision(cpu, "auto", inference=True) == (torch.bfloat16 if cpu_has_amx() else None)
    assert resolve_precision(cpu, "fp32", inference=True) is None


@pytest.mark.skipif(not musdb_tracks(), reason="needs ../shared/data/musdb7/valid")
def test_bf16_separation_matches_fp32_closely():
    """The default model in bf16 (the CPU default where native) against fp32 on a real mixture: the
    instrumental estimates agree to far better than the model's own error (SDR between them > 25 dB)."""
    from vocal_remover.evaluate import global_sdr
    from vocal_remover.separator import Separator

    track = musdb_tracks()[0]
    vocals, rate = sf.read(track / "vocals.ogg", dtype="float32")
    accomp, _ = sf.read(track / "accompaniment.ogg", dtype="float32")
    mix = vocals + accomp
    torch_fp32 = Separator("default", precision="fp32", engine="torch", offline=True)  # bf16 vs fp32 autocast
    fp32 = torch_fp32.separate_array(mix, rate)["instrumental"]
    bf16 = Separator("default", precision="bf16", offline=True).separate_array(mix, rate)["instrumental"]
    assert global_sdr(fp32, bf16) > 25
    assert abs(global_sdr(accomp, fp32) - global_sdr(accomp, bf16)) < 0.2
