"""Pitch-shifted and time-stretched copies of vocal stems: more singers' ranges and tempi from the same
recordings. Too slow to do per training item (a phase vocoder per crop), so copies are made once, before
`cache`, as a vocals-only pool (recipes/data/make_vocal_variants.py), or, with every stem of a track moved by
the same amounts, as new real pairs still in key and in time (recipes/data/make_pair_variants.py).
"""

from __future__ import annotations

import hashlib

import numpy as np


def vocal_variant(audio: np.ndarray, rate: int, semitones: float = 0.0, stretch: float = 1.0, *,
                  engine: str = "librosa", device: str = "cpu") -> np.ndarray:
    """(n, channels) float audio shifted by `semitones` and played `stretch` times faster (length / stretch).

    engine "librosa": librosa's phase vocoder per channel (time_stretch, then pitch_shift with soxr_hq).
    engine "torch": the same steps (phase vocoder with n_fft 2048, hop 512; soxr_hq to resample) with the
    phase vocoder in torch on `device`, every channel at once: no librosa needed, as on a lent GPU machine
    (recipes/gpu_session.sh), and much faster there. The two agree to within float32 rounding (tests).
    The result is float32 (m, channels), clipped to [-1, 1].
    """
    if stretch <= 0:
        raise ValueError(f"stretch must be positive, got {stretch}")
    if engine not in ("librosa", "torch"):
        raise ValueError(f"engine must be librosa or torch, got {engine!r}")
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if engine == "torch":
        y = _torch_variant(x.T, rate, semitones, stretch, device)
        return np.clip(y.T, -1.0, 1.0).astype(np.float32)
    import librosa

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


def phase_vocoder_stretch(x, rate: float, n_fft: int = 2048, hop: int = 512):
    """(channels, n) float32 tensor -> (channels, round(n / rate)): played `rate` times faster, same pitch.

    The classic phase vocoder (as librosa.effects.time_stretch computes it, centred STFT with a periodic Hann
    window): output frame t reads the input at frame t * rate, its magnitude interpolated linearly between the
    two neighbouring frames, its phase the first frame's phase plus, per bin, the expected advance and the
    measured deviation of every earlier step, summed (a cumulative sum here, where librosa loops)."""
    import torch

    n = x.shape[-1]
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    spec = torch.stft(x, n_fft, hop, window=window, center=True, pad_mode="constant", return_complex=True)
    frames = spec.shape[-1]
    steps = torch.arange(0, frames, rate, dtype=torch.float64, device=x.device)
    padded = torch.cat((spec, torch.zeros_like(spec[..., :2])), dim=-1)  # frames past the end read silence
    left_index = steps.long()
    alpha = (steps - left_index).to(x.dtype)
    left, right = padded[..., left_index], padded[..., left_index + 1]
    magnitude = (1 - alpha) * left.abs() + alpha * right.abs()
    advance = hop * torch.linspace(0, np.pi, spec.shape[-2], dtype=x.dtype, device=x.device)[:, None]
    deviation = right.angle() - left.angle() - advance
    deviation = deviation - 2 * np.pi * torch.round(deviation / (2 * np.pi))
    increments = (advance + deviation).double()
    # Phase of output frame t: the first input frame's phase plus the increments of frames 0 .. t-1
    phase = torch.cumsum(increments, dim=-1) - increments + spec[..., :1].angle().double()
    stretched = torch.polar(magnitude, phase.to(x.dtype))
    return torch.istft(stretched, n_fft, hop, window=window, center=True, length=int(round(n / rate)))


def _torch_variant(x: np.ndarray, rate: int, semitones: float, stretch: float, device: str) -> np.ndarray:
    """(channels, n) -> (channels, m): vocal_variant's steps with the phase vocoder in torch."""
    import soxr
    import torch

    # float64: librosa's float32 path accumulates the phase in float32, which drifts by up to ~0.1 rad over a
    # few thousand frames; in float64 the two engines agree to ~1e-5 of the signal (tests)
    y = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).to(device)
    if stretch != 1.0:
        y = phase_vocoder_stretch(y, stretch)
    if not semitones:
        return y.cpu().numpy()
    n = y.shape[-1]
    factor = 2.0 ** (-float(semitones) / 12)
    slow = phase_vocoder_stretch(y, factor).cpu().numpy()
    # Played at rate / factor, resampled back to rate: the original length again, the pitch moved
    shifted = soxr.resample(slow.T, float(rate) / factor, rate, quality="soxr_hq").T
    out = np.zeros((shifted.shape[0], n), np.float64)
    out[:, :min(n, shifted.shape[1])] = shifted[:, :n]
    return out


def stems_variant(stems: dict[str, np.ndarray], rate: int, semitones: float = 0.0, stretch: float = 1.0, *,
                  engine: str = "librosa", device: str = "cpu") -> dict[str, np.ndarray]:
    """Every stem of one track moved by the same amounts (`vocal_variant`), cut to one common length, so the
    stems still sum to a mixture whose parts agree in key and tempo (unlike a voxaug remix)."""
    moved = {name: vocal_variant(audio, rate, semitones, stretch, engine=engine, device=device)
             for name, audio in stems.items()}
    n = min(len(audio) for audio in moved.values())
    return {name: audio[:n] for name, audio in moved.items()}


def pick_variant(name: str, semitones: list[float], stretches: list[float], seed: int = 0) -> tuple[float, float]:
    """A (semitones, stretch) choice that depends only on the file's name and the seed (reproducible)."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    return float(rng.choice(semitones)), float(rng.choice(stretches))
