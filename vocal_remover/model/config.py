"""Model configuration: a frozen, validated dataclass and the named presets.

The configuration is everything needed to rebuild a network and to feed it: the architecture's
hyperparameters and the signal front end (sample rate, STFT). It is what `config.json` of a
model folder stores under "model".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from vocal_remover.errors import ConfigError

ARCHITECTURES = ("frame_primer", "frame_resnet")
NORMS = ("batch", "frame")


@dataclass(frozen=True)
class ModelConfig:
    """Hyperparameters of a FramePrimer or FrameResUNet and of its STFT front end.

    Field names follow the seed (`channels`, `depth`, `num_transformer_encoders`, ...).
    `num_bins` (the bins the network sees) is `n_fft // 2`: the Nyquist bin is dropped.
    """

    arch: str = "frame_primer"
    # signal front end
    sample_rate: int = 44100
    n_fft: int = 2048
    hop_length: int = 1024
    # network
    in_channels: int = 2
    out_channels: int = 2
    channels: int = 2
    depth: int = 5
    num_transformer_encoders: int = 0
    num_transformer_decoders: int = 4
    num_bands: int = 4
    feedforward_dim: int = 6144
    max_cropsize: int = 2048
    norm: str = "batch"
    bias: bool = True  # bias of the feed-forward layers
    dropout: float = 0.1
    # frame_resnet only
    num_res_encoders: int = 4
    num_res_decoders: int = 4

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"model config field '{name}' = {getattr(self, name)!r}", why)

        if self.arch not in ARCHITECTURES:
            raise bad("arch", f"must be one of {', '.join(ARCHITECTURES)}")
        if self.norm not in NORMS:
            raise bad("norm", f"must be one of {', '.join(NORMS)}")
        for name in ("sample_rate", "n_fft", "hop_length", "in_channels", "out_channels",
                     "channels", "depth", "num_bands", "feedforward_dim", "max_cropsize"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise bad(name, "must be a positive integer")
        for name in ("num_transformer_encoders", "num_transformer_decoders",
                     "num_res_encoders", "num_res_decoders"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise bad(name, "must be a non-negative integer")
        if self.n_fft % 2:
            raise bad("n_fft", "must be even")
        if self.hop_length > self.n_fft:
            raise bad("hop_length", "must not exceed n_fft")
        if not 0.0 <= self.dropout < 1.0:
            raise bad("dropout", "must be in [0, 1)")
        if self.num_bins % (2 ** (self.depth - 1)):
            raise bad("depth", f"{self.num_bins} bins cannot be halved {self.depth - 1} times")
        deepest = self.num_bins // 2 ** (self.depth - 1)
        if deepest % self.num_bands:
            raise bad("num_bands", f"must divide the {deepest} bins of the deepest level")
        if self.max_cropsize % 2:
            raise bad("max_cropsize", "must be even (relative offsets span -max/2 .. max/2-1)")

    @property
    def num_bins(self) -> int:
        return self.n_fft // 2

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError("model config", f"unknown field(s): {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> "ModelConfig":
        return dataclasses.replace(self, **changes)


# Presets. `seed-150m` and `seed-121m` reproduce the seed README's two parameter counts exactly
# (tests/test_model.py checks 150,617,664 and 121,503,734).
PRESETS: dict[str, ModelConfig] = {
    # For tests: every module kind, well under a million parameters (a smaller STFT keeps the
    # level-0 attention, 4 * bins^2 weights, small).
    "tiny": ModelConfig(
        n_fft=512, hop_length=256, channels=2, depth=3, num_transformer_encoders=1,
        num_transformer_decoders=1, num_bands=2, feedforward_dim=64, max_cropsize=256,
    ),
    # The default size for a model trained on a CPU (benchmarks/separate.py, README): full-resolution
    # convolutions dominate CPU time, so 4 base channels (not 8) make a training step 2.5x faster
    # (3.7 s vs 9.3 s for 4 x 256 frames) and separation 2x faster (0.031 vs 0.059 s per audio second,
    # 512-frame windows) at the same 16.3 M parameters, most of them in the attention.
    "small": ModelConfig(
        channels=4, depth=5, num_transformer_encoders=0, num_transformer_decoders=1,
        num_bands=4, feedforward_dim=1024, max_cropsize=1024,
    ),
    "seed-150m": ModelConfig(
        channels=2, depth=5, num_transformer_encoders=0, num_transformer_decoders=4,
        num_bands=4, feedforward_dim=6144, max_cropsize=2048, norm="batch", bias=True,
    ),
    "seed-121m": ModelConfig(
        channels=2, depth=5, num_transformer_encoders=2, num_transformer_decoders=2,
        num_bands=4, feedforward_dim=5120, max_cropsize=2048, norm="frame", bias=True,
    ),
    "frame-resnet": ModelConfig(
        arch="frame_resnet", channels=8, depth=5, num_res_encoders=4, num_res_decoders=4,
        num_bands=8, feedforward_dim=2048, max_cropsize=2048, norm="batch",
    ),
}


def get_preset(name: str) -> ModelConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"preset '{name}'", f"unknown; choose one of {', '.join(PRESETS)}") from None
