"""Which files to process: files and folders named on the command line expanded into audio files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from vocal_remover.audio.formats import INPUT_EXTENSIONS


def find_audio_files(
    inputs: Sequence[str | Path],
    *,
    exclude: Callable[[Path], bool] | None = None,
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand files and folders (recursive, sorted, hidden files skipped) into audio files.

    Returns (files, problems) where problems are (path, reason), e.g. a missing path or a
    folder with no audio. An explicitly named file is always returned (even with an odd
    extension or a hidden name) and judged when opened. Duplicates (the same file named
    twice, or found again through a folder) are listed once, first occurrence wins.
    Symlinked folders and files are followed (see `walk_folders`). `exclude(path)` is
    asked about each audio file found inside a folder (never about a file named explicitly):
    True leaves it out, silently (the caller reports it).
    """
    files: list[Path] = []
    problems: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            files.append(p)

    for item in inputs:
        p = Path(item)
        if p.is_file():
            add(p)
        elif p.is_dir():
            found, errors = _scan_folder(p)
            problems.extend(errors)
            kept = [f for f in found if exclude is None or not exclude(f)]
            for f in kept:
                add(f)
            if not found and not errors:
                problems.append((p, "no audio files in this folder"))
        elif p.exists():
            problems.append((p, "not a regular file or folder"))
        else:
            problems.append((p, "no such file or folder"))
    return files, problems


def _scan_folder(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    found: list[Path] = []
    errors: list[tuple[Path, str]] = []

    def onerror(err: OSError) -> None:
        errors.append((Path(err.filename or root), f"cannot read folder: {err.strerror}"))

    for folder, filenames in walk_folders(root, onerror=onerror):
        for name in filenames:
            if name.startswith("."):
                continue  # hidden files, including our own `.x.partial-*` temporaries
            if Path(name).suffix.lower() in INPUT_EXTENSIONS:
                found.append(Path(folder) / name)
    found.sort()
    return found, errors


def walk_folders(root: Path, onerror: Callable[[OSError], None] | None = None) -> Iterator[tuple[str, list[str]]]:
    """(folder, file names) for `root` and every folder under it, top down, subfolders in sorted order, hidden
    folders skipped. Symlinked folders are followed, as a file browser does (music libraries and datasets are
    often assembled from links), but each real folder is entered once: a link loop ends, and a folder linked
    twice is read once."""
    entered: set[str] = set()
    for folder, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=True):
        real = os.path.realpath(folder)
        if real in entered:
            dirnames[:] = []
            continue
        entered.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        yield folder, filenames
