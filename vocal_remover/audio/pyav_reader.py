"""Decoding through PyAV (FFmpeg; the optional extra `m4a`, imported only when needed): M4A/AAC/MP4/WebM/WMA,
and a fallback for files libsndfile cannot open.

Damaged inputs: packets that fail to decode are skipped (and counted in a warning); a demuxer error ends
the stream, keeping what was decoded (`truncated` is set).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vocal_remover.audio.formats import PYAV_EXTENSIONS
from vocal_remover.audio.messages import error_reason
from vocal_remover.audio.reader import AudioInfo, AudioReader
from vocal_remover.errors import AudioError


def pyav_available() -> bool:
    """True when the optional PyAV backend can be imported."""
    return import_av() is not None


def import_av() -> Any:
    try:
        import av  # noqa: PLC0415 - optional and slow to import, so only on demand
    except ImportError:
        return None
    return av


class PyAVReader(AudioReader):
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
                raise AudioError(str(self.info.path), f"could not reopen ({error_reason(err)})") from err
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


def open_pyav(path: Path, av: Any) -> AudioReader:
    what = str(path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as err:
        if isinstance(err, av.error.InvalidDataError):
            why = "not a readable audio file (unknown format, or damaged/incomplete)"
        else:
            why = f"not a readable audio file ({error_reason(err)})"
        raise AudioError(what, why) from err
    except OSError as err:
        raise AudioError(what, f"cannot open ({err.strerror or err})") from err
    if not container.streams.audio:
        container.close()
        raise AudioError(what, "no audio stream in this file")
    return PyAVReader(path, av, container)
