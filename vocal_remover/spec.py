"""STFT front end: one place for the transform, the network's input and the mask's application.

Always float32 and outside autocast: cuFFT in half precision only takes power-of-two sizes and
loses precision; backends without complex FFT (MPS on older PyTorch) run it on the CPU.
"""

from __future__ import annotations

import torch

_WINDOWS: dict[tuple[int, str], torch.Tensor] = {}


def _window(n_fft: int, device: torch.device) -> torch.Tensor:
    key = (n_fft, str(device))
    if key not in _WINDOWS:
        # Made outside inference mode even when first asked for under it (separation, validation): an
        # inference tensor in the cache could not be saved for backward by a later training step's istft.
        with torch.inference_mode(False):
            _WINDOWS[key] = torch.hann_window(n_fft, device=device)
    return _WINDOWS[key]


def _fft_device(device: torch.device) -> torch.device:
    return torch.device("cpu") if device.type == "mps" else device


def stft(audio: torch.Tensor, n_fft: int, hop_length: int) -> torch.Tensor:
    """audio: (..., T) real -> (..., n_fft // 2 + 1, 1 + T // hop_length) complex64, centered Hann STFT."""
    device = audio.device
    x = audio.to(_fft_device(device), torch.float32)
    lead = x.shape[:-1]
    with torch.autocast(device_type=x.device.type, enabled=False):
        spec = torch.stft(x.reshape(-1, x.shape[-1]), n_fft, hop_length, window=_window(n_fft, x.device),
                          center=True, pad_mode="constant", return_complex=True)
    return spec.reshape(*lead, *spec.shape[-2:]).to(device)


def istft(spec: torch.Tensor, n_fft: int, hop_length: int, length: int) -> torch.Tensor:
    """spec: (..., n_fft // 2 + 1, frames) complex -> (..., length) float32; inverse of `stft`."""
    device = spec.device
    s = spec.to(_fft_device(device))
    lead = s.shape[:-2]
    with torch.autocast(device_type=s.device.type, enabled=False):
        audio = torch.istft(s.reshape(-1, *s.shape[-2:]), n_fft, hop_length, window=_window(n_fft, s.device),
                            center=True, length=length)
    return audio.reshape(*lead, length).to(device)


def scaled_magnitudes(spec: torch.Tensor, num_bins: int, peak: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C, bins + 1, W) complex -> ((B, C, bins, W) magnitudes / peak, peak (B, 1, 1, 1)).

    The one normalisation of the network's input, for separation and training alike. The Nyquist bin
    is dropped. By default each item (window or training crop) is divided by its own peak, so
    separating in windows and training on crops see the same scale, and no whole-song pass is needed
    before streaming; silence stays 0 (no division by zero). Training passes the mixture's `peak` to
    put its target on the input's scale.
    """
    mag = spec[:, :, :num_bins].abs()
    if peak is None:
        peak = mag.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-8)
    return mag / peak, peak


def network_input(spec: torch.Tensor, num_bins: int) -> torch.Tensor:
    """(B, C, bins + 1, W) complex -> (B, C, bins, W) magnitudes scaled to [0, 1] per item
    (`scaled_magnitudes`)."""
    return scaled_magnitudes(spec, num_bins)[0]


def full_band_mask(mask: torch.Tensor) -> torch.Tensor:
    """(B, C, bins, W) mask -> (B, C, bins + 1, W): the Nyquist bin reuses its neighbour's mask."""
    return torch.cat((mask, mask[:, :, -1:]), dim=2)
