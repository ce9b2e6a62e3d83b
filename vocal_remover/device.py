"""One device and precision resolver for separation and training."""

from __future__ import annotations

import contextlib

import torch

from vocal_remover.errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' = cuda, then mps, then cpu; 'cpu', 'cuda', 'cuda:N', 'mps' are checked for availability."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device '{name}'", "expected auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device '{name}'", "CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device '{name}'", f"only {torch.cuda.device_count()} CUDA device(s) present")
    elif device.type == "mps":
        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise ConfigError(f"device '{name}'", "MPS is not available on this machine")
    elif device.type != "cpu":
        raise ConfigError(f"device '{name}'", "expected auto, cpu, cuda, cuda:N or mps")
    return device


def resolve_precision(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The autocast dtype for a device, or None for plain fp32.

    auto: bf16 on CUDA where supported, else fp16; fp16 on MPS; fp32 on CPU (CPU autocast is
    slower than fp32 for this model's memory-bound convolutions).
    """
    precision = (precision or "auto").lower()
    if precision not in PRECISIONS:
        raise ConfigError(f"precision '{precision}'", f"expected one of {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return None
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device.type == "mps":
            return torch.float16
        return None
    return torch.bfloat16 if precision == "bf16" else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None):
    """Autocast context for the network (never around the STFT: spec.py disables it)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
