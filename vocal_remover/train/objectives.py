"""Training objectives: batch of audio in, scalar loss out. The STFT runs here, on the training
device, in float32 outside autocast (spec.py); only the network runs under autocast.

Axis legend: B batch, C channels, F bins the network sees, W frames, S samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vocal_remover.device import autocast
from vocal_remover.model.config import ModelConfig
from vocal_remover.spec import full_band_mask, istft, stft


def magnitudes(audio: torch.Tensor, cfg: ModelConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, C, S) audio -> complex spec (B, C, F + 1, W), |spec[:F]| (B, C, F, W), per-item peak (B, 1, 1, 1)."""
    spec = stft(audio, cfg.n_fft, cfg.hop_length)
    mag = spec[:, :, : cfg.num_bins].abs()
    peak = mag.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-8)
    return spec, mag, peak


@dataclass
class PretrainObjective:
    """The seed's masked "unmasking": masked tokens of the input are set to 1 (or noised, or kept),
    the network's mask multiplies the input, and L1 against the clean input counts on the selected
    tokens only (HuBERT style)."""

    config: ModelConfig
    dtype: torch.dtype | None = None

    def __call__(self, model, batch: dict, generator: torch.Generator | None = None):
        from vocal_remover.data.masking import apply_token_masking

        audio = batch["audio"]
        _, mag, peak = magnitudes(audio, self.config)
        clean = mag / peak
        inp, target, loss_mask = apply_token_masking(clean, batch["token_mode"].to(audio.device), generator)
        with autocast(audio.device, self.dtype):
            mask = model(inp)
        pred = inp * mask.float()
        weight = loss_mask.to(pred.dtype).expand_as(pred)
        loss = ((pred - target).abs() * weight).sum() / weight.sum().clamp_min(1.0)
        return loss, {"masked_fraction": loss_mask.float().mean().item()}


@dataclass
class SupervisedObjective:
    """The seed's L1 between the masked mixture magnitude and the instrumental magnitude (both
    scaled by the mixture's peak), plus an optional waveform L1 (full-scale audio units) on the
    instrumental rebuilt with the mixture's phase (`wave_weight`)."""

    config: ModelConfig
    dtype: torch.dtype | None = None
    wave_weight: float = 0.0

    def predict(self, model, mix: torch.Tensor):
        spec, mag, peak = magnitudes(mix, self.config)
        x = mag / peak
        with autocast(mix.device, self.dtype):
            mask = model(x)
        return spec, x, peak, mask.float()

    def __call__(self, model, batch: dict, generator: torch.Generator | None = None):
        mix, inst = batch["mix"], batch["instrumental"]
        spec, x, peak, mask = self.predict(model, mix)
        _, inst_mag, _ = magnitudes(inst, self.config)
        y = inst_mag / peak
        loss = F.l1_loss(mask * x, y)
        stats = {"spec_l1": loss.item()}
        if self.wave_weight > 0:
            cfg = self.config
            est = istft(spec * full_band_mask(mask), cfg.n_fft, cfg.hop_length, mix.shape[-1])
            wave = F.l1_loss(est, inst)
            loss = loss + self.wave_weight * wave
            stats["wave_l1"] = wave.item()
        return loss, stats
