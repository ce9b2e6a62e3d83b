"""GAN finetuning (pix2pix style), as the seed's train-gan.py: a PatchGAN conv discriminator judges
(mixture, instrumental) magnitude pairs; the generator loss is `lambda_l1 * L1 + BCE`.

`AdversarialObjective` owns the discriminator, its optimizer and gradient scaler: the training loop
sees one objective like any other (a loss per micro-batch, a turn after each optimizer step, entries
in the checkpoint).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits, l1_loss

from vocal_remover.device import autocast
from vocal_remover.train.objectives import Objective, SupervisedObjective, target_magnitudes

# Checkpoint keys of the discriminator's state (the names of the first GAN runs, so that they resume).
DISCRIMINATOR_KEYS = ("discriminator", "disc_optimizer", "disc_scaler")


class PatchDiscriminator(nn.Module):
    """(B, 2C, F, W) condition+candidate -> (B, 1, F', W') real/fake logits per patch.

    Channels 8 -> 256 over `depth` strided 4x4 convolutions (the last two unstrided), LeakyReLU."""

    def __init__(self, in_channels: int = 4, channels: int = 8, depth: int = 6):
        super().__init__()
        layers: list[nn.Module] = []
        ch_in, ch = in_channels, channels
        for i in range(depth):
            stride = 2 if i < depth - 2 else 1
            layers += [nn.Conv2d(ch_in, ch, 4, stride, 1, bias=i == 0)]
            if i > 0:
                layers.append(nn.BatchNorm2d(ch))
            layers.append(nn.LeakyReLU(0.2))
            ch_in, ch = ch, min(ch * 2, 256)
        layers.append(nn.Conv2d(ch_in, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, condition: torch.Tensor, candidate: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat((condition, candidate), dim=1))


def discriminator_loss(disc: nn.Module, x: torch.Tensor, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    real_logits = disc(x, real)
    fake_logits = disc(x, fake.detach())
    return 0.5 * (binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def generator_adversarial_loss(disc: nn.Module, x: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    logits = disc(x, fake)
    return binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


class AdversarialObjective(Objective):
    """Generator loss per micro-batch: `lambda_l1 * L1(mask * x, y) + BCE(D(x, mask * x) -> real)`; after
    each optimizer step the discriminator learns once, on the last micro-batch's (condition, real, fake)
    magnitudes. val_loss stays the supervised objective's, so it compares with non-adversarial runs."""

    def __init__(self, supervised: SupervisedObjective, *, lambda_l1: float, lr: float, device: torch.device):
        self.supervised = supervised
        self.lambda_l1 = lambda_l1
        self.device = device
        self.discriminator = PatchDiscriminator(in_channels=2 * supervised.config.in_channels).to(device)
        self.optimizer = torch.optim.AdamW(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
        self.scaler = torch.amp.GradScaler(device.type, enabled=supervised.dtype == torch.float16)
        self._last_pair: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def __call__(self, model, batch: dict, generator: torch.Generator | None = None):
        _, x, peak, mask = self.supervised.predict(model, batch["mix"])
        y = target_magnitudes(batch["instrumental"], self.supervised.config, peak)
        fake = mask * x
        spec_l1 = l1_loss(fake, y)
        g_adv = generator_adversarial_loss(self.discriminator, x, fake)
        self._last_pair = (x.detach(), y.detach(), fake.detach())
        return self.lambda_l1 * spec_l1 + g_adv, {"spec_l1": spec_l1.item(), "g_adv": g_adv.item()}

    def validation_loss(self, model, batch: dict, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.supervised.validation_loss(model, batch, generator)

    def after_step(self) -> dict[str, float]:
        """One discriminator update on the last micro-batch's pair."""
        assert self._last_pair is not None, "after_step before any generator loss"
        x, real, fake = self._last_pair
        self.optimizer.zero_grad(set_to_none=True)  # drop grads the generator's BCE left here
        with autocast(self.device, self.supervised.dtype):
            d_loss = discriminator_loss(self.discriminator, x, real, fake)
        self.scaler.scale(d_loss).backward()
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.discriminator.parameters(), 0.5)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        return {"d_loss": d_loss.item()}

    def _parts(self) -> dict[str, Any]:
        return dict(zip(DISCRIMINATOR_KEYS, (self.discriminator, self.optimizer, self.scaler)))

    def state_dict(self) -> dict[str, Any]:
        return {key: part.state_dict() for key, part in self._parts().items()}

    def load_state_dict(self, checkpoint: dict[str, Any]) -> None:
        if DISCRIMINATOR_KEYS[0] not in checkpoint:
            return  # nothing saved: the discriminator starts afresh
        for key, part in self._parts().items():
            part.load_state_dict(checkpoint[key])
