"""The FramePrimer U-Net: frame-wise conv encoders/decoders with densely connected Primer modules.

Axis legend: B batch, C channels, H bins (halved per level), W frames (never downsampled).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from vocal_remover.model.attention import MultibandFrameAttention
from vocal_remover.model.config import ModelConfig
from vocal_remover.model.layers import ChannelBottleneck, FrameDecoder, FrameEncoder, make_norm


def _tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) map -> (B, W, H) frame tokens."""
    return x[:, 0].transpose(1, 2)


def _map(tokens: torch.Tensor) -> torch.Tensor:
    """(B, W, H) frame tokens -> (B, 1, H, W) map."""
    return tokens.transpose(1, 2)[:, None]


class SquaredReluFeedForward(nn.Module):
    """Primer's FFN: W2 relu(W1 x)^2 on (B, W, d) tokens."""

    def __init__(self, dim: int, hidden: int, bias: bool):
        super().__init__()
        self.linear1 = nn.Linear(dim, hidden, bias=bias)
        self.linear2 = nn.Linear(hidden, dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(torch.square(F.relu(self.linear1(x))))


class FramePrimerEncoder(nn.Module):
    """Bottleneck C channels to one, then a pre-norm Primer encoder block over frame tokens.

    Returns the input with the block's one-channel output appended (dense connection).
    """

    def __init__(self, channels: int, bins: int, cfg: ModelConfig):
        super().__init__()
        n, m = cfg.norm, cfg.max_cropsize
        self.bottleneck = ChannelBottleneck(channels, norm=n, max_cropsize=m)
        self.norm1 = make_norm(n, 1, m)
        self.attn = MultibandFrameAttention(bins, cfg.num_bands, m)
        self.norm2 = make_norm(n, 1, m)
        self.ffn = SquaredReluFeedForward(bins, cfg.feedforward_dim, cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, prev_scores: torch.Tensor | None):
        """x: (B, C, H, W) -> (B, C + 1, H, W), scores (B, heads, W, W)."""
        h = _tokens(self.bottleneck(x))
        a, scores = self.attn(_tokens(self.norm1(_map(h))), prev_scores=prev_scores)
        h = h + self.dropout(a)
        h = h + self.dropout(self.ffn(_tokens(self.norm2(_map(h)))))
        return torch.cat((x, _map(h)), dim=1), scores


class FramePrimerDecoder(nn.Module):
    """Bottleneck the stream and the skip ("memory") to one channel each, then a pre-norm Primer
    decoder block: self-attention, cross-attention to the memory, squared-ReLU FFN."""

    def __init__(self, channels: int, memory_channels: int, bins: int, cfg: ModelConfig):
        super().__init__()
        n, m = cfg.norm, cfg.max_cropsize
        self.bottleneck = ChannelBottleneck(channels, norm=n, max_cropsize=m)
        self.memory_bottleneck = ChannelBottleneck(memory_channels, norm=n, max_cropsize=m)
        self.norm1 = make_norm(n, 1, m)
        self.self_attn = MultibandFrameAttention(bins, cfg.num_bands, m)
        self.norm2 = make_norm(n, 1, m)
        self.cross_attn = MultibandFrameAttention(bins, cfg.num_bands, m)
        self.norm3 = make_norm(n, 1, m)
        self.ffn = SquaredReluFeedForward(bins, cfg.feedforward_dim, cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, prev_self: torch.Tensor | None,
                prev_cross: torch.Tensor | None):
        """x: (B, C, H, W), memory: (B, C_m, H, W) -> (B, C + 1, H, W), self and cross scores."""
        h = _tokens(self.bottleneck(x))
        mem = _tokens(self.memory_bottleneck(memory))
        a, self_scores = self.self_attn(_tokens(self.norm1(_map(h))), prev_scores=prev_self)
        h = h + self.dropout(a)
        a, cross_scores = self.cross_attn(_tokens(self.norm2(_map(h))), mem, prev_scores=prev_cross)
        h = h + self.dropout(a)
        h = h + self.dropout(self.ffn(_tokens(self.norm3(_map(h)))))
        return torch.cat((x, _map(h)), dim=1), self_scores, cross_scores


class FramePrimer(nn.Module):
    """Magnitude spectrogram in, sigmoid mask out: (B, in_channels, bins, W) -> (B, out_channels, bins, W).

    Level i has bins / 2^i bins and channels * (i + 1) conv channels. Per level on the way down:
    a FrameEncoder, then `num_transformer_encoders` primer encoders; on the way up, per level:
    `num_transformer_decoders` primer decoders attending to that level's skip, then the FrameDecoder
    to the level above. Every primer module appends one channel. RealFormer score chains run
    through all levels: one for encoder self-attention, one each for decoder self/cross-attention.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        n, m = cfg.norm, cfg.max_cropsize
        nte, ntd = cfg.num_transformer_encoders, cfg.num_transformer_decoders
        width = [cfg.channels * (i + 1) for i in range(cfg.depth)]
        bins = [cfg.num_bins // 2 ** i for i in range(cfg.depth)]
        skip = [w + nte for w in width]  # encoder output plus the primer encoders' channels

        self.encoders = nn.ModuleList()
        self.primer_encoders = nn.ModuleList()
        for i in range(cfg.depth):
            in_ch = cfg.in_channels if i == 0 else skip[i - 1]
            self.encoders.append(FrameEncoder(in_ch, width[i], norm=n, max_cropsize=m,
                                              stride=1 if i == 0 else 2))
            self.primer_encoders.append(nn.ModuleList(
                FramePrimerEncoder(width[i] + j, bins[i], cfg) for j in range(nte)))

        # Stream channels entering level i's primer decoders: the deepest level starts from the
        # encoder stream, every other level from its FrameDecoder's output.
        stream = [width[i] for i in range(cfg.depth)]
        stream[-1] = skip[-1]
        self.primer_decoders = nn.ModuleList(
            nn.ModuleList(FramePrimerDecoder(stream[i] + j, skip[i], bins[i], cfg) for j in range(ntd))
            for i in range(cfg.depth))
        # decoders[i] goes from level i + 1 up to level i.
        self.decoders = nn.ModuleList(
            FrameDecoder(stream[i + 1] + ntd + skip[i], width[i], norm=n, max_cropsize=m)
            for i in range(cfg.depth - 1))
        self.out = nn.Conv2d(width[0] + ntd, cfg.out_channels, kernel_size=1, bias=True)

    gradient_checkpointing = False  # recompute primer modules in the backward pass to save memory

    def _call(self, module: nn.Module, *args):
        if self.gradient_checkpointing and torch.is_grad_enabled():  # also under --eval-mode
            return checkpoint(module, *args, use_reentrant=False)
        return module(*args)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, in_channels, bins, W) normalised magnitudes -> mask (B, out_channels, bins, W) in (0, 1)."""
        skips = []
        enc_scores = None
        for encoder, primers in zip(self.encoders, self.primer_encoders):
            x = encoder(x)
            for primer in primers:
                x, enc_scores = self._call(primer, x, enc_scores)
            skips.append(x)

        self_scores = cross_scores = None
        for i in reversed(range(self.config.depth)):
            for primer in self.primer_decoders[i]:
                x, self_scores, cross_scores = self._call(primer, x, skips[i], self_scores, cross_scores)
            if i > 0:
                x = self.decoders[i - 1](x, skips[i - 1])
        return torch.sigmoid(self.out(x))
