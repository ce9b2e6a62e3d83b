"""Training objectives: batch of audio in, scalar loss out. The STFT runs here, on the training
device, in float32 outside autocast (spec.py); only the network runs under autocast. The network's
input is normalised by `spec.scaled_magnitudes`, the same function separation uses.

Axis legend: B batch, C channels, F bins the network sees, W frames, S samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.nn.functional import l1_loss

from vocal_remover.device import autocast
from vocal_remover.model.config import ModelConfig
from vocal_remover.spec import full_band_mask, istft, scaled_magnitudes, stft


def audio_to_input(audio: torch.Tensor, cfg: ModelConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, C, S) audio -> complex spec (B, C, F + 1, W), the network's input (B, C, F, W) as separation
    makes it, and the per-item peak (B, 1, 1, 1) it was divided by."""
    spec = stft(audio, cfg.n_fft, cfg.hop_length)
    x, peak = scaled_magnitudes(spec, cfg.num_bins)
    return spec, x, peak


def target_magnitudes(audio: torch.Tensor, cfg: ModelConfig, peak: torch.Tensor) -> torch.Tensor:
    """(B, C, S) target audio -> (B, C, F, W) magnitudes on the input's scale (divided by the mixture's peak)."""
    return scaled_magnitudes(stft(audio, cfg.n_fft, cfg.hop_length), cfg.num_bins, peak)[0]


def negative_sdr(estimate: torch.Tensor, reference: torch.Tensor, mixture: torch.Tensor, floor: float = 1e-4
                 ) -> torch.Tensor:
    """Mean over the batch of each item's negative SDR in dB (all (B, C, S)). Both energies get a floor,
    `floor` times the mixture's energy, so a silent reference or a perfect estimate stays finite, and the
    gradient, which grows as the error shrinks, stops growing there (at 40 dB below the mixture for 1e-4):
    without it, crops that are already nearly right (no vocals) would take most of the step."""
    dims = tuple(range(1, estimate.dim()))
    floor = floor * mixture.square().sum(dims) + 1e-8
    error = (estimate - reference).square().sum(dims)
    return (10 * torch.log10((error + floor) / (reference.square().sum(dims) + floor))).mean()


class Objective:
    """What the loop trains: `loss, stats = objective(model, batch, generator)` per micro-batch.

    The hooks below do nothing here. An objective with networks of its own to train
    (`adversarial.AdversarialObjective`) takes its turn in `after_step` and keeps its state in the
    checkpoint through `state_dict` / `load_state_dict`."""

    def __call__(self, model, batch: dict, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def validation_loss(self, model, batch: dict, generator: torch.Generator | None = None) -> torch.Tensor:
        """The loss reported as val_loss."""
        return self(model, batch, generator)[0]

    def after_step(self) -> dict[str, float]:
        """Called after each optimizer step taken (not after a skipped one); returns statistics to log."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Entries for the checkpoint (top-level keys beside the model's)."""
        return {}

    def load_state_dict(self, checkpoint: dict[str, Any]) -> None:
        """Restore from a whole checkpoint what `state_dict` put there."""


@dataclass
class PretrainObjective(Objective):
    """The seed's masked "unmasking": masked tokens of the input are set to 1 (or noised, or kept),
    the network's mask multiplies the input, and L1 against the clean input counts on the selected
    tokens only (HuBERT style)."""

    config: ModelConfig
    dtype: torch.dtype | None = None

    def __call__(self, model, batch: dict, generator: torch.Generator | None = None):
        from vocal_remover.data.masking import apply_token_masking

        audio = batch["audio"]
        _, clean, _ = audio_to_input(audio, self.config)
        inp, target, loss_mask = apply_token_masking(clean, batch["token_mode"].to(audio.device), generator)
        with autocast(audio.device, self.dtype):
            mask = model(inp)
        pred = inp * mask.float()
        weight = loss_mask.to(pred.dtype).expand_as(pred)
        loss = ((pred - target).abs() * weight).sum() / weight.sum().clamp_min(1.0)
        return loss, {"masked_fraction": loss_mask.float().mean().item()}


@dataclass
class SupervisedObjective(Objective):
    """The seed's L1 between the masked mixture magnitude and the instrumental magnitude (both
    scaled by the mixture's peak; weight `spec_weight`), plus two optional waveform terms on the instrumental rebuilt with the
    mixture's phase: an L1 (full-scale audio units, `wave_weight`) and each crop's negative SDR in dB
    (`sdr_weight`; `sdr_floor` is its floor, a fraction of the mixture's energy, see `negative_sdr`).

    The SDR term is the metric itself, per crop, so quiet and loud crops count alike (L1 weighs loud ones
    more). With the mixture's phase the vocal estimate is mixture - instrumental, so its error is the same
    signal and the term is also the vocals' negative SDR up to a constant."""

    config: ModelConfig
    dtype: torch.dtype | None = None
    wave_weight: float = 0.0
    sdr_weight: float = 0.0
    sdr_floor: float = 1e-4
    spec_weight: float = 1.0

    def predict(self, model, mix: torch.Tensor):
        """-> (complex spec, network input x, peak, float32 mask) of a (B, C, S) mixture."""
        spec, x, peak = audio_to_input(mix, self.config)
        with autocast(mix.device, self.dtype):
            mask = model(x)
        return spec, x, peak, mask.float()

    def __call__(self, model, batch: dict, generator: torch.Generator | None = None):
        mix, inst = batch["mix"], batch["instrumental"]
        spec, x, peak, mask = self.predict(model, mix)
        y = target_magnitudes(inst, self.config, peak)
        spectral = l1_loss(mask * x, y)
        stats = {"spec_l1": spectral.item()}
        loss = self.spec_weight * spectral
        if self.wave_weight > 0 or self.sdr_weight > 0:
            cfg = self.config
            est = istft(spec * full_band_mask(mask), cfg.n_fft, cfg.hop_length, mix.shape[-1])
            if self.wave_weight > 0:
                wave = l1_loss(est, inst)
                loss = loss + self.wave_weight * wave
                stats["wave_l1"] = wave.item()
            if self.sdr_weight > 0:
                sdr = negative_sdr(est, inst, mix, self.sdr_floor)
                loss = loss + self.sdr_weight * sdr
                stats["neg_sdr"] = sdr.item()
        return loss, stats
