"""Pitch-shifted and time-stretched copies of vocal stems: more singers' ranges and tempi from the same
recordings. Too slow to do per training item (a phase vocoder per crop), so copies are made once, before
`cache`, as a vocals-only pool (recipes/data/make_vocal_variants.py), or, with every stem of a track moved by
the same amounts, as new real pairs still in key and in time (recipes/data/make_pair_variants.py).
"""

from __future__ import annotations

import hashlib

import numpy as np


def vocal_variant(audio: np.ndarray, rate: int, semitones: float = 0.0, stretch: float = 1.0) -> np.ndarray:
    """(n, channels) float audio shifted by `semitones` and played `stretch` times faster (length / stretch).

    librosa's phase vocoder per channel; the result is float32 (m, channels), clipped to [-1, 1].
    """
    import librosa

    if stretch <= 0:
        raise ValueError(f"stretch must be positive, got {stretch}")
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    channels = []
    for c in range(x.shape[1]):
        y = x[:, c]
        if stretch != 1.0:
            y = librosa.effects.time_stretch(y, rate=stretch)
        if semitones:
            y = librosa.effects.pitch_shift(y, sr=rate, n_steps=semitones, res_type="soxr_hq")
        channels.append(y)
    n = min(len(y) for y in channels)
    return np.clip(np.stack([y[:n] for y in channels], axis=1), -1.0, 1.0).astype(np.float32)


def stems_variant(stems: dict[str, np.ndarray], rate: int, semitones: float = 0.0,
                  stretch: float = 1.0) -> dict[str, np.ndarray]:
    """Every stem of one track moved by the same amounts (`vocal_variant`), cut to one common length, so the
    stems still sum to a mixture whose parts agree in key and tempo (unlike a voxaug remix)."""
    moved = {name: vocal_variant(audio, rate, semitones, stretch) for name, audio in stems.items()}
    n = min(len(audio) for audio in moved.values())
    return {name: audio[:n] for name, audio in moved.items()}


def pick_variant(name: str, semitones: list[float], stretches: list[float], seed: int = 0) -> tuple[float, float]:
    """A (semitones, stretch) choice that depends only on the file's name and the seed (reproducible)."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    return float(rng.choice(semitones)), float(rng.choice(stretches))
