"""Convolutional building blocks of the frame primer.

Axis legend for every tensor here: B batch, C channels, H frequency bins, W frames.
All convolutions are frame-wise: kernels span bins, never neighbouring frames.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FrameNorm(nn.Module):
    """Per-frame normalisation: each frame is normalised over all its bins and channels.

    Equivalent to the seed's `InstanceNorm2d(cropsize, affine=True)` applied to `x.transpose(1, 3)`:
    one scale and shift per frame *position* (`max_cropsize` of each), so windows shorter than
    `max_cropsize` use the first W of them.
    """

    def __init__(self, max_cropsize: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(max_cropsize))
        self.bias = nn.Parameter(torch.zeros(max_cropsize))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, H, W) -> (B, C, H, W)."""
        width = x.shape[-1]
        if width > self.weight.shape[0]:
            raise ValueError(f"window of {width} frames exceeds max_cropsize {self.weight.shape[0]}")
        var, mean = torch.var_mean(x, dim=(1, 2), keepdim=True, unbiased=False)
        x = (x - mean) * torch.rsqrt(var + self.eps)
        return x * self.weight[:width] + self.bias[:width]


def make_norm(kind: str, channels: int, max_cropsize: int) -> nn.Module:
    """The two norms of the seed: BatchNorm over channels, or the per-frame norm."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "frame":
        return FrameNorm(max_cropsize)
    raise ValueError(f"unknown norm {kind!r}")


class FrameConv(nn.Module):
    """norm -> LeakyReLU -> Conv2d with a (k, 1) kernel (bins only) and an optional bin stride."""

    def __init__(self, in_channels: int, out_channels: int, *, norm: str, max_cropsize: int,
                 kernel_size: int = 3, stride: int = 1):
        super().__init__()
        self.norm = make_norm(norm, in_channels, max_cropsize)
        self.act = nn.LeakyReLU(0.01)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=(kernel_size, 1),
                              padding=(kernel_size // 2, 0), stride=(stride, 1), bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C_in, H, W) -> (B, C_out, H / stride, W)."""
        return self.conv(self.act(self.norm(x)))


class ResBlock(nn.Module):
    """Two FrameConvs plus an identity path (a strided 1x1 conv when the shape changes)."""

    def __init__(self, in_channels: int, out_channels: int, *, norm: str, max_cropsize: int,
                 stride: int = 1):
        super().__init__()
        self.conv1 = FrameConv(in_channels, out_channels, norm=norm, max_cropsize=max_cropsize)
        self.conv2 = FrameConv(out_channels, out_channels, norm=norm, max_cropsize=max_cropsize,
                               stride=stride)
        if in_channels != out_channels or stride != 1:
            self.identity: nn.Module = nn.Conv2d(in_channels, out_channels, kernel_size=1,
                                                 stride=(stride, 1), bias=True)
        else:
            self.identity = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C_in, H, W) -> (B, C_out, H / stride, W)."""
        return self.conv2(self.conv1(x)) + self.identity(x)


class FrameEncoder(ResBlock):
    """One level down the U-Net: a ResBlock whose stride halves the bins (stride 1 at level 0)."""


class FrameDecoder(nn.Module):
    """One level up the U-Net: double the bins, concatenate the skip, ResBlock."""

    def __init__(self, in_channels: int, out_channels: int, *, norm: str, max_cropsize: int):
        super().__init__()
        self.block = ResBlock(in_channels, out_channels, norm=norm, max_cropsize=max_cropsize)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """x: (B, C_x, H / 2, W), skip: (B, C_s, H, W) -> (B, C_out, H, W)."""
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=True)
        return self.block(torch.cat((x, skip), dim=1))


class ChannelBottleneck(nn.Module):
    """norm(C) -> ReLU -> Linear(C -> 1) applied at every bin and frame: (B, C, H, W) -> (B, 1, H, W)."""

    def __init__(self, channels: int, *, norm: str, max_cropsize: int):
        super().__init__()
        self.norm = make_norm(norm, channels, max_cropsize)
        self.linear = nn.Linear(channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm(x))
        # A Linear over the channel axis is a 1x1 convolution with the Linear's weights.
        return F.conv2d(x, self.linear.weight[:, :, None, None], self.linear.bias)
