"""Shared fixtures: a tiny untrained model folder, real clips from ../shared/data, generated audio."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

REPO = Path(__file__).resolve().parents[1]

# Raw folders given to training are cached under the user cache dir (platformdirs): keep the
# tests' caches out of the real one (subprocesses inherit this).
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="vocal-remover-tests-cache-")
DATA = REPO.parent / "shared" / "data"
# Timeout of subprocesses: a bound only a hang reaches (never a timing assertion: a 2-core machine shared
# with other jobs can run a test many times slower than a quiet one).
HANG = 1800
MUSDB_VALID = DATA / "musdb7" / "valid"


def musdb_tracks(split: str = "valid") -> list[Path]:
    root = DATA / "musdb7" / split
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


@pytest.fixture(scope="session")
def real_track() -> Path:
    """A real MUSDB validation track folder (vocals.ogg + accompaniment.ogg)."""
    tracks = musdb_tracks("valid")
    if not tracks:
        pytest.skip(f"real data not found at {MUSDB_VALID} (see ../shared/data/README.md)")
    return tracks[0]


@pytest.fixture(scope="session")
def real_mix(real_track, tmp_path_factory) -> Path:
    """The mixture (vocals + accompaniment) of a real track as a 44.1 kHz stereo WAV."""
    vocals, rate = sf.read(real_track / "vocals.ogg", dtype="float32")
    accomp, _ = sf.read(real_track / "accompaniment.ogg", dtype="float32")
    path = tmp_path_factory.mktemp("real") / "real mix.wav"
    sf.write(path, vocals + accomp, rate, subtype="FLOAT")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """An untrained `tiny` model folder, made once per session."""
    from vocal_remover.artifacts import save_model_folder
    from vocal_remover.model import build_model

    torch.manual_seed(0)
    return save_model_folder(build_model("tiny"), tmp_path_factory.mktemp("models") / "tiny", trained=False)


def make_music(seconds: float, rate: int = 44100, channels: int = 2, seed: int = 0) -> np.ndarray:
    """A deterministic music-like signal: a few decaying tones plus a little noise, in (-1, 1)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    out = np.zeros((n, channels), dtype=np.float64)
    for _ in range(6):
        freq = rng.uniform(80, min(4000, rate / 3))
        onset = rng.uniform(0, 0.5)
        env = np.exp(-3 * ((t - onset) % 1.0))
        for c in range(channels):
            out[:, c] += 0.1 * env * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.28))
    out += 0.01 * rng.standard_normal(out.shape)
    return out.astype(np.float32)


# A fake Hugging Face Hub on 127.0.0.1 (tests/hub_server.py): `hub_server` is the running server;
# `hub` also points HF_ENDPOINT at it and HF_HOME / HF_HUB_CACHE at a tmp dir.
from hub_server import hub, hub_server  # noqa: E402,F401
