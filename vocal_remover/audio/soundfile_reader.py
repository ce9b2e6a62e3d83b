"""Decoding through libsndfile (`soundfile`): WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF, ...

Damaged inputs (decisions from testing libsndfile 1.2.2):
* WAV/AIFF whose header promises more data than the file holds: libsndfile silently clamps
  the length to what is present. We read what is there, set `truncated` and add a warning
  (detected at open time from libsndfile's header log, so `info.frames` is the real count).
* MP3 cut in the middle: libsndfile reports the length from the Xing/LAME header and simply
  stops early when reading. We yield everything decodable and set `truncated` when the
  decoded length falls short of the announced one (by more than 1 % or two MPEG frames,
  so files without an exact header are not flagged). mpg123 itself prints "Note: ..."
  lines to stderr for such files from C code: silenced while opening (see
  `quiet_c_stderr`), not while reading.
* FLAC cut in the middle: libsndfile raises from `read()`. Any error from the decoder after
  at least one block decoded ends the stream: what was decoded is kept, `truncated` is set.
  An error before anything could be decoded raises `AudioError`.
* Ogg cut in the middle: libsndfile takes the length from the last complete page, so the
  file just reads as shorter (not detectable; no warning).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from vocal_remover.audio.messages import error_reason, seconds_text
from vocal_remover.audio.reader import AudioInfo, AudioReader
from vocal_remover.errors import AudioError


def _read_float32(f: sf.SoundFile, n: int) -> np.ndarray:
    """Read up to n frames as float32 (frames, channels) without seeking.

    `SoundFile.read()` calls tell() and seek() around every read. For MP3, libsndfile
    1.2.2's seek restarts the mpg123 decoder without its bit reservoir, so block-wise
    reads through `read()` come out audibly corrupted (measured errors up to 0.6 full
    scale with 4096-frame blocks) and different for each block size. Calling
    sf_readf_float directly decodes the stream straight through (identical samples for
    any block size, for every format).
    """
    if _LOWLEVEL_READ:
        out = np.empty((n, f.channels), np.float32)
        got = sf._snd.sf_readf_float(f._file, sf._ffi.cast("float *", out.ctypes.data), n)
        err = f._errorcode
        if err:
            raise sf.LibsndfileError(err)
        return out[: max(int(got), 0)]
    return f.read(n, dtype="float32", always_2d=True)  # pragma: no cover - soundfile internals changed


# soundfile's low-level handles (stable since 0.10; checked so a future change degrades
# to the public, seeking `read()` instead of breaking).
_LOWLEVEL_READ = all(hasattr(sf, a) for a in ("_snd", "_ffi", "LibsndfileError")) and hasattr(
    sf.SoundFile, "_errorcode"
)


class SoundFileReader(AudioReader):
    # libsndfile log lines such as "data : 352800 (should be 176379)" (WAV) or
    # " SSND : ... (should be ...)" (AIFF): header size vs bytes actually present.
    _SHORT_CHUNK = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.M)

    def __init__(self, path: Path, handle: sf.SoundFile):
        fmt = {"WAVEX": "WAV"}.get(handle.format, handle.format)
        frames = int(handle.frames)
        super().__init__(
            AudioInfo(
                path=path,
                samplerate=int(handle.samplerate),
                channels=int(handle.channels),
                frames=frames,
                duration=frames / handle.samplerate,
                format=fmt,
            )
        )
        self._sf = handle
        self._passes = 0
        self._check_header(handle)

    def _check_header(self, handle: sf.SoundFile) -> None:
        try:
            log = handle.extra_info
        except Exception:  # noqa: BLE001 - the log is a nicety, never a reason to fail
            return
        for m in self._SHORT_CHUNK.finditer(log):
            claimed, present = int(m.group(1)), int(m.group(2))
            # 0xFFFFFFFF / 0x7FFFFFFF are "size unknown" markers of streaming writers.
            if present < claimed < 0x7FFFFFFF and present > 0:
                announced = self.info.frames * claimed / present
                self.truncated = True
                self._warn(
                    f"the file is truncated: only {seconds_text(self.info.frames, self.info.samplerate)}"
                    f" of the {seconds_text(round(announced), self.info.samplerate)} its header"
                    " announces are present"
                )
                return

    def _blocks(self, blocksize: int) -> Iterator[np.ndarray]:
        if self._passes:
            # Reopen rather than seek(0): libsndfile's MP3 seeking is not sample-exact.
            self._sf.close()
            try:
                with quiet_c_stderr():
                    self._sf = sf.SoundFile(str(self.info.path))
            except (RuntimeError, OSError) as err:
                raise AudioError(str(self.info.path), f"could not reopen ({error_reason(err)})") from err
        self._passes += 1
        f = self._sf
        while True:
            try:
                block = _read_float32(f, blocksize)
            except RuntimeError as err:  # LibsndfileError: damaged/truncated data
                self._decode_failed(err, self.frames_read)
                return
            if len(block) == 0:
                break
            self.frames_read += len(block)
            yield block
        self._check_length()

    def _check_length(self) -> None:
        expected = self.info.frames or 0
        # MP3 lengths without an exact Xing/LAME header are estimates: tolerate 1 % or two
        # MPEG frames before calling a file truncated.
        tolerance = max(2 * 1152, expected // 100)
        if self.frames_read < expected - tolerance:
            self._flag_short(expected)

    def close(self) -> None:
        if not self._closed:
            self._sf.close()
        super().close()


def open_soundfile(path: Path) -> SoundFileReader:
    """A reader for `path` through libsndfile. Raises libsndfile's own error (RuntimeError or OSError)
    when it cannot open the file, so the caller can try PyAV; AudioError for an invalid header."""
    with quiet_c_stderr():
        handle = sf.SoundFile(str(path))
    if handle.samplerate <= 0 or handle.channels <= 0:
        handle.close()
        raise AudioError(str(path), "not a readable audio file (invalid sample rate or channel count)")
    return SoundFileReader(path, handle)


@contextlib.contextmanager
def quiet_c_stderr() -> Iterator[None]:
    """Silence file descriptor 2 while libsndfile probes a file.

    libsndfile's bundled mpg123 prints notes such as "Note: Illegal Audio-MPEG-Header"
    straight to stderr when it probes a non-MP3 file or a damaged MP3. Only used around
    opening (milliseconds, once per file): doing it around every read would risk swallowing
    other threads' output (e.g. a progress bar), so read-time notes from damaged MP3s can
    still appear.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield  # no usable stderr: nothing to silence
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def soundfile_open_reason(err: BaseException) -> str:
    code = getattr(err, "code", None)
    if code == 3:  # SF_ERR_MALFORMED_FILE
        return "not a readable audio file (damaged or incomplete)"
    if code == 4:  # SF_ERR_UNSUPPORTED_ENCODING
        return "not a readable audio file (unsupported encoding)"
    if isinstance(err, PermissionError) or getattr(err, "errno", None) == errno.EACCES:
        return "permission denied"
    # libsndfile answers a non-audio file with "Format not recognised" or, for .mp3, the
    # misleading "File does not exist or is not a regular file".
    return "not a readable audio file (unknown format)"
