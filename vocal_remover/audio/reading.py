"""Opening an input: `open_audio` picks the decoder (libsndfile first, PyAV for its own formats and as
a fallback); `read_audio` reads a short file whole."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vocal_remover.audio.formats import M4A_EXTRA_HINT, PYAV_EXTENSIONS, SOUNDFILE_EXTENSIONS
from vocal_remover.audio.pyav_reader import import_av, open_pyav
from vocal_remover.audio.reader import AudioReader
from vocal_remover.audio.resampling import MODEL_RATE, Resampler
from vocal_remover.audio.soundfile_reader import open_soundfile, soundfile_open_reason
from vocal_remover.errors import AudioError


def open_audio(path: str | Path) -> AudioReader:
    """Open an audio file for streaming. Raises `AudioError(str(path), why)` when it can't.

    libsndfile is tried first (except for PyAV-only extensions such as .m4a); if it cannot
    open the file and PyAV is installed, PyAV gets a chance (odd codecs inside WAV, unusual
    extensions, ...).
    """
    path = Path(path)
    what = str(path)
    if not path.exists():
        raise AudioError(what, "no such file")
    if path.is_dir():
        raise AudioError(what, "is a folder, not an audio file")
    if not path.is_file():
        raise AudioError(what, "not a regular file")
    if not os.access(path, os.R_OK):
        raise AudioError(what, "permission denied")
    if path.stat().st_size == 0:
        raise AudioError(what, "empty file (0 bytes)")

    ext = path.suffix.lower()
    if ext in PYAV_EXTENSIONS:
        av = import_av()
        if av is None:
            raise AudioError(what, f"{ext[1:].upper()} files need the optional extra: {M4A_EXTRA_HINT}")
        return open_pyav(path, av)

    try:
        return open_soundfile(path)
    except (RuntimeError, OSError) as err:
        why = soundfile_open_reason(err)
        av = import_av()
        if av is None:
            if ext not in SOUNDFILE_EXTENSIONS or getattr(err, "code", None) == 4:
                why += f"; more formats are readable with the optional extra: {M4A_EXTRA_HINT}"
            raise AudioError(what, why) from err
        try:
            return open_pyav(path, av)
        except AudioError as av_err:
            # For a libsndfile format its diagnosis is the relevant one; otherwise PyAV's.
            raise AudioError(what, why if ext in SOUNDFILE_EXTENSIONS else av_err.why) from err


def read_audio(path: str | Path, samplerate: int | None = MODEL_RATE) -> tuple[np.ndarray, int]:
    """Convenience for tests/evaluation on short files: the whole file as float32
    (n, channels), resampled to `samplerate` (None = native). Returns (audio, rate)."""
    with open_audio(path) as reader:
        rate = reader.info.samplerate if samplerate is None else int(samplerate)
        channels = reader.info.channels
        resampler = Resampler(reader.info.samplerate, rate, channels)
        parts = [resampler.process(b) for b in reader.blocks(1 << 16)]
        parts.append(resampler.process(np.zeros((0, channels), np.float32), last=True))
    return np.concatenate(parts), rate
