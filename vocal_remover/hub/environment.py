"""The Hub settings, read from the environment at call time (huggingface_hub reads its own copy once, at
import): `HF_ENDPOINT`, `HF_HUB_OFFLINE`, `HF_HUB_CACHE` / `HF_HOME`, `HF_HUB_ETAG_TIMEOUT`."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Callable

DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_ETAG_TIMEOUT = 10.0
_TRUE = {"1", "ON", "YES", "TRUE"}


def env_offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in _TRUE


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).strip().rstrip("/")


def etag_timeout() -> float:
    try:
        return float(os.environ.get("HF_HUB_ETAG_TIMEOUT") or DEFAULT_ETAG_TIMEOUT)
    except ValueError:
        return DEFAULT_ETAG_TIMEOUT


def hub_cache_dir(cache_dir: str | Path | None) -> Path:
    """The Hugging Face cache folder: `cache_dir`, else the one the environment names, else the default."""
    def expand(value: str) -> Path:  # resolved, as huggingface_hub does: the same folder, the same path
        return Path(os.path.expandvars(os.path.expanduser(value))).resolve()

    if cache_dir is not None:
        return expand(os.fspath(cache_dir))
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return expand(os.environ[var])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "huggingface")
    return expand(home) / "hub"


def endpoint_kwarg(func: Callable, url: str) -> dict:
    """{"endpoint": url} where the huggingface_hub function takes one (its versions differ)."""
    try:
        return {"endpoint": url} if "endpoint" in inspect.signature(func).parameters else {}
    except (TypeError, ValueError):
        return {}
