"""Short texts for the user: library errors trimmed to their first line, OS errors explained."""

from __future__ import annotations

import errno
from pathlib import Path


def seconds_text(frames: int, rate: int) -> str:
    return f"{frames / rate:.1f} s" if rate else f"{frames} frames"


def error_reason(err: BaseException) -> str:
    """The first line of a libsndfile or FFmpeg error, without libsndfile's "Error : " prefix."""
    text = str(err).strip() or type(err).__name__
    text = text.splitlines()[0].rstrip(".")
    return text.removeprefix("Error : ").strip()  # libsndfile's messages start so


def os_error_reason(err: OSError, folder: Path) -> str:
    """Why writing into `folder` failed."""
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"cannot write to folder {folder}: permission denied"
    if err.errno == errno.EROFS:
        return f"cannot write to folder {folder}: read-only file system"
    if err.errno == errno.ENOSPC:
        return "disk full"
    return f"cannot write to folder {folder}: {err.strerror or err}"
