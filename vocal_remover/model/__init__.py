"""Networks that map a magnitude spectrogram to a sigmoid mask, and how to build them."""

from __future__ import annotations

from torch import nn

from vocal_remover.model.config import PRESETS, ModelConfig, get_preset
from vocal_remover.model.frame_primer import FramePrimer
from vocal_remover.model.frame_resnet import FrameResUNet

__all__ = ["PRESETS", "ModelConfig", "FramePrimer", "FrameResUNet", "build_model", "get_preset",
           "count_parameters"]


def build_model(name_or_config: str | ModelConfig) -> nn.Module:
    """A freshly initialised network for a preset name or a ModelConfig."""
    cfg = get_preset(name_or_config) if isinstance(name_or_config, str) else name_or_config
    if cfg.arch == "frame_resnet":
        return FrameResUNet(cfg)
    return FramePrimer(cfg)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
