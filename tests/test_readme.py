"""The README's quick start does what it says: one command that separates a real song (a mixture)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import DATA, HANG, REPO, musdb_tracks


def quick_start() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    assert len(blocks) >= 1
    return blocks[0].strip()


def test_quick_start_is_one_command_that_installs_then_separates():
    command = quick_start()
    assert "\n" not in command  # one line to paste
    setup, _, rest = command.partition(" && pip install -e . && ")
    assert setup == "python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0", setup
    assert "vocal-remover separate" in rest


@pytest.mark.skipif(not musdb_tracks(), reason=f"real data not found at {DATA}")
def test_quick_start_separates_a_real_mixture(tmp_path):
    """Everything after the installation, run as written from a checkout next to ../shared (here a
    stand-in folder with the same neighbour), with the installed package on PATH."""
    _, _, command = quick_start().partition(" && pip install -e . && ")
    checkout = tmp_path / "vocal-remover"
    checkout.mkdir()
    (tmp_path / "shared").symlink_to(DATA.parent, target_is_directory=True)
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(["bash", "-c", command], cwd=checkout, capture_output=True, text=True, env=env,
                          timeout=HANG)
    assert proc.returncode == 0, proc.stderr
    inputs = re.findall(r"vocal-remover separate (\S+)", command)
    assert len(inputs) == 1
    song = checkout / inputs[0].strip("'\"")
    paths = [checkout / p for p in proc.stdout.split()]
    assert [p.name for p in paths] == [f"{song.stem}_Instruments.wav", f"{song.stem}_Vocals.wav"]

    # The input is a real mixture (vocals + accompaniment of a MUSDB track), not a single stem ...
    track = next(t for t in musdb_tracks() if t.name in command)
    vocals, rate = sf.read(track / "vocals.ogg", dtype="float32")
    accomp, _ = sf.read(track / "accompaniment.ogg", dtype="float32")
    mix, mix_rate = sf.read(song, dtype="float32")
    assert mix_rate == rate and np.abs(mix - (vocals + accomp)).max() < 1e-4  # 16-bit WAV: steps of 3e-5

    # ... and the output is a real separation: far closer to the true stems than the mixture is.
    from vocal_remover.evaluate import global_sdr

    est_vocals, _ = sf.read(paths[1], dtype="float32")
    assert global_sdr(vocals, est_vocals) > global_sdr(vocals, mix) + 3
