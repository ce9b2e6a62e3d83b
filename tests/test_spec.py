"""The STFT front end: round trip, parity with librosa, network input, mask extension."""

from __future__ import annotations

import librosa
import numpy as np
import torch

from vocal_remover.spec import full_band_mask, istft, network_input, stft


def test_round_trip_is_exact():
    torch.manual_seed(0)
    audio = torch.randn(2, 2, 44100) * 0.3
    back = istft(stft(audio, 2048, 1024), 2048, 1024, audio.shape[-1])
    assert back.shape == audio.shape
    rms = (back - audio).pow(2).mean().sqrt().item()
    assert rms < 1e-6


def test_frame_count_and_librosa_parity():
    rng = np.random.default_rng(0)
    audio = rng.standard_normal(30000).astype(np.float32)
    spec = stft(torch.from_numpy(audio), 2048, 1024)
    assert spec.shape == (1025, 1 + 30000 // 1024)
    ref = librosa.stft(audio, n_fft=2048, hop_length=1024, center=True, pad_mode="constant")
    # float32 FFTs agree to ~1e-4 of the largest bin (~84 here); the exact digits depend on the FFT backend and on
    # state earlier tests in the same process leave (on an Intel Xeon with MKL, session 39, one full-suite run gave
    # a bin 3e-3 off, 4e-5 of the largest, not reproduced alone). A wrong window, hop or padding is off by O(1-100).
    assert np.abs(spec.numpy() - ref).max() <= 1e-4 * np.abs(ref).max()


def test_network_input_is_scaled_per_item_and_silence_stays_zero():
    spec = torch.zeros(2, 2, 1025, 8, dtype=torch.complex64)
    spec[0] = torch.complex(torch.rand(2, 1025, 8) * 7, torch.rand(2, 1025, 8))
    x = network_input(spec, 1024)
    assert x.shape == (2, 2, 1024, 8)
    assert torch.isclose(x[0].max(), torch.tensor(1.0))
    assert torch.equal(x[1], torch.zeros_like(x[1]))
    assert torch.isfinite(x).all()


def test_nyquist_bin_reuses_its_neighbours_mask():
    mask = torch.rand(1, 2, 1024, 5)
    full = full_band_mask(mask)
    assert full.shape == (1, 2, 1025, 5)
    assert torch.equal(full[:, :, 1024], mask[:, :, 1023])


def test_window_made_under_inference_mode_still_trains():
    """Separating (inference mode) before training in one process must not poison the cached STFT window:
    the waveform loss backpropagates through istft, which saves the window for backward."""
    from vocal_remover.spec import _WINDOWS, istft, stft

    _WINDOWS.clear()
    audio = torch.randn(1, 2, 4096, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        stft(audio, 512, 128)
    spec = stft(audio, 512, 128).detach().requires_grad_(True)
    istft(spec, 512, 128, audio.shape[-1]).abs().sum().backward()
    assert spec.grad is not None and torch.isfinite(spec.grad).all() and spec.grad.abs().sum() > 0
