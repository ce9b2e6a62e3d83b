"""Crash-safe writes: a file or folder appears complete under its final name, or not at all.

Every writer in the package goes through here, with one policy: write under a hidden temporary name in the
destination folder (`.NAME.partial-XXXXXXXX`, so it is on the same filesystem and `os.replace` is atomic),
flush and fsync the data, rename, then fsync the folder so the rename itself survives a power cut. On any
exception (KeyboardInterrupt included) the temporary is removed and the destination is untouched.
Files get the permissions the umask allows (mkstemp would make them private; outputs are for sharing).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import IO, Any, Iterator

__all__ = ["atomic_dir", "atomic_file", "atomic_path", "fsync_dir", "make_shareable", "partial_name",
           "sha256_file", "write_json_atomic", "write_text_atomic"]


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def partial_name(path: Path) -> Path:
    """A fresh hidden temporary name beside `path`."""
    return path.parent / f".{path.name}.partial-{secrets.token_hex(4)}"


def fsync_dir(folder: str | Path) -> None:
    """Persist a folder's entries (a rename is only durable once its folder is synced). Best effort:
    some platforms and filesystems cannot open or sync folders."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_path(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_shareable(path: str | Path) -> None:
    """Give a finished temporary file or folder (and a folder's files) the permissions the umask allows:
    mkdtemp and some libraries create them private, but a model or an output is for sharing."""
    path, mask = Path(path), _umask()
    if path.is_dir():
        for child in path.iterdir():
            child.chmod((0o777 if child.is_dir() else 0o666) & ~mask)
    path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary beside `path` for writing; on a clean exit it is synced and renamed onto `path`."""
    if "w" not in mode or "+" in mode:
        raise ValueError(f"atomic_file writes whole files (mode 'w' or 'wb'), not {mode!r}")
    path = Path(path)
    tmp = partial_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` for writers that want a file name (torch.save, safetensors, ONNX).
    The writer must create the file; on a clean exit it is synced, made shareable and renamed onto `path`."""
    path = Path(path)
    tmp = partial_name(path)
    try:
        yield tmp
        _fsync_path(tmp)
        tmp.chmod(0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_file(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_json_atomic(path: str | Path, data: Any, indent: int | None = 1) -> None:
    write_text_atomic(path, json.dumps(data, indent=indent) + "\n")


@contextlib.contextmanager
def atomic_dir(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """A temporary folder beside `path` to fill; on a clean exit its files are synced, it is made shareable
    and renamed onto `path`. With `overwrite`, an existing `path` is moved aside first and deleted after, so
    `path` is at every instant either the old complete folder or the new one. FileExistsError otherwise."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_name(path)
    tmp.mkdir()
    try:
        yield tmp
        for child in tmp.rglob("*"):
            if child.is_file() and not child.is_symlink():
                _fsync_path(child)
        for folder in [*(c for c in tmp.rglob("*") if c.is_dir()), tmp]:
            fsync_dir(folder)
        make_shareable(tmp)
        if path.exists():
            old = path.parent / f".{path.name}.old-{secrets.token_hex(4)}"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(path.parent)
