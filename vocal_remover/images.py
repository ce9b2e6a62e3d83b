"""Spectrogram pictures as PNG files, with only numpy + zlib + struct.

`SpectrogramAccumulator` collects a bounded-size, time-pooled magnitude spectrogram from
streaming STFT blocks, so a whole song can be pictured without keeping its STFT;
`save_spectrogram_png` renders one (magma-like colours, louder is brighter). Given the sample rate,
it draws a figure a person reads without a legend: a log-frequency axis labelled in Hz (so the vocal
range, 80 Hz to 1 kHz, takes 40% of the height instead of 4%), a time axis in seconds (or m:ss), a
colour bar in dBFS and a title, with text drawn from a built-in 5x7 pixel font.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from .atomic import atomic_file
from .errors import AudioError

MAX_COLUMNS = 2000
RANGE_DB = 80.0
PLOT_WIDTH, PLOT_HEIGHT = 1200, 480  # the figure's plot area in pixels
MARGINS = {"left": 60, "right": 104, "top": 34, "bottom": 50}
FMIN = 40.0  # Hz at the bottom of the log-frequency axis
FREQ_TICKS = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
TIME_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
BACKGROUND, INK = 255, 32

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


# --------------------------------------------------------------------------- the figure

# A 5x7 pixel font (rows top to bottom, bit 4 = leftmost column), in the style of character LCDs.
_FONT = {
    "0": (0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E), "1": (0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E),
    "2": (0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F), "3": (0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E),
    "4": (0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02), "5": (0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E),
    "6": (0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E), "7": (0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08),
    "8": (0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E), "9": (0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C),
    "A": (0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11), "B": (0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E),
    "C": (0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E), "D": (0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C),
    "E": (0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F), "F": (0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10),
    "G": (0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F), "H": (0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11),
    "I": (0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E), "J": (0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C),
    "K": (0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11), "L": (0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F),
    "M": (0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11), "N": (0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11),
    "O": (0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E), "P": (0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10),
    "Q": (0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D), "R": (0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11),
    "S": (0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E), "T": (0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04),
    "U": (0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E), "V": (0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04),
    "W": (0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A), "X": (0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11),
    "Y": (0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04), "Z": (0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F),
    "a": (0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F), "b": (0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E),
    "c": (0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E), "d": (0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F),
    "e": (0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E), "f": (0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08),
    "g": (0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E), "h": (0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11),
    "i": (0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E), "j": (0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0C),
    "k": (0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12), "l": (0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E),
    "m": (0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11), "n": (0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11),
    "o": (0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E), "p": (0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10),
    "q": (0x00, 0x00, 0x0D, 0x13, 0x0F, 0x01, 0x01), "r": (0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10),
    "s": (0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E), "t": (0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06),
    "u": (0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D), "v": (0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04),
    "w": (0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A), "x": (0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11),
    "y": (0x00, 0x00, 0x11, 0x11, 0x0F, 0x01, 0x0E), "z": (0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F),
    " ": (0, 0, 0, 0, 0, 0, 0), "-": (0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00),
    "+": (0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00), ".": (0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C),
    ",": (0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08), ":": (0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00),
    "(": (0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02), ")": (0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08),
    "[": (0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E), "]": (0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E),
    "/": (0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00), "_": (0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F),
    "'": (0x0C, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00), "!": (0x04, 0x04, 0x04, 0x04, 0x00, 0x00, 0x04),
    "?": (0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04), "&": (0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D),
    "#": (0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A), "%": (0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03),
    "=": (0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00),
}
_SCALE = 2  # font pixels per glyph pixel
CHAR_WIDTH, CHAR_HEIGHT = 6 * _SCALE, 7 * _SCALE  # advance (5 columns + 1 space) and height


def _glyph(char: str) -> np.ndarray:
    rows = _FONT[char]
    bits = np.array([[(row >> (4 - c)) & 1 for c in range(5)] for row in rows], dtype=bool)
    return np.kron(bits, np.ones((_SCALE, _SCALE), dtype=bool))


def can_draw(text: str) -> bool:
    return all(ch in _FONT for ch in text)


def text_width(text: str) -> int:
    return max(0, len(text) * CHAR_WIDTH - _SCALE)


def draw_text(img: np.ndarray, x: int, y: int, text: str, color=INK, align: str = "left") -> None:
    """Draw `text` with its top at row y; x is its left edge, centre or right edge (align). Characters
    outside the font are drawn as '?'; what falls outside the image is clipped."""
    if align == "center":
        x -= text_width(text) // 2
    elif align == "right":
        x -= text_width(text)
    h, w = img.shape[:2]
    for i, char in enumerate(text):
        mask = _glyph(char if char in _FONT else "?")
        x0 = x + i * CHAR_WIDTH
        ys, xs = np.nonzero(mask)
        ys, xs = ys + y, xs + x0
        keep = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
        img[ys[keep], xs[keep]] = color


def magnitude_dbfs(magnitude: np.ndarray, n_fft: int) -> np.ndarray:
    """STFT magnitudes (periodic Hann window of n_fft) in dB relative to a full-scale sine, whose bin has
    magnitude n_fft / 4. Zeros become -inf."""
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(np.abs(np.asarray(magnitude, dtype=np.float64)) / (n_fft / 4.0))


def magnitude_dbfs_peak(magnitude: np.ndarray, n_fft: int) -> float:
    """The loudest cell in dBFS (-inf for silence or an empty spectrogram)."""
    mag = np.nan_to_num(np.abs(np.asarray(magnitude, dtype=np.float64)), nan=0.0, posinf=0.0)
    return float(magnitude_dbfs(mag.max(), n_fft)) if mag.size else float("-inf")


def frequency_row(freq: float, fmin: float, fmax: float, height: int) -> int:
    """Row (0 = top) of the log-frequency plot that shows `freq`."""
    i = int(np.floor(height * np.log(freq / fmin) / np.log(fmax / fmin)))
    return height - 1 - min(max(i, 0), height - 1)


def log_frequency_rows(magnitude: np.ndarray, rate: int, n_fft: int, height: int, fmin: float = FMIN) -> np.ndarray:
    """(bins, cols) linear-frequency magnitudes -> (height, cols), row 0 the highest band: `height` bands
    spaced evenly in log frequency from fmin to rate / 2; each band is the mean of the bins whose centre
    falls in it, or, when none does (low bands are narrower than a bin), interpolated at its centre."""
    bins = magnitude.shape[0]
    fmax = rate / 2.0
    edges = fmin * (fmax / fmin) ** (np.arange(height + 1) / height)
    bin_freq = np.arange(bins) * rate / n_fft
    lo = np.searchsorted(bin_freq, edges[:-1], side="left")
    hi = np.searchsorted(bin_freq, edges[1:], side="left")
    csum = np.concatenate([np.zeros((1, magnitude.shape[1])), np.cumsum(magnitude, axis=0)])
    count = (hi - lo)[:, None]
    mean = (csum[hi] - csum[lo]) / np.maximum(count, 1)
    centre = np.sqrt(edges[:-1] * edges[1:]) / (rate / n_fft)  # fractional bin at each band's centre
    k = np.clip(np.floor(centre).astype(int), 0, bins - 1)
    k1 = np.minimum(k + 1, bins - 1)
    frac = np.clip(centre - k, 0.0, 1.0)[:, None]
    interp = magnitude[k] * (1 - frac) + magnitude[k1] * frac
    rows = np.where(count > 0, mean, interp)
    return rows[::-1]


def _resample_columns(a: np.ndarray, width: int) -> np.ndarray:
    """(rows, cols) -> (rows, width): means over column groups when shrinking, nearest when stretching."""
    cols = a.shape[1]
    if cols >= width:
        starts = np.floor(np.arange(width) * cols / width).astype(int)
        sums = np.add.reduceat(a, starts, axis=1)
        counts = np.diff(np.append(starts, cols))
        return sums / counts
    idx = np.minimum((np.arange(width) + 0.5) * cols / width, cols - 1).astype(int)
    return a[:, idx]


def _time_ticks(seconds: float) -> tuple[list[float], str, callable]:
    step = next((s for s in TIME_STEPS if seconds / s <= 10), TIME_STEPS[-1])
    ticks = [i * step for i in range(int(seconds / step + 1e-9) + 1)]
    if seconds >= 60:
        return ticks, "time (m:ss)", lambda t: f"{int(t // 60)}:{int(round(t % 60)):02d}"
    return ticks, "time (s)", lambda t: f"{t:g}"


def _freq_label(f: float) -> str:
    return f"{f / 1000:g}k" if f >= 1000 else f"{f:g}"


def spectrogram_figure(magnitude: np.ndarray, *, sample_rate: int, n_fft: int, seconds: float,
                       title: str = "", label: str = "", top_db: float | None = None, range_db: float = RANGE_DB,
                       fmin: float = FMIN, width: int = PLOT_WIDTH, height: int = PLOT_HEIGHT) -> np.ndarray:
    """A readable picture of a (bins, frames) magnitude spectrogram (bins up to n_fft / 2 at sample_rate,
    frames spread evenly over `seconds`): (H, W, 3) uint8.

    Log-frequency plot from fmin to the Nyquist frequency with ticks in Hz, a time axis, and a colour bar
    in dBFS from `top_db` (default: the loudest cell, rounded up to 10 dB) down `range_db`. The title is
    drawn when the font has its characters and it fits, else `label` (e.g. "Vocals")."""
    mag = np.nan_to_num(np.abs(np.asarray(magnitude, dtype=np.float64)), nan=0.0, posinf=0.0, neginf=0.0)
    if mag.ndim != 2:
        raise ValueError(f"expected a (bins, frames) magnitude array, got shape {mag.shape}")
    if mag.size == 0:
        mag = np.zeros((max(mag.shape[0], n_fft // 2 + 1), 1))
    fmax = sample_rate / 2.0
    peak = magnitude_dbfs_peak(mag, n_fft)
    if top_db is None or not np.isfinite(top_db):
        top_db = peak
    top = 0.0 if not np.isfinite(top_db) else float(np.ceil(top_db / 10.0 - 1e-9) * 10.0)
    rows = _resample_columns(log_frequency_rows(mag, sample_rate, n_fft, height, fmin), width)
    level = np.clip((magnitude_dbfs(rows, n_fft) - (top - range_db)) / range_db, 0.0, 1.0)
    plot = COLORMAP[np.round(level * (len(COLORMAP) - 1)).astype(np.intp)]

    m = MARGINS
    img = np.full((m["top"] + height + m["bottom"], m["left"] + width + m["right"], 3), BACKGROUND, np.uint8)
    x0, y0 = m["left"], m["top"]
    img[y0:y0 + height, x0:x0 + width] = plot
    # frame
    img[y0 - 1, x0 - 1:x0 + width + 1] = INK
    img[y0 + height, x0 - 1:x0 + width + 1] = INK
    img[y0 - 1:y0 + height + 1, x0 - 1] = INK
    img[y0 - 1:y0 + height + 1, x0 + width] = INK
    # frequency axis
    for f in FREQ_TICKS:
        if fmin <= f <= fmax:
            y = y0 + frequency_row(f, fmin, fmax, height)
            img[y, x0 - 7:x0 - 1] = INK
            draw_text(img, x0 - 10, y - CHAR_HEIGHT // 2, _freq_label(f), align="right")
    draw_text(img, x0 - 10, y0 - CHAR_HEIGHT - 8, "Hz", align="right")
    # time axis
    ticks, axis_label, fmt = _time_ticks(max(seconds, 1e-9))
    for t in ticks:
        x = x0 + min(int(round(t / max(seconds, 1e-9) * width)), width - 1)
        img[y0 + height + 1:y0 + height + 7, x] = INK
        draw_text(img, x, y0 + height + 10, fmt(t), align="center")
    draw_text(img, x0 + width // 2, y0 + height + 10 + CHAR_HEIGHT + 6, axis_label, align="center")
    # colour bar: top of the bar = top dB
    bx = x0 + width + 16
    ramp = np.linspace(1.0, 0.0, height)
    img[y0:y0 + height, bx:bx + 18] = COLORMAP[np.round(ramp * (len(COLORMAP) - 1)).astype(np.intp)][:, None]
    for k in range(int(range_db // 10) + 1):
        y = y0 + min(int(round(k * 10 / range_db * (height - 1))), height - 1)
        img[y, bx + 18:bx + 24] = INK
        draw_text(img, bx + 28, y - CHAR_HEIGHT // 2, f"{top - 10 * k:g}")
    draw_text(img, bx + 9, y0 - CHAR_HEIGHT - 8, "dBFS", align="center")
    # title
    heading = title if title and can_draw(title) and text_width(title) <= width else label
    if heading:
        draw_text(img, x0 + width // 2, 8, heading, align="center")
    return img


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
    sample_rate: int | None = None,
    n_fft: int | None = None,
    seconds: float | None = None,
    label: str = "",
    top_db: float | None = None,
) -> None:
    """Write a (bins, frames) magnitude spectrogram as a PNG picture.

    With `sample_rate` (and the STFT's `n_fft`, default 2 * (bins - 1), and the audio's length
    `seconds`): the figure of `spectrogram_figure`, with axes, a dBFS colour bar and the title drawn.
    Without: the bare plot, frequency upwards in linear bins (bin 0 at the bottom), colour the log
    magnitude over `range_db` (80 dB) below the loudest cell, frames averaged down to at most
    `max_width` columns. `title` is also stored as the PNG "Title" text field. The file is written to
    a hidden temporary file and renamed into place, so it appears complete or not at all. Raises
    `AudioError(str(path), reason)` when it cannot be written.
    """
    path = Path(path)
    if sample_rate is not None:
        mag = np.asarray(magnitude)
        n_fft = n_fft or max(2, 2 * (mag.shape[0] - 1))
        rgb = spectrogram_figure(mag, sample_rate=sample_rate, n_fft=n_fft,
                                 seconds=seconds if seconds is not None else 0.0, title=title or "", label=label,
                                 top_db=top_db, range_db=range_db)
    else:
        rgb = spectrogram_rgb(magnitude, max_width=max_width, range_db=range_db)
    data = encode_png(rgb, {"Title": title} if title else None)
    try:
        with atomic_file(path) as f:
            f.write(data)
    except OSError as err:
        raise AudioError(str(path), f"cannot write image: {err.strerror or err}") from err
