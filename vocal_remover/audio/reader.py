"""The streaming reader interface every decoder implements: `AudioInfo`, `AudioReader` and the
bookkeeping of damaged inputs (`truncated`, `warnings`) they share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocal_remover.audio.messages import error_reason, seconds_text
from vocal_remover.errors import AudioError


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    samplerate: int
    channels: int
    frames: int | None  # exact when known (soundfile), estimate/None for PyAV streams
    duration: float | None  # seconds
    format: str  # e.g. "WAV", "MP3", "M4A"


class AudioReader:
    """A decoded input stream. Use as a context manager; `open_audio` returns one.

    Attributes:
        info: what the file announces (see `AudioInfo`).
        truncated: set when the file turned out shorter than announced or the decoder
            stopped on damaged data (known at open for WAV/AIFF, otherwise only after a
            full pass of `blocks()`).
        warnings: human-readable notes about the input, for the CLI to show.
        frames_read: frames yielded by the current/last pass of `blocks()`.
    """

    info: AudioInfo

    def __init__(self, info: AudioInfo):
        self.info = info
        self.truncated = False
        self.warnings: list[str] = []
        self.frames_read = 0
        self._closed = False

    def blocks(self, blocksize: int) -> Iterator[np.ndarray]:
        """Yield float32 arrays of shape (n, channels), 0 < n <= blocksize, in order.

        Decodes sequentially (never the whole file). Only the last block may be shorter
        than `blocksize` (PyAV streams included). Each call starts again from the
        beginning of the file. A 0-frame file yields nothing.
        """
        if blocksize < 1:
            raise ValueError(f"blocksize must be positive, got {blocksize}")
        if self._closed:
            raise ValueError("reader is closed")
        self.frames_read = 0
        return self._blocks(int(blocksize))

    def _blocks(self, blocksize: int) -> Iterator[np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def _flag_short(self, expected: int) -> None:
        """Record that fewer frames decoded than the container announced."""
        self.truncated = True
        self._warn(
            f"the file is truncated or damaged: only {seconds_text(self.frames_read, self.info.samplerate)}"
            f" of {seconds_text(expected, self.info.samplerate)} could be decoded"
        )

    def _decode_failed(self, err: BaseException, decoded: int) -> None:
        """A decoder error mid-stream: keep the `decoded` frames, or fail if there are none."""
        if decoded == 0:
            raise AudioError(str(self.info.path), f"could not decode the audio ({error_reason(err)})")
        self.truncated = True
        self._warn(
            f"decoding stopped at {seconds_text(decoded, self.info.samplerate)} "
            f"({error_reason(err)}); the rest of the file is damaged or missing"
        )
