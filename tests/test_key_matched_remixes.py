"""recipes/data/key_matched_remixes.py makes session 39's two pair pools: remixes whose vocal is moved into its
accompaniment's key, and the same remixes moved by a random interval. If the key measure is wrong, the experiment
compares two random pools and says nothing; if the pools differ in more than the shift, it measures the wrong thing.
Checked on tones of known pitch and on the script's written pools."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from helpers import ENV, REPO

sys.path.insert(0, str(REPO / "recipes" / "data"))
from key_matched_remixes import RATE, agreement, best_shift, pitch_profile  # noqa: E402


def tones(midi_notes: list[list[int]], seconds: float, seed: int = 0) -> np.ndarray:
    """Harmonic tones (5 partials), one chord of `midi_notes` after another, equal lengths, mono float32."""
    rng = np.random.default_rng(seed)
    per = int(seconds * RATE / len(midi_notes))
    t = np.arange(per) / RATE
    parts = []
    for chord in midi_notes:
        y = np.zeros(per)
        for note in chord:
            f0 = 440.0 * 2 ** ((note - 69) / 12)
            y += sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.28)) / k for k in range(1, 6) if f0 * k < 16000)
        parts.append(y * np.hanning(per))
    y = np.concatenate(parts)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


C_MAJOR_MELODY = [[60], [64], [67], [72], [67], [64], [62], [65], [69], [67], [64], [60]]
D_MAJOR_CHORDS = [[50, 54, 57], [55, 59, 62], [57, 61, 64], [50, 54, 57]]  # D, G, A, D


def test_the_best_shift_moves_a_c_major_melody_into_d_major():
    vocal = pitch_profile(tones(C_MAJOR_MELODY, 6.0))
    accompaniment = pitch_profile(tones(D_MAJOR_CHORDS, 6.0, seed=1))
    assert best_shift(vocal, accompaniment) == 2
    assert agreement(vocal, accompaniment, 2) > 0.5 > agreement(vocal, accompaniment, 0) + 0.2
    # over all twelve shifts the agreement averages zero, so a random shift agrees by 0 on average
    assert abs(np.mean([agreement(vocal, accompaniment, s) for s in range(12)])) < 1e-9


def test_the_pools_differ_in_the_vocal_shift_alone(tmp_path):
    vocals, accompaniments = tmp_path / "vocals", tmp_path / "instrumentals"
    vocals.mkdir()
    accompaniments.mkdir()
    for i, root in enumerate((0, 5, 9)):  # melodies in C, F and A
        sf.write(vocals / f"v{i}.flac", tones([[n + root for n in c] for c in C_MAJOR_MELODY], 8.0, seed=i), RATE)
    for i, root in enumerate((0, 2, 7)):
        chords = tones([[n + root - 2 for n in c] for c in D_MAJOR_CHORDS], 8.0, seed=10 + i)
        sf.write(accompaniments / f"a{i}.flac", np.stack([chords, 0.8 * chords], axis=1), RATE)
    out = tmp_path / "remixes"
    argv = [sys.executable, str(REPO / "recipes" / "data" / "key_matched_remixes.py"), "--vocals", str(vocals),
            "--accompaniments", str(accompaniments), "-o", str(out), "--count", "6", "--seconds", "4"]
    result = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["count"] == 6
    for name, entry in report["remixes"].items():
        matched, control = entry["key-matched"], entry["random-key"]
        assert matched["agreement"] >= control["agreement"] - 1e-9
        a_m, rate = sf.read(out / "key-matched" / name / "accompaniment.flac")
        a_r, _ = sf.read(out / "random-key" / name / "accompaniment.flac")
        v_m, _ = sf.read(out / "key-matched" / name / "vocals.flac")
        v_r, _ = sf.read(out / "random-key" / name / "vocals.flac")
        assert rate == RATE and a_m.shape == a_r.shape == v_m.shape == v_r.shape == (4 * RATE, 2)
        # the same accompaniment segment in both (each pool scaled only to keep its mixture's peak <= 0.98)
        scale = np.dot(a_m[:, 0], a_r[:, 0]) / np.dot(a_r[:, 0], a_r[:, 0])
        np.testing.assert_allclose(a_m, scale * a_r, atol=2e-4)
        assert np.abs(a_m + v_m).max() <= 0.99 and np.abs(a_r + v_r).max() <= 0.99
        if matched["shift"] == control["shift"]:
            np.testing.assert_allclose(v_m, scale * v_r, atol=2e-4)
    assert report["matched_agreement_mean"] > report["random_agreement_mean"] + 0.3
    # a rerun resumes: nothing to do, the report unchanged
    again = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=300)
    assert again.returncode == 0 and json.loads((out / "report.json").read_text()) == report


def test_calibration_finds_real_songs_in_their_own_key(tmp_path):
    for i, root in enumerate((0, 5)):  # two songs, each vocal in its accompaniment's key (C, F)
        track = tmp_path / "songs" / f"song{i}"
        track.mkdir(parents=True)
        sf.write(track / "vocals.flac", tones([[n + root for n in c] for c in C_MAJOR_MELODY], 8.0, seed=i), RATE)
        chords = tones([[n + root - 2 for n in c] for c in D_MAJOR_CHORDS], 8.0, seed=5 + i)
        sf.write(track / "accompaniment.flac", chords, RATE)
    result = subprocess.run([sys.executable, str(REPO / "recipes" / "data" / "key_matched_remixes.py"), "--calibrate",
                             str(tmp_path / "songs")], capture_output=True, text=True, env=ENV, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "2 sung segments" in result.stdout and "true key scores best in 100%" in result.stdout


@pytest.mark.parametrize("extra", [["--vocal-weights", "1,2"], ["--shard", "2/2"], ["--seconds", "60"],
                                   ["--calibrate", "nowhere"]])
def test_bad_options_are_one_line_errors(tmp_path, extra):
    folder = tmp_path / "audio"
    folder.mkdir()
    sf.write(folder / "x.flac", tones([[60]], 5.0), RATE)
    result = subprocess.run([sys.executable, str(REPO / "recipes" / "data" / "key_matched_remixes.py"), "--vocals",
                             str(folder), "--accompaniments", str(folder), "-o", str(tmp_path / "out"), *extra],
                            capture_output=True, text=True, env=ENV, timeout=120)
    assert result.returncode != 0
    assert result.stderr.strip().startswith("Error:") and len(result.stderr.strip().splitlines()) == 1
