"""Streaming audio input/output.

Nothing here loads a whole song: readers decode block by block, the resampler and the
channel mixers work per block and the writer appends blocks to a temporary file that is
renamed onto its final name only when complete. The library never prints; anything the
user should know about an input (a truncated file, damaged packets) is collected in
`AudioReader.warnings` for the CLI to show.

Backends: libsndfile (through `soundfile`) for WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF, ...;
PyAV (optional extra `m4a`, imported only when needed) for M4A/AAC/MP4/WebM/WMA and as a
fallback for files libsndfile cannot open.

Damaged inputs (decisions from testing libsndfile 1.2.2 and PyAV 18):
* WAV/AIFF whose header promises more data than the file holds: libsndfile silently clamps
  the length to what is present. We read what is there, set `truncated` and add a warning
  (detected at open time from libsndfile's header log, so `info.frames` is the real count).
* MP3 cut in the middle: libsndfile reports the length from the Xing/LAME header and simply
  stops early when reading. We yield everything decodable and set `truncated` when the
  decoded length falls short of the announced one (by more than 1 % or two MPEG frames,
  so files without an exact header are not flagged). mpg123 itself prints "Note: ..."
  lines to stderr for such files from C code: silenced while opening (see
  `_quiet_c_stderr`), not while reading.
* FLAC cut in the middle: libsndfile raises from `read()`. Any error from the decoder after
  at least one block decoded ends the stream: what was decoded is kept, `truncated` is set.
  An error before anything could be decoded raises `AudioError`.
* Ogg cut in the middle: libsndfile takes the length from the last complete page, so the
  file just reads as shorter (not detectable; no warning).
* PyAV streams: packets that fail to decode are skipped (and counted in a warning); a
  demuxer error ends the stream like above.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import math
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from .errors import AudioError

MODEL_RATE = 44100

# Formats libsndfile decodes itself (always available).
SOUNDFILE_EXTENSIONS = frozenset(
    {
        ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3",
        ".aif", ".aiff", ".aifc", ".w64", ".rf64", ".caf", ".au",
    }
)
# Formats that need PyAV (`pip install 'vocal-remover[m4a]'`).
PYAV_EXTENSIONS = frozenset(
    {".m4a", ".m4b", ".aac", ".mp4", ".wma", ".webm", ".mka", ".ac3", ".wv", ".ape"}
)
# Everything `find_audio_files` picks up from folders. PyAV formats are listed even when
# PyAV is missing so that each such file gets the clear "needs the optional extra" error
# instead of being silently ignored.
INPUT_EXTENSIONS = SOUNDFILE_EXTENSIONS | PYAV_EXTENSIONS

OUTPUT_FORMATS = ("wav", "flac", "mp3", "ogg")
SAMPLE_TYPES = ("float", "pcm16", "pcm24")

M4A_EXTRA_HINT = "pip install 'vocal-remover[m4a]'"

# libsndfile's MPEG encoder accepts exactly these rates (it refuses others at open).
MP3_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)  # kbps, MPEG-1 layer III
# libvorbis has no encoder setup above 200 kHz and libsndfile 1.2.2 then crashes the
# process (segfault, tested), so we refuse such rates before calling it.
VORBIS_MAX_RATE = 200_000
FLAC_MAX_RATE = 655_350
FLAC_MAX_CHANNELS = 8

# libsndfile's Vorbis/MP3 encoders misbehave with very large single writes.
_WRITE_CHUNK = 65536


def pyav_available() -> bool:
    """True when the optional PyAV backend can be imported."""
    return _import_av() is not None


def _import_av() -> Any:
    try:
        import av  # noqa: PLC0415 - optional and slow to import, so only on demand
    except ImportError:
        return None
    return av


# --------------------------------------------------------------------------- discovery


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
    Symlinked folders are not followed (no cycles); symlinked files are. `exclude(path)` is
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

    for folder, dirnames, filenames in os.walk(root, onerror=onerror):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue  # hidden files, including our own `.x.partial-*` temporaries
            if Path(name).suffix.lower() in INPUT_EXTENSIONS:
                found.append(Path(folder) / name)
    found.sort()
    return found, errors


# --------------------------------------------------------------------------- reading


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
            f"the file is truncated or damaged: only {_seconds(self.frames_read, self.info.samplerate)}"
            f" of {_seconds(expected, self.info.samplerate)} could be decoded"
        )

    def _decode_failed(self, err: BaseException, decoded: int) -> None:
        """A decoder error mid-stream: keep the `decoded` frames, or fail if there are none."""
        if decoded == 0:
            raise AudioError(str(self.info.path), f"could not decode the audio ({_reason(err)})")
        self.truncated = True
        self._warn(
            f"decoding stopped at {_seconds(decoded, self.info.samplerate)} "
            f"({_reason(err)}); the rest of the file is damaged or missing"
        )


def _seconds(frames: int, rate: int) -> str:
    return f"{frames / rate:.1f} s" if rate else f"{frames} frames"


def _reason(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    text = text.splitlines()[0].rstrip(".")
    return text.removeprefix("Error : ").strip()  # libsndfile's messages start so


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


class _SoundFileReader(AudioReader):
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
                    f"the file is truncated: only {_seconds(self.info.frames, self.info.samplerate)}"
                    f" of the {_seconds(round(announced), self.info.samplerate)} its header"
                    " announces are present"
                )
                return

    def _blocks(self, blocksize: int) -> Iterator[np.ndarray]:
        if self._passes:
            # Reopen rather than seek(0): libsndfile's MP3 seeking is not sample-exact.
            self._sf.close()
            try:
                with _quiet_c_stderr():
                    self._sf = sf.SoundFile(str(self.info.path))
            except (RuntimeError, OSError) as err:
                raise AudioError(str(self.info.path), f"could not reopen ({_reason(err)})") from err
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


class _PyAVReader(AudioReader):
    # Containers whose duration comes from an index (so a shortfall means damage); raw
    # streams such as ADTS .aac only have a bitrate-based estimate.
    _EXACT_CONTAINERS = ("mp4", "matroska", "ogg", "asf")

    def __init__(self, path: Path, av: Any, container: Any):
        self._av = av
        self._container = container
        stream = container.streams.audio[0]
        cc = stream.codec_context
        if cc is None:  # FFmpeg build without a decoder for this codec
            container.close()
            raise AudioError(str(path), "no decoder for the audio codec in this file")
        rate, channels = int(cc.sample_rate or 0), int(cc.channels or 0)
        if rate <= 0 or channels <= 0:
            container.close()
            raise AudioError(str(path), "the audio stream has no valid sample rate or channel count")
        frames: int | None = None
        if stream.duration and stream.time_base:
            frames = round(stream.duration * stream.time_base * rate)
        elif container.duration:
            frames = round(container.duration * rate / av.time_base)
        ext = path.suffix.lower()
        fmt = ext[1:].upper() if ext in PYAV_EXTENSIONS else container.format.name.split(",")[0].upper()
        super().__init__(
            AudioInfo(
                path=path,
                samplerate=rate,
                channels=channels,
                frames=frames,
                duration=frames / rate if frames is not None else None,
                format=fmt,
            )
        )
        self._exact_length = any(n in container.format.name for n in self._EXACT_CONTAINERS)
        layout = stream.layout
        # Convert every frame to packed float32 at the announced rate and channel count,
        # so a stream that changes parameters midway still yields consistent blocks.
        self._layout = (
            layout.name
            if layout is not None and layout.nb_channels == channels
            else {1: "mono", 2: "stereo"}.get(channels)
        )
        self._passes = 0

    def _blocks(self, blocksize: int) -> Iterator[np.ndarray]:
        av = self._av
        if self._passes:
            self._container.close()
            try:
                self._container = av.open(str(self.info.path), metadata_errors="ignore")
            except (av.error.FFmpegError, OSError) as err:
                raise AudioError(str(self.info.path), f"could not reopen ({_reason(err)})") from err
        self._passes += 1
        container = self._container
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout=self._layout, rate=self.info.samplerate)
        channels = self.info.channels
        pending: list[np.ndarray] = []
        pending_n = 0
        bad_packets = 0

        def convert(frames: Any) -> None:
            nonlocal pending_n
            for out in frames:
                arr = out.to_ndarray().reshape(-1, channels)
                if len(arr):
                    pending.append(arr)
                    pending_n += len(arr)

        def take(n: int) -> np.ndarray:
            nonlocal pending, pending_n
            data = pending[0] if len(pending) == 1 else np.concatenate(pending)
            block, rest = data[:n], data[n:]
            pending = [rest] if len(rest) else []
            pending_n = len(rest)
            return np.ascontiguousarray(block, dtype=np.float32)

        try:
            for packet in container.demux(stream):
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError:
                    bad_packets += 1  # a damaged packet: skip it, keep going
                    continue
                for frame in decoded:
                    frame.pts = None  # we concatenate samples; timestamps are irrelevant
                    try:
                        convert(resampler.resample(frame))
                    except ValueError:
                        # Frame parameters changed mid-stream: flush and start a new converter.
                        convert(resampler.resample(None))
                        resampler = av.AudioResampler(
                            format="flt", layout=self._layout, rate=self.info.samplerate
                        )
                        convert(resampler.resample(frame))
                while pending_n >= blocksize:
                    block = take(blocksize)
                    self.frames_read += len(block)
                    yield block
            convert(resampler.resample(None))
        except av.error.FFmpegError as err:
            self._decode_failed(err, self.frames_read + pending_n)
        while pending_n:
            block = take(min(blocksize, pending_n))
            self.frames_read += len(block)
            yield block
        if bad_packets:
            if self.frames_read == 0:
                raise AudioError(str(self.info.path), "could not decode the audio (every packet failed to decode)")
            self._warn(f"{bad_packets} damaged audio packet(s) were skipped")
        expected = self.info.frames
        if self._exact_length and expected and self.frames_read < expected - max(4096, expected // 100):
            self._flag_short(expected)

    def close(self) -> None:
        if not self._closed:
            self._container.close()
        super().close()


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
        av = _import_av()
        if av is None:
            raise AudioError(what, f"{ext[1:].upper()} files need the optional extra: {M4A_EXTRA_HINT}")
        return _open_pyav(path, av)

    try:
        with _quiet_c_stderr():
            handle = sf.SoundFile(str(path))
    except (RuntimeError, OSError) as err:
        why = _soundfile_open_reason(err)
        av = _import_av()
        if av is None:
            if ext not in SOUNDFILE_EXTENSIONS or getattr(err, "code", None) == 4:
                why += f"; more formats are readable with the optional extra: {M4A_EXTRA_HINT}"
            raise AudioError(what, why) from err
        try:
            return _open_pyav(path, av)
        except AudioError as av_err:
            # For a libsndfile format its diagnosis is the relevant one; otherwise PyAV's.
            raise AudioError(what, why if ext in SOUNDFILE_EXTENSIONS else av_err.why) from err
    if handle.samplerate <= 0 or handle.channels <= 0:
        handle.close()
        raise AudioError(what, "not a readable audio file (invalid sample rate or channel count)")
    return _SoundFileReader(path, handle)


@contextlib.contextmanager
def _quiet_c_stderr() -> Iterator[None]:
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


def _soundfile_open_reason(err: BaseException) -> str:
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


def _open_pyav(path: Path, av: Any) -> AudioReader:
    what = str(path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as err:
        if isinstance(err, av.error.InvalidDataError):
            why = "not a readable audio file (unknown format, or damaged/incomplete)"
        else:
            why = f"not a readable audio file ({_reason(err)})"
        raise AudioError(what, why) from err
    except OSError as err:
        raise AudioError(what, f"cannot open ({err.strerror or err})") from err
    if not container.streams.audio:
        container.close()
        raise AudioError(what, "no audio stream in this file")
    return _PyAVReader(path, av, container)


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


# --------------------------------------------------------------------------- resampling


class Resampler:
    """Streaming sample-rate converter (soxr.ResampleStream, quality "HQ"); a plain copy when
    the rates match.

    Guarantees (tested): feeding a signal in any block sizes gives the same samples as one
    call (soxr is deterministic; measured difference 0), and after `process(..., last=True)`
    the total output length is exactly `expected_length(total_input)`, i.e.
    floor(n_in * out_rate / in_rate + 1/2) (round half up; this is what soxr produces, and
    the class pads/trims the final block should it ever differ). Blocks are (n, channels)
    float32; output blocks may be empty while the filter fills.
    """

    def __init__(self, in_rate: int, out_rate: int, channels: int, quality: str = "HQ"):
        if in_rate <= 0 or out_rate <= 0 or channels <= 0:
            raise ValueError(f"invalid resampler setup: {in_rate} -> {out_rate} Hz, {channels} channels")
        self.in_rate = int(in_rate)
        self.out_rate = int(out_rate)
        self.channels = int(channels)
        self.passthrough = self.in_rate == self.out_rate
        self._stream = (
            None
            if self.passthrough
            else soxr.ResampleStream(self.in_rate, self.out_rate, self.channels, dtype="float32", quality=quality)
        )
        self._n_in = 0
        self._n_out = 0
        self._finished = False

    def expected_length(self, n_in: int) -> int:
        """Output frames for `n_in` input frames: round half up of n_in * out / in."""
        return (2 * n_in * self.out_rate + self.in_rate) // (2 * self.in_rate)

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        if self._finished:
            raise RuntimeError("Resampler already received its last block")
        block = np.asarray(block, dtype=np.float32)
        if block.ndim == 1 and self.channels == 1:
            block = block[:, None]
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(f"expected (n, {self.channels}) block, got shape {block.shape}")
        self._finished = last
        self._n_in += len(block)
        if self._stream is None:
            out = block.copy()
        else:
            out = self._stream.resample_chunk(np.ascontiguousarray(block), last=last)
            out = out.reshape(-1, self.channels)
            if last:
                target = self.expected_length(self._n_in) - self._n_out
                if len(out) > target:
                    out = out[: max(target, 0)]
                elif len(out) < target:
                    out = np.concatenate([out, np.zeros((target - len(out), self.channels), np.float32)])
        self._n_out += len(out)
        return out


# --------------------------------------------------------------------------- channels

_G = 1.0 / math.sqrt(2.0)  # -3 dB


def _downmix_matrix(channels: int) -> np.ndarray:
    """(channels, 2) gains for folding `channels` into stereo.

    Layouts assumed are the WAVE/SMPTE defaults for the count:
      3: FL FR FC; 4: FL FR BL BR; 5: FL FR FC BL BR; 6 (5.1): FL FR FC LFE BL BR;
      8 (7.1): FL FR FC LFE BL BR SL SR.
    ITU-R BS.775 style: centre into both sides at -3 dB, each surround into its side at
    -3 dB, LFE dropped. Other counts: channel 0 -> L, 1 -> R, every further channel into
    both sides at -3 dB. Each column is then divided by its sum of gains, so an output
    sample can never exceed the largest input sample (no new clipping, at the cost of
    level).
    """
    FL, FR, C, SURR_L, SURR_R, NONE = (1, 0), (0, 1), (_G, _G), (_G, 0), (0, _G), (0, 0)
    tables = {
        3: [FL, FR, C],
        4: [FL, FR, SURR_L, SURR_R],
        5: [FL, FR, C, SURR_L, SURR_R],
        6: [FL, FR, C, NONE, SURR_L, SURR_R],
        8: [FL, FR, C, NONE, SURR_L, SURR_R, SURR_L, SURR_R],
    }
    rows = tables.get(channels, [FL, FR] + [C] * (channels - 2))
    m = np.array(rows, dtype=np.float64)
    return (m / m.sum(axis=0, keepdims=True)).astype(np.float32)


def to_stereo(block: np.ndarray) -> np.ndarray:
    """(n, C) -> (n, 2) float32: mono duplicated, stereo as is, more channels downmixed
    (see `_downmix_matrix`)."""
    block = np.asarray(block, dtype=np.float32)
    if block.ndim != 2 or block.shape[1] < 1:
        raise ValueError(f"expected an (n, channels) block, got shape {block.shape}")
    c = block.shape[1]
    if c == 2:
        return block
    if c == 1:
        return np.repeat(block, 2, axis=1)
    return block @ _downmix_matrix(c)


def from_stereo(block: np.ndarray, channels: int) -> np.ndarray:
    """(n, 2) -> output channel count: 1 -> mean of L/R as (n, 1); 2 -> as is; >2 -> stereo
    (surround inputs are written as stereo)."""
    block = np.asarray(block, dtype=np.float32)
    if block.ndim != 2 or block.shape[1] != 2:
        raise ValueError(f"expected an (n, 2) block, got shape {block.shape}")
    if channels < 1:
        raise ValueError(f"invalid channel count {channels}")
    if channels == 1:
        return block.mean(axis=1, keepdims=True, dtype=np.float32)
    return block


def output_channels(input_channels: int) -> int:
    """Channel count an output gets for an input with `input_channels` (mono stays mono,
    everything else is written as stereo)."""
    return 1 if input_channels == 1 else 2


# --------------------------------------------------------------------------- writing

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
    """Writes blocks to a hidden temporary file in the destination folder
    (`.{name}.partial-XXXXXXXX`); only `commit()` renames it onto the final path
    (os.replace, atomic). Leaving the context without commit (exception, KeyboardInterrupt)
    deletes the temporary file, so a half-written output never appears under the final name.

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
        _check_encoder_limits(what, fmt, samplerate, channels)
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
                    extra = {"compression_level": _mp3_compression(samplerate, kbps), "bitrate_mode": "CONSTANT"}
            else:
                subtype, sf_format, extra = _SUBTYPES[(fmt, sample_type)], fmt.upper(), {}
            self._sf = sf.SoundFile(
                self._fd, "w", samplerate, channels, subtype, format=sf_format, closefd=False, **extra
            )
        except (RuntimeError, OSError) as err:
            self._discard()
            raise AudioError(what, f"cannot write {fmt.upper()} ({_reason(err)})") from err

    def _create_temp(self, folder: Path) -> Path:
        remove_stale_partials(self.path)
        # O_EXCL + normal 0o666 mode (minus umask) so the final file gets ordinary permissions.
        for _ in range(100):
            tmp = folder / f".{self.path.name}.partial-{secrets.token_hex(4)}"
            try:
                fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            except FileExistsError:
                continue
            except OSError as err:
                raise AudioError(str(self.path), _os_reason(err, folder)) from err
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
        block = np.asarray(block, dtype=np.float32)
        if block.ndim == 1 and self.channels == 1:
            block = block[:, None]
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(f"expected (n, {self.channels}) block, got shape {block.shape}")
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
        return detail.strip() or (_reason(err) if err is not None else "short write")

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
            raise AudioError(what, _os_reason(err, self.path.parent)) from err
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


def check_mp3_bitrate(kbps: int | None) -> None:
    """ConfigError unless `kbps` is None (VBR) or a standard MPEG-1 layer III bitrate."""
    if kbps is not None and kbps not in MP3_BITRATES:
        from vocal_remover.errors import ConfigError

        raise ConfigError(f"--mp3-bitrate {kbps}", f"expected one of {', '.join(map(str, MP3_BITRATES))} (kbps)")


def mp3_bitrate_for(rate: int, kbps: int) -> tuple[int, str | None]:
    """The constant bitrate an MP3 at `rate` Hz can have for a requested `kbps`, and a note when it is
    lower: below 32 kHz MP3 (MPEG-2 / 2.5) goes up to 160 / 64 kbps."""
    top = 320 if rate >= 32000 else 160 if rate >= 16000 else 64
    if kbps <= top:
        return kbps, None
    return top, f"MP3 at {rate} Hz goes up to {top} kbps: written at {top} kbps instead of {kbps}"


def _mp3_compression(rate: int, kbps: int) -> float:
    """libsndfile's compression level for a constant bitrate (it maps [0, 1] linearly onto the bitrate range
    of the MPEG version the rate implies: 320-32, 160-8 or 64-8 kbps); just below 1 at the bottom, where
    libsndfile refuses 1.0."""
    high, low = (320, 32) if rate >= 32000 else (160, 8) if rate >= 16000 else (64, 8)
    return min(0.999, max(0.0, (high - kbps) / (high - low)))


def storable_rate(fmt: str, rate: int) -> tuple[int, str | None]:
    """The sample rate outputs in `fmt` get for an input at `rate`, and a note when it differs: MP3 stores
    only the MPEG rates (a 96 kHz input becomes 48 kHz, 88.2 kHz becomes 44.1 kHz, an odd low rate the next
    MPEG rate up), Ogg Vorbis at most VORBIS_MAX_RATE. Other formats keep the rate."""
    fmt = str(fmt).lower().lstrip(".")
    out = rate
    if fmt == "mp3" and rate not in MP3_SAMPLE_RATES:
        if rate > MP3_SAMPLE_RATES[-1]:
            out = 44100 if rate % 44100 == 0 else 48000
        else:
            out = next(r for r in MP3_SAMPLE_RATES if r >= rate)
        reason = "MP3 stores at most 48000 Hz" if rate > MP3_SAMPLE_RATES[-1] else "MP3 does not store that rate"
    elif fmt == "ogg" and rate > VORBIS_MAX_RATE:
        out = 44100 if rate % 44100 == 0 else 48000
        reason = f"Ogg Vorbis stores at most {VORBIS_MAX_RATE} Hz"
    if out == rate:
        return rate, None
    return out, f"{reason}: outputs resampled from {rate} to {out} Hz"


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


def check_output_format(what: str, fmt: str, rate: int, channels: int) -> None:
    """Raise AudioError when `fmt` cannot store audio of this rate and channel count (before anything,
    a folder included, is created for it)."""
    _check_encoder_limits(what, str(fmt).lower().lstrip("."), int(rate), int(channels))


def _check_encoder_limits(what: str, fmt: str, rate: int, channels: int) -> None:
    if fmt == "mp3":
        if rate not in MP3_SAMPLE_RATES:
            rates = ", ".join(str(r) for r in MP3_SAMPLE_RATES)
            raise AudioError(
                what, f"MP3 does not support {rate} Hz (only {rates}); choose another format or sample rate"
            )
        if channels > 2:
            raise AudioError(what, f"MP3 supports at most 2 channels, not {channels}")
    elif fmt == "ogg" and rate > VORBIS_MAX_RATE:
        raise AudioError(
            what,
            f"Ogg Vorbis does not support {rate} Hz (at most {VORBIS_MAX_RATE}); choose another format or sample rate",
        )
    elif fmt == "flac":
        if rate > FLAC_MAX_RATE:
            raise AudioError(what, f"FLAC does not support {rate} Hz (at most {FLAC_MAX_RATE})")
        if channels > FLAC_MAX_CHANNELS:
            raise AudioError(what, f"FLAC supports at most {FLAC_MAX_CHANNELS} channels, not {channels}")


def _os_reason(err: OSError, folder: Path) -> str:
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"cannot write to folder {folder}: permission denied"
    if err.errno == errno.EROFS:
        return f"cannot write to folder {folder}: read-only file system"
    if err.errno == errno.ENOSPC:
        return "disk full"
    return f"cannot write to folder {folder}: {err.strerror or err}"
