"""Spectrogram pictures as PNG files, with only numpy + zlib + struct.

`SpectrogramAccumulator` collects a bounded-size, time-pooled magnitude spectrogram from
streaming STFT blocks, so a whole song can be pictured without keeping its STFT;
`save_spectrogram_png` renders one (frequency upwards, log magnitude, magma-like colours).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import AudioError

MAX_COLUMNS = 2000
RANGE_DB = 80.0

# A few samples of matplotlib's "magma" (perceptually uniform, dark = quiet), at
# t = 0, 1/8, ..., 1; the 256-entry table interpolates linearly between them.
_MAGMA_ANCHORS = np.array(
    [
        (0, 0, 4),
        (28, 16, 68),
        (79, 18, 123),
        (129, 37, 129),
        (181, 54, 122),
        (229, 80, 100),
        (251, 135, 97),
        (254, 194, 135),
        (252, 253, 191),
    ],
    dtype=np.float64,
)


def _colormap(n: int = 256) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)
    xp = np.linspace(0.0, 1.0, len(_MAGMA_ANCHORS))
    lut = np.stack([np.interp(t, xp, _MAGMA_ANCHORS[:, c]) for c in range(3)], axis=1)
    return np.round(lut).astype(np.uint8)


COLORMAP = _colormap()  # (256, 3) uint8


class SpectrogramAccumulator:
    """Time-pooled spectrogram with at most `max_columns` columns, fed block by block.

    Each column is the mean magnitude of `group` consecutive STFT frames. `group` starts
    at 1 and doubles (adjacent columns are merged pairwise) whenever the columns would
    exceed the cap, so memory is bounded by bins x max_columns whatever the song length,
    and the result keeps between max_columns/2 and max_columns columns once the cap was
    hit (the last column may average fewer frames).
    (bins, max_columns) float64 sums are kept: 16 MB for 1025 bins x 2000 columns.
    """

    def __init__(self, max_columns: int = MAX_COLUMNS):
        if max_columns < 3:
            raise ValueError("max_columns must be at least 3")
        self.max_columns = int(max_columns)
        # Complete columns kept: even (pairs merge cleanly) and leaving room for the
        # incomplete last column, so finish() never returns more than max_columns.
        self._cap = (self.max_columns - 1) // 2 * 2
        self.group = 1
        self.frames = 0
        self._bins: int | None = None
        self._sums: np.ndarray | None = None  # (bins, max_columns) float64, column sums
        self._full = 0  # complete columns (each `group` frames)
        self._pending: np.ndarray | None = None  # (bins,) sum of the incomplete column
        self._pending_count = 0

    def add(self, mag_block: np.ndarray) -> None:
        """Add magnitudes of shape (bins, frames) (complex input: its absolute value)."""
        mag = np.asarray(mag_block)
        if np.iscomplexobj(mag):
            mag = np.abs(mag)
        if mag.ndim != 2:
            raise ValueError(f"expected (bins, frames), got shape {mag.shape}")
        mag = np.nan_to_num(mag.astype(np.float64, copy=False), nan=0.0, posinf=0.0, neginf=0.0)
        bins, n = mag.shape
        if self._bins is None:
            self._bins = bins
            self._sums = np.zeros((bins, self._cap), np.float64)
            self._pending = np.zeros(bins, np.float64)
        elif bins != self._bins:
            raise ValueError(f"expected {self._bins} frequency bins, got {bins}")
        assert self._sums is not None and self._pending is not None
        self.frames += n
        pos = 0
        while pos < n:
            if self._pending_count == 0 and n - pos >= self.group:
                if self._full == self._cap:
                    self._halve()
                # Whole columns in one vectorised step.
                k = min((n - pos) // self.group, self._cap - self._full)
                chunk = mag[:, pos : pos + k * self.group]
                self._sums[:, self._full : self._full + k] = chunk.reshape(bins, k, self.group).sum(axis=2)
                self._full += k
                pos += k * self.group
                continue
            # Fill the incomplete column.
            take = min(self.group - self._pending_count, n - pos)
            self._pending += mag[:, pos : pos + take].sum(axis=1)
            self._pending_count += take
            pos += take
            if self._pending_count == self.group:
                if self._full == self._cap:
                    self._halve()  # the pending frames are now a partial column of 2x the size
                else:
                    self._sums[:, self._full] = self._pending
                    self._full += 1
                    self._pending[:] = 0.0
                    self._pending_count = 0

    def _halve(self) -> None:
        # Merge column pairs; the incomplete column stays valid (it has < group frames).
        assert self._sums is not None
        half = self._full // 2
        self._sums[:, :half] = self._sums[:, 0 : 2 * half : 2] + self._sums[:, 1 : 2 * half : 2]
        self._sums[:, half:] = 0.0
        self._full = half
        self.group *= 2

    def finish(self) -> np.ndarray:
        """Mean magnitudes, float32 (bins, columns). Can be called more than once."""
        if self._bins is None:
            return np.zeros((0, 0), np.float32)
        assert self._sums is not None and self._pending is not None
        cols = self._sums[:, : self._full] / self.group
        if self._pending_count:
            cols = np.concatenate([cols, (self._pending / self._pending_count)[:, None]], axis=1)
        return cols.astype(np.float32)


def _pool(a: np.ndarray, axis: int, limit: int) -> np.ndarray:
    """Average groups of ceil(n / limit) along `axis` so at most `limit` remain."""
    n = a.shape[axis]
    if n <= limit:
        return a
    g = -(-n // limit)
    starts = np.arange(0, n, g)
    sums = np.add.reduceat(a, starts, axis=axis)
    counts = np.diff(np.append(starts, n))
    shape = [1, 1]
    shape[axis] = len(counts)
    return sums / counts.reshape(shape)


def spectrogram_rgb(
    magnitude: np.ndarray,
    *,
    max_width: int = MAX_COLUMNS,
    max_height: int = 1025,
    range_db: float = RANGE_DB,
) -> np.ndarray:
    """(bins, frames) magnitudes -> (height, width, 3) uint8 image, low frequencies at the
    bottom, 20*log10 magnitude relative to the loudest cell, `range_db` dB mapped onto the
    colormap (quieter is clamped to the darkest colour)."""
    mag = np.asarray(magnitude)
    if np.iscomplexobj(mag):
        mag = np.abs(mag)
    if mag.ndim != 2:
        raise ValueError(f"expected a (bins, frames) magnitude array, got shape {mag.shape}")
    mag = np.nan_to_num(np.abs(mag.astype(np.float64)), nan=0.0, posinf=0.0, neginf=0.0)
    if mag.size == 0:
        # Nothing was analysed (e.g. a clip shorter than one STFT window, or an empty
        # accumulator): one dark column, so callers always get a valid picture.
        mag = np.zeros((max(mag.shape[0], 1), 1))
    mag = _pool(_pool(mag, 1, max_width), 0, max_height)
    peak = mag.max()
    if peak > 0:
        db = 20.0 * np.log10(np.maximum(mag, peak * 10.0 ** (-range_db / 20.0)) / peak)
        level = np.clip((db + range_db) / range_db, 0.0, 1.0)
    else:
        level = np.zeros_like(mag)
    idx = np.round(level * (len(COLORMAP) - 1)).astype(np.intp)
    return COLORMAP[idx[::-1]]  # row 0 is the top of the picture: highest frequency


def encode_png(rgb: np.ndarray, text: dict[str, str] | None = None) -> bytes:
    """8-bit RGB PNG bytes for an (height, width, 3) uint8 array."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"expected a non-empty (height, width, 3) image, got shape {rgb.shape}")
    h, w, _ = rgb.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = np.empty((h, 1 + 3 * w), np.uint8)
    raw[:, 0] = 0  # filter type "None" for every row
    raw[:, 1:] = rgb.reshape(h, 3 * w)
    out = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))]
    for key, value in (text or {}).items():
        # iTXt: UTF-8 text (tEXt would be Latin-1 only); uncompressed, no language tag.
        out.append(chunk(b"iTXt", key.encode("latin-1")[:79] + b"\x00\x00\x00\x00\x00" + value.encode("utf-8")))
    out.append(chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)))
    out.append(chunk(b"IEND", b""))
    return b"".join(out)


def save_spectrogram_png(
    path: Path,
    magnitude: np.ndarray,
    *,
    title: str | None = None,
    max_width: int = MAX_COLUMNS,
    range_db: float = RANGE_DB,
) -> None:
    """Write a (bins, frames) magnitude spectrogram as a PNG picture.

    Frequency runs upwards (bin 0 at the bottom), colour is log magnitude over `range_db`
    (80 dB) below the loudest cell, frames are averaged down to at most `max_width`
    columns. `title` is stored as the PNG "Title" text field (no font rendering). The file
    is written to a hidden temporary file and renamed into place, so it appears complete
    or not at all. Raises `AudioError(str(path), reason)` when it cannot be written.
    """
    path = Path(path)
    data = encode_png(
        spectrogram_rgb(magnitude, max_width=max_width, range_db=range_db),
        {"Title": title} if title else None,
    )
    tmp = path.parent / f".{path.name}.partial-{secrets.token_hex(4)}"
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise AudioError(str(path), f"cannot write image: {err.strerror or err}") from err
