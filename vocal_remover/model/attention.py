"""Multi-dconv-head frame attention with learned relative positions and residual scores.

Tokens are frames; a frame's embedding is its bin vector (d = bins at that level).
Axis legend: B batch, W frames (tokens), d embedding, h heads, e = d / h head width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class DepthwiseFrameConv(nn.Module):
    """Depthwise Conv1d(d, d, 3, padding=1, groups=d, bias=False) along frames, on (B, W, d) tokens.

    Written as three shifted multiply-adds: the library's grouped Conv1d is several times slower
    on CPU for this shape, and the parameter (d, 1, 3) is the same as nn.Conv1d's.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(dim, 1, 3))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # nn.Conv1d's default init

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, W, d) -> (B, W, d); zero padding at both ends, like padding=1."""
        w = self.weight[:, 0, :]  # (d, 3): taps for frames t-1, t, t+1
        padded = F.pad(x, (0, 0, 1, 1))
        return padded[:, :-2] * w[:, 0] + x * w[:, 1] + padded[:, 2:] * w[:, 2]


def relative_index(width: int, max_cropsize: int, device: torch.device) -> torch.Tensor:
    """(W, W) column of the position table for each query i and key j: offset j - i, clipped.

    Offsets are clipped to [-max_cropsize / 2, max_cropsize / 2 - 1] (Shaw et al.), so the table of
    `max_cropsize` columns covers every offset inside a window of max_cropsize / 2 frames exactly.
    """
    pos = torch.arange(width, device=device)
    half = max_cropsize // 2
    return (pos[None, :] - pos[:, None]).clamp(-half, half - 1) + half


class MultibandFrameAttention(nn.Module):
    """Primer-style attention: Q, K, V = depthwise-conv(Linear(x)), heads = num_bands.

    Scores are `q_i . k_j / sqrt(e) + q_i . E[:, offset(i, j)] / sqrt(e)` plus, when given, the
    previous layer's pre-softmax scores (RealFormer). The position table E has shape
    (e, max_cropsize) and is shared by the heads; the term depends only on j - i, so shifting the
    input in time shifts the scores (tests/test_model.py checks it).
    """

    def __init__(self, dim: int, num_bands: int, max_cropsize: int):
        super().__init__()
        if dim % num_bands:
            raise ValueError(f"embedding {dim} not divisible by {num_bands} bands")
        self.num_heads = num_bands
        self.head_dim = dim // num_bands
        self.max_cropsize = max_cropsize
        self.q_proj = nn.Linear(dim, dim, bias=False)
        self.k_proj = nn.Linear(dim, dim, bias=False)
        self.v_proj = nn.Linear(dim, dim, bias=False)
        self.q_conv = DepthwiseFrameConv(dim)
        self.k_conv = DepthwiseFrameConv(dim)
        self.v_conv = DepthwiseFrameConv(dim)
        self.out_proj = nn.Linear(dim, dim, bias=False)
        self.rel_table = nn.Parameter(torch.randn(self.head_dim, max_cropsize) * self.head_dim ** -0.5)
        # Exporters (torch.jit.trace, torch.export) freeze the Python ints the slice of the position table
        # is computed with; exports set this (make_export_safe) to gather from the whole table instead.
        self.export_safe = False

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, w, _ = x.shape
        return x.view(b, w, self.num_heads, self.head_dim).transpose(1, 2)  # (B, h, W, e)

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None,
                prev_scores: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, W, d); memory: (B, W, d) for cross-attention (else x); prev_scores: (B, h, W, W).

        Returns the output (B, W, d) and this layer's pre-softmax scores (B, h, W, W).
        """
        memory = x if memory is None else memory
        batch, width = x.shape[0], x.shape[1]
        scale = self.head_dim ** -0.5
        q = self._heads(self.q_conv(self.q_proj(x))) * scale
        k = self._heads(self.k_conv(self.k_proj(memory)))
        v = self._heads(self.v_conv(self.v_proj(memory)))

        scores = q @ k.transpose(-1, -2)  # (B, h, W, W)
        # Relative term: project queries on the table's columns, then pick column offset(i, j) for each pair.
        index = relative_index(width, self.max_cropsize, x.device)
        if self.export_safe:  # the whole table: no Python ints computed from the frame count
            rel = q @ self.rel_table.to(q.dtype)  # (B, h, W, max_cropsize)
        else:  # only the columns this window reaches (fewer for short windows)
            lo, hi = int(index.min()), int(index.max()) + 1
            rel = q @ self.rel_table[:, lo:hi].to(q.dtype)  # (B, h, W, hi - lo)
            index = index - lo
        scores = scores + torch.gather(rel, -1, index.expand(rel.shape[0], rel.shape[1], width, width))
        if prev_scores is not None:
            scores = scores + prev_scores
        attn = torch.softmax(scores, dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(batch, width, -1)
        return self.out_proj(out), scores


def make_export_safe(model: nn.Module) -> nn.Module:
    """Switch `model`'s attention layers to the export-safe path (in place; same parameters, same result
    to float rounding), so that tracing it keeps the frames axis dynamic."""
    for module in model.modules():
        if isinstance(module, MultibandFrameAttention):
            module.export_safe = True
    return model
