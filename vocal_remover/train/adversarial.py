"""GAN finetuning (pix2pix style), as the seed's train-gan.py: a PatchGAN conv discriminator judges
(mixture, instrumental) magnitude pairs; the generator loss is `lambda_l1 * L1 + BCE`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


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
    return 0.5 * (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def generator_adversarial_loss(disc: nn.Module, x: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    logits = disc(x, fake)
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
