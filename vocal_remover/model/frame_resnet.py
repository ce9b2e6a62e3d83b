"""FrameResUNet: the seed README's second architecture, with its residual-block bug fixed.

A U-Net whose levels are post-norm residual blocks: a (3, 1) conv bottlenecks the map to one
channel, frame attention runs on it, and its output is broadcast-added to every channel and
layer-normed over bins; then a frame-wise conv feed-forward (C -> 2C -> C). Decoder blocks also
attend from the stream to the skip ("skip attention"). The seed's block returned the wrong tensor,
dropping its residual path and final norm; this one returns `norm(x + ffn(x))` as intended.

Axis legend: B batch, C channels, H bins, W frames.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vocal_remover.model.attention import MultibandFrameAttention
from vocal_remover.model.config import ModelConfig
from vocal_remover.model.layers import FrameDecoder, FrameEncoder

CHANNEL_MULTIPLIERS = (1, 2, 4, 6, 8, 10, 12)


class BinLayerNorm(nn.Module):
    """LayerNorm over the bins of every (channel, frame): (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, bins: int):
        super().__init__()
        self.norm = nn.LayerNorm(bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(2, 3)).transpose(2, 3)


class FrameResAttentionBlock(nn.Module):
    """Post-norm residual block: attention on a one-channel bottleneck, then a conv FFN."""

    def __init__(self, channels: int, bins: int, cfg: ModelConfig, skip_channels: int = 0):
        super().__init__()
        self.bottleneck = nn.Conv2d(channels, 1, kernel_size=(3, 1), padding=(1, 0), bias=False)
        self.attn = MultibandFrameAttention(bins, cfg.num_bands, cfg.max_cropsize)
        self.norm1 = BinLayerNorm(bins)
        self.skip_bottleneck = None
        if skip_channels:
            self.skip_bottleneck = nn.Conv2d(skip_channels, 1, kernel_size=(3, 1), padding=(1, 0), bias=False)
            self.skip_attn = MultibandFrameAttention(bins, cfg.num_bands, cfg.max_cropsize)
            self.norm_skip = BinLayerNorm(bins)
        self.ffn_in = nn.Conv2d(channels, channels * 2, kernel_size=(3, 1), padding=(1, 0), bias=False)
        self.ffn_out = nn.Conv2d(channels * 2, channels, kernel_size=(3, 1), padding=(1, 0), bias=False)
        self.norm2 = BinLayerNorm(bins)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C, H, W), skip: (B, C_s, H, W) for decoder blocks -> (B, C, H, W)."""
        h = self.bottleneck(x)[:, 0].transpose(1, 2)  # (B, W, H) frame tokens
        a, _ = self.attn(h)
        x = self.norm1(x + self.dropout(a.transpose(1, 2)[:, None]))
        if self.skip_bottleneck is not None and skip is not None:
            h = self.bottleneck(x)[:, 0].transpose(1, 2)
            mem = self.skip_bottleneck(skip)[:, 0].transpose(1, 2)
            a, _ = self.skip_attn(h, mem)
            x = self.norm_skip(x + self.dropout(a.transpose(1, 2)[:, None]))
        f = self.ffn_out(F.gelu(self.ffn_in(x)))
        return self.norm2(x + self.dropout(f))


class FrameResUNet(nn.Module):
    """(B, in_channels, bins, W) magnitudes -> (B, out_channels, bins, W) sigmoid mask.

    Level i has `channels * CHANNEL_MULTIPLIERS[i]` channels; `num_res_encoders` and
    `num_res_decoders` attention blocks follow each encoder and precede each decoder.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.depth > len(CHANNEL_MULTIPLIERS):
            raise ValueError(f"frame_resnet supports depth <= {len(CHANNEL_MULTIPLIERS)}")
        self.config = cfg
        n, m = cfg.norm, cfg.max_cropsize
        width = [cfg.channels * CHANNEL_MULTIPLIERS[i] for i in range(cfg.depth)]
        bins = [cfg.num_bins // 2 ** i for i in range(cfg.depth)]
        self.encoders = nn.ModuleList(
            FrameEncoder(cfg.in_channels if i == 0 else width[i - 1], width[i], norm=n, max_cropsize=m,
                         stride=1 if i == 0 else 2)
            for i in range(cfg.depth))
        self.encoder_blocks = nn.ModuleList(
            nn.ModuleList(FrameResAttentionBlock(width[i], bins[i], cfg) for _ in range(cfg.num_res_encoders))
            for i in range(cfg.depth))
        self.decoder_blocks = nn.ModuleList(
            nn.ModuleList(FrameResAttentionBlock(width[i], bins[i], cfg, skip_channels=width[i])
                          for _ in range(cfg.num_res_decoders))
            for i in range(cfg.depth - 1))
        self.decoders = nn.ModuleList(
            FrameDecoder(width[i + 1] + width[i], width[i], norm=n, max_cropsize=m)
            for i in range(cfg.depth - 1))
        self.out = nn.Conv2d(width[0], cfg.out_channels, kernel_size=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for encoder, blocks in zip(self.encoders, self.encoder_blocks):
            x = encoder(x)
            for block in blocks:
                x = block(x)
            skips.append(x)
        for i in reversed(range(self.config.depth - 1)):
            x = self.decoders[i](x, skips[i])
            for block in self.decoder_blocks[i]:
                x = block(x, skips[i])
        return torch.sigmoid(self.out(x))
