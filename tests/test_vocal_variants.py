"""Pitch-shifted / time-stretched vocal copies: the pitch and the length move by the amounts asked."""

from __future__ import annotations

import numpy as np
import pytest

from vocal_remover.data.vocal_variants import pick_variant, stems_variant, vocal_variant

RATE = 44100


def peak_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * RATE / len(x))


def test_pitch_and_length_follow_the_request():
    t = np.arange(2 * RATE) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 440.0 * t)
    stereo = np.stack([tone, 0.5 * tone], axis=1).astype(np.float32)
    up = vocal_variant(stereo, RATE, semitones=2.0)
    assert up.shape == stereo.shape and up.dtype == np.float32
    middle = slice(RATE // 2, RATE // 2 + 32768)
    assert peak_hz(up[middle, 0]) == pytest.approx(440.0 * 2 ** (2 / 12), abs=2.0)  # 493.9 Hz
    assert np.abs(up[middle, 1]).max() == pytest.approx(0.5 * np.abs(up[middle, 0]).max(), rel=0.05)
    slower = vocal_variant(stereo[:, :1], RATE, stretch=0.8)
    assert abs(len(slower) - len(stereo) / 0.8) < 2048 and slower.shape[1] == 1
    assert peak_hz(slower[RATE // 2:RATE // 2 + 32768, 0]) == pytest.approx(440.0, abs=2.0)  # same pitch
    with pytest.raises(ValueError):
        vocal_variant(stereo, RATE, stretch=0.0)


def test_variant_choice_is_reproducible_and_covers_the_lists():
    semis, stretches = [-2.0, -1.0, 1.0, 2.0], [0.9, 1.0, 1.1]
    picks = [pick_variant(f"ssvd/{i}.ogg", semis, stretches) for i in range(200)]
    assert picks == [pick_variant(f"ssvd/{i}.ogg", semis, stretches) for i in range(200)]
    assert {p[0] for p in picks} == set(semis) and {p[1] for p in picks} == set(stretches)
    assert picks != [pick_variant(f"ssvd/{i}.ogg", semis, stretches, seed=1) for i in range(200)]


def test_stems_of_a_track_move_together():
    t = np.arange(2 * RATE) / RATE
    voice = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    bass = (0.3 * np.sin(2 * np.pi * 110.0 * t[:-500])).astype(np.float32)  # a stem a little shorter
    moved = stems_variant({"vocals": np.stack([voice, voice], 1), "accompaniment": np.stack([bass, bass], 1)},
                          RATE, semitones=-2.0, stretch=1.1)
    assert set(moved) == {"vocals", "accompaniment"}
    assert moved["vocals"].shape == moved["accompaniment"].shape and moved["vocals"].shape[1] == 2
    assert abs(len(moved["vocals"]) - (2 * RATE - 500) / 1.1) < 2048
    middle = slice(RATE // 4, RATE // 4 + 32768)
    ratio = 2 ** (-2 / 12)
    assert peak_hz(moved["vocals"][middle, 0]) == pytest.approx(440.0 * ratio, abs=2.0)
    assert peak_hz(moved["accompaniment"][middle, 0]) == pytest.approx(110.0 * ratio, abs=2.0)


def test_the_torch_engine_matches_librosa_on_a_real_vocal(real_track):
    """The torch phase vocoder (what a GPU machine without librosa runs) makes the same variant as librosa,
    which computes in float64 when given float64 audio: equal length, and the difference ~100 dB down."""
    import librosa
    import soundfile as sf

    vocals, rate = sf.read(real_track / "vocals.ogg", dtype="float32")
    clip = vocals[: 3 * rate]
    for semitones, stretch in [(0.0, 0.9), (-1.0, 1.1)]:
        reference = []
        for channel in clip.T.astype(np.float64):
            y = librosa.effects.time_stretch(channel, rate=stretch)
            if semitones:
                y = librosa.effects.pitch_shift(y, sr=rate, n_steps=semitones, res_type="soxr_hq")
            reference.append(y)
        reference = np.clip(np.stack(reference, axis=1), -1, 1)
        moved = vocal_variant(clip, rate, semitones, stretch, engine="torch")
        assert moved.shape == reference.shape and moved.dtype == np.float32
        error = np.sum((moved - reference) ** 2) / np.sum(reference ** 2)
        assert 10 * np.log10(error) < -100
    with pytest.raises(ValueError):
        vocal_variant(clip, rate, 1.0, engine="rubberband")
