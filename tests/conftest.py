"""Shared fixtures: a tiny untrained model folder, real clips from ../shared/data, the loopback Hub.
Plain helpers (paths, generated music, subprocess checks) are in helpers.py."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import soundfile as sf
import torch

# Raw folders given to training are cached under the user cache dir (platformdirs): keep the
# tests' caches out of the real one (subprocesses inherit this; set before helpers.ENV copies os.environ).
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="vocal-remover-tests-cache-")

from helpers import MUSDB_VALID, musdb_tracks  # noqa: E402


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


# A fake Hugging Face Hub on 127.0.0.1 (tests/hub_server.py): `hub_server` is the running server;
# `hub` also points HF_ENDPOINT at it and HF_HOME / HF_HUB_CACHE at a tmp dir.
from hub_server import hub, hub_server  # noqa: E402,F401
