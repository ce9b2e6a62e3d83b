"""One device and precision resolver for separation and training."""

from __future__ import annotations

import contextlib
import functools

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


@functools.lru_cache(maxsize=1)
def _cpu_flags() -> frozenset[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return frozenset(next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), []))
    except OSError:  # not Linux: no cheap way to ask; act as if the CPU had no bf16
        return frozenset()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX): there bf16 training steps run
    about twice as fast as fp32 (benchmarks/train.py); elsewhere oneDNN emulates bf16, slower than fp32."""
    return bool({"avx512_bf16", "amx_bf16"} & _cpu_flags())


def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tiles (Intel Sapphire Rapids and later). Only there did bf16 inference with
    torch beat onnxruntime in fp32: with AVX512-BF16 alone (AMD Zen 4) the onnx engine in fp32 separated a
    3-minute song 1.7x faster than torch in bf16 in the same run (benchmarks/engine_vs_spleeter.py)."""
    return "amx_bf16" in _cpu_flags()


def resolve_precision(device: torch.device, precision: str = "auto", *, inference: bool = False) -> torch.dtype | None:
    """The autocast dtype for a device, or None for plain fp32.

    auto: bf16 on CUDA where supported, else fp16; fp16 on MPS; on the CPU bf16 for inference where the
    CPU has AMX (the default model separates 1.7x faster than in fp32 with the same SDR), else fp32, which
    `separate` runs with onnxruntime (faster still on CPUs without AMX). Training on the CPU stays fp32
    (exact, reproducible runs).
    """
    precision = (precision or "auto").lower()
    if precision not in PRECISIONS:
        raise ConfigError(f"precision '{precision}'", f"expected one of {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return None
    if precision == "fp16" and device.type == "cpu" and not inference:
        # CPU autocast has few float16 kernels and no use for a GradScaler: slow, and no gain in range.
        raise ConfigError("--precision fp16", "not supported for training on the CPU; use fp32 or bf16")
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device.type == "mps":
            return torch.float16
        return torch.bfloat16 if inference and cpu_has_amx() else None
    return torch.bfloat16 if precision == "bf16" else torch.float16


def training_precision_note(device: torch.device, precision: str) -> str | None:
    """A one-line hint where the CPU's kind makes the chosen training precision the slow one, else None.
    Measured with benchmarks/train.py, default model, 4 x 256 frames: bf16 steps 1.70x faster than fp32 on an AMD
    Zen 4 (AVX512-BF16), 1.98x on a Xeon with AMX; emulated (AVX2 only) bf16 is slower than fp32."""
    if device.type != "cpu":
        return None
    precision = (precision or "auto").lower()
    if precision == "auto" and cpu_has_native_bf16():
        return ("this CPU computes bf16 natively: --precision bf16 trains about 1.7-2x faster than fp32, "
                "which auto keeps on the CPU")
    if precision == "bf16" and not cpu_has_native_bf16():
        return ("this CPU has no native bf16 (AVX512-BF16 or AMX): bf16 is emulated here and slower than "
                "fp32; --precision fp32 trains faster")
    return None


def autocast(device: torch.device, dtype: torch.dtype | None):
    """Autocast context for the network (never around the STFT: spec.py disables it)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
