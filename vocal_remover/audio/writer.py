"""Writing outputs: `AudioWriter` streams blocks into a temporary file that appears under its final
name only when complete, and clears what killed writers left behind (`remove_stale_partials`).

It keeps its own temporary-file handling rather than `atomic.atomic_file` because libsndfile writes
through the descriptor and the file stays locked until renamed; names and folder sync come from `atomic`.
"""

from __future__ import annotations

import contextlib
import glob
import os
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from vocal_remover.atomic import fsync_dir, partial_name
from vocal_remover.audio.channels import as_block
from vocal_remover.audio.formats import (
    OUTPUT_FORMATS,
    SAMPLE_TYPES,
    check_output_format,
    mp3_bitrate_for,
    mp3_compression,
)
from vocal_remover.audio.messages import error_reason, os_error_reason
from vocal_remover.errors import AudioError

# libsndfile's Vorbis/MP3 encoders misbehave with very large single writes.
_WRITE_CHUNK = 65536

_SUBTYPES = {
    ("wav", "float"): "FLOAT",
    ("wav", "pcm16"): "PCM_16",
    ("wav", "pcm24"): "PCM_24",
    ("flac", "float"): "PCM_24",  # FLAC has no float samples
    ("flac", "pcm16"): "PCM_16",
    ("flac", "pcm24"): "PCM_24",
}
# Encoder settings: MP3 VBR ~180-190 kbps, Vorbis ~200 kbps on music (measured).
_COMPRESSION = {"mp3": 0.2, "ogg": 0.3}


class AudioWriter:
    """Writes blocks to a hidden temporary file in the destination folder (`atomic.partial_name`);
    only `commit()` syncs it and renames it onto the final path (os.replace, atomic), then syncs the
    folder, as `atomic` does for every write. Leaving the context without commit (exception,
    KeyboardInterrupt) deletes the temporary file, so a half-written output never appears under the
    final name.

    Formats: wav (float/pcm16/pcm24), flac (pcm16/pcm24; float -> pcm24), mp3 and ogg
    (Vorbis; sample_type ignored). MP3 is VBR (~190 kbps on music) unless `bitrate` (kbps) asks for a
    constant bitrate (see `mp3_bitrate_for`). MP3 is limited to `MP3_SAMPLE_RATES` and 2 channels,
    Vorbis to `VORBIS_MAX_RATE`, FLAC to 655350 Hz and 8 channels: anything else raises
    `AudioError` at construction. Samples are clipped to [-1, 1] except for float WAV.
    Errors (missing/unwritable folder, disk full) raise `AudioError(str(path), reason)`.
    """

    def __init__(
        self,
        path: str | Path,
        samplerate: int,
        channels: int,
        format: str = "wav",  # noqa: A002 - public API name
        sample_type: str = "float",
        bitrate: int | None = None,
    ):
        self.path = Path(path)
        what = str(self.path)
        fmt = str(format).lower().lstrip(".")
        if fmt not in OUTPUT_FORMATS:
            raise AudioError(what, f"unsupported output format {format!r} (choose from {', '.join(OUTPUT_FORMATS)})")
        if sample_type not in SAMPLE_TYPES:
            raise AudioError(what, f"unsupported sample type {sample_type!r} (choose from {', '.join(SAMPLE_TYPES)})")
        samplerate, channels = int(samplerate), int(channels)
        if samplerate <= 0 or channels <= 0:
            raise AudioError(what, f"invalid output: {samplerate} Hz, {channels} channels")
        check_output_format(what, fmt, samplerate, channels)
        self.samplerate, self.channels, self.format, self.sample_type = samplerate, channels, fmt, sample_type
        self._clip = not (fmt == "wav" and sample_type == "float")
        self.frames_written = 0
        self._committed = False
        self._sf: sf.SoundFile | None = None
        self._fd: int | None = None

        folder = self.path.parent
        if not folder.exists():
            raise AudioError(what, f"output folder does not exist: {folder}")
        if not folder.is_dir():
            raise AudioError(what, f"not a folder: {folder}")
        if self.path.is_dir():
            raise AudioError(what, "a folder with this name already exists")

        self._tmp = self._create_temp(folder)
        try:
            if fmt in ("mp3", "ogg"):
                subtype, sf_format = ("MPEG_LAYER_III", "MP3") if fmt == "mp3" else ("VORBIS", "OGG")
                extra: dict[str, Any] = {"compression_level": _COMPRESSION[fmt]}
                if fmt == "mp3" and bitrate is not None:
                    kbps, _ = mp3_bitrate_for(samplerate, int(bitrate))
                    extra = {"compression_level": mp3_compression(samplerate, kbps), "bitrate_mode": "CONSTANT"}
            else:
                subtype, sf_format, extra = _SUBTYPES[(fmt, sample_type)], fmt.upper(), {}
            self._sf = sf.SoundFile(
                self._fd, "w", samplerate, channels, subtype, format=sf_format, closefd=False, **extra
            )
        except (RuntimeError, OSError) as err:
            self._discard()
            raise AudioError(what, f"cannot write {fmt.upper()} ({error_reason(err)})") from err

    def _create_temp(self, folder: Path) -> Path:
        remove_stale_partials(self.path)
        # O_EXCL + normal 0o666 mode (minus umask) so the final file gets ordinary permissions.
        for _ in range(100):
            tmp = partial_name(self.path)
            try:
                fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            except FileExistsError:
                continue
            except OSError as err:
                raise AudioError(str(self.path), os_error_reason(err, folder)) from err
            # Held until the file is renamed or removed: it marks the file as alive for
            # remove_stale_partials. A cleaner that got in between creation and lock has unlinked it.
            if _try_lock(fd) is False or os.fstat(fd).st_nlink == 0:
                os.close(fd)
                continue
            self._fd = fd
            return tmp
        raise AudioError(str(self.path), f"cannot create a temporary file in {folder}")

    def write(self, block: np.ndarray) -> None:
        """Append float32 (n, channels) samples ((n,) accepted for mono)."""
        if self._sf is None or self._committed:
            raise ValueError("writer is closed")
        block = as_block(block, self.channels)
        if self._clip:
            block = np.clip(block, -1.0, 1.0)
        for start in range(0, len(block), _WRITE_CHUNK):
            chunk = np.ascontiguousarray(block[start : start + _WRITE_CHUNK])
            before = self._sf.frames
            try:
                self._sf.write(chunk)
            except (RuntimeError, OSError, AssertionError) as err:  # soundfile asserts on short writes
                raise AudioError(str(self.path), f"could not write: {self._sf_reason(err)}") from err
            if self._sf.frames - before != len(chunk):
                raise AudioError(str(self.path), f"could not write: {self._sf_reason(None)}")
            self.frames_written += len(chunk)

    def _sf_reason(self, err: BaseException | None) -> str:
        # libsndfile's own message says "System error"; its per-file log has the errno text.
        try:
            detail = sf._ffi.string(sf._snd.sf_strerror(self._sf._file)).decode("utf-8", "replace")  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001
            detail = ""
        if "No space" in detail:
            return "disk full"
        if "File too large" in detail:
            return "file too large (file system or size limit)"
        return detail.strip() or (error_reason(err) if err is not None else "short write")

    def commit(self) -> Path:
        """Finish the file and move it onto its final name. Returns the final path."""
        if self._committed:
            return self.path
        if self._sf is None:
            raise ValueError("writer is closed")
        what = str(self.path)
        try:
            self._sf.close()  # encoders flush here, so errors can surface here
        except (RuntimeError, OSError, AssertionError) as err:
            raise AudioError(what, f"could not write: {self._sf_reason(err)}") from err
        finally:
            self._sf = None
        try:
            assert self._fd is not None
            os.fsync(self._fd)
            if os.name == "nt":  # Windows cannot rename an open file (and has no lock to keep)
                os.close(self._fd)
                self._fd = None
            os.replace(self._tmp, self.path)  # renamed while still open, so still locked
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        except OSError as err:
            raise AudioError(what, os_error_reason(err, self.path.parent)) from err
        fsync_dir(self.path.parent)
        self._committed = True
        return self.path

    def _discard(self) -> None:
        if self._sf is not None:
            with contextlib.suppress(Exception):  # we are throwing the file away anyway
                self._sf.close()
            self._sf = None
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        with contextlib.suppress(OSError):
            self._tmp.unlink()

    def close(self) -> None:
        """Abandon the file unless committed (removes the temporary file)."""
        if not self._committed:
            self._discard()

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # last resort, e.g. a writer never used as a context manager
        if getattr(self, "_tmp", None) is not None and not getattr(self, "_committed", True):
            with contextlib.suppress(Exception):  # e.g. during interpreter shutdown
                self._discard()


def _try_lock(fd: int) -> bool | None:
    """An exclusive, non-blocking lock on an open file: True, False (held elsewhere) or None (no flock here)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def remove_stale_partials(path: str | Path) -> list[Path]:
    """Remove the temporary files (`.{name}.partial-*`) that writers of `path` left when they were
    killed (SIGKILL, a crash, power loss). A live writer holds a lock on its temporary file, so only
    abandoned ones are removed; where there is no flock (Windows) nothing is. Returns what was removed."""
    path = Path(path)
    removed = []
    try:
        candidates = list(path.parent.glob(f".{glob.escape(path.name)}.partial-*"))
    except OSError:
        return removed
    for tmp in candidates:
        try:
            fd = os.open(tmp, os.O_RDONLY)
        except OSError:
            continue
        try:
            if _try_lock(fd) and tmp.is_file():
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed
