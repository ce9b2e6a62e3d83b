"""Tests for vocal_remover.images: PNGs are parsed back by hand (chunks, CRCs, IDAT)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import parse_png

from vocal_remover.errors import AudioError
from vocal_remover.images import COLORMAP, SpectrogramAccumulator, save_spectrogram_png, spectrogram_rgb


def test_png_dimensions_orientation_and_title(tmp_path: Path) -> None:
    mag = np.full((1025, 300), 1e-6)
    mag[0:10, :] = 1.0  # loud low frequencies
    out = tmp_path / "spec.png"
    save_spectrogram_png(out, mag, title="Björk – vocals ♪")
    img, text = parse_png(out)
    assert img.shape == (1025, 300, 3)
    assert text == {"Title": "Björk – vocals ♪"}
    # bin 0 is the bottom row: brightest colour at the bottom, darkest at the top
    np.testing.assert_array_equal(img[-1, 0], COLORMAP[-1])
    np.testing.assert_array_equal(img[0, 0], COLORMAP[0])
    assert [p.name for p in tmp_path.iterdir()] == ["spec.png"]  # no temp file left


def test_png_width_is_capped_and_levels_are_db(tmp_path: Path) -> None:
    frames = 10_001
    mag = np.ones((64, frames))
    mag[:, frames // 2 :] = 10 ** (-30 / 20)  # second half 30 dB quieter
    out = tmp_path / "long.png"
    save_spectrogram_png(out, mag)
    img, text = parse_png(out)
    assert text == {}
    assert img.shape == (64, 1667, 3)  # 10001 frames averaged in groups of ceil(10001/2000) = 6
    loud, quiet = img[:, 10], img[:, -10]
    np.testing.assert_array_equal(loud[0], COLORMAP[255])
    # -30 dB in an 80 dB range: 5/8 of the way up the colour map
    np.testing.assert_array_equal(quiet[0], COLORMAP[round(0.625 * 255)])


def test_rgb_levels_floor_and_silence() -> None:
    mag = np.array([[1.0, 10 ** (-20 / 20), 10 ** (-80 / 20), 1e-12, 0.0]])
    rgb = spectrogram_rgb(mag)
    expected = [255, round(0.75 * 255), 0, 0, 0]
    np.testing.assert_array_equal(rgb[0], COLORMAP[expected])
    silent = spectrogram_rgb(np.zeros((5, 7)))
    assert silent.shape == (5, 7, 3) and np.all(silent == COLORMAP[0])
    empty = spectrogram_rgb(np.zeros((5, 0)))
    assert empty.shape == (5, 1, 3)
    nothing = spectrogram_rgb(SpectrogramAccumulator().finish())  # an accumulator that got no block
    assert nothing.shape == (1, 1, 3) and np.all(nothing == COLORMAP[0])
    with pytest.raises(ValueError):
        spectrogram_rgb(np.zeros(5))


def test_colormap_is_dark_to_bright() -> None:
    assert COLORMAP.shape == (256, 3) and COLORMAP.dtype == np.uint8
    luminance = COLORMAP @ np.array([0.2126, 0.7152, 0.0722])
    assert np.all(np.diff(luminance) > 0), np.diff(luminance).min()


def test_unwritable_image_path(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="cannot write image"):
        save_spectrogram_png(tmp_path / "missing" / "x.png", np.ones((4, 4)))


def test_accumulator_small_input_is_exact() -> None:
    rng = np.random.default_rng(0)
    mag = rng.random((33, 150))
    acc = SpectrogramAccumulator(max_columns=200)
    for start in range(0, 150, 7):
        acc.add(mag[:, start : start + 7])
    out = acc.finish()
    assert acc.group == 1 and acc.frames == 150
    np.testing.assert_allclose(out, mag, rtol=1e-6)


def test_accumulator_bounded_and_equals_group_means() -> None:
    rng = np.random.default_rng(1)
    bins, frames, cap = 17, 10_007, 100
    mag = rng.random((bins, frames))
    acc = SpectrogramAccumulator(max_columns=cap)
    pos = 0
    while pos < frames:
        step = int(rng.integers(1, 400))
        acc.add(mag[:, pos : pos + step])
        pos += step
    out = acc.finish()
    g = acc.group
    assert g == 128  # smallest power of two with ceil(frames / g) <= cap
    assert out.shape == (bins, -(-frames // g)) and out.shape[1] <= cap
    full = frames // g
    expected = mag[:, : full * g].reshape(bins, full, g).mean(axis=2)
    np.testing.assert_allclose(out[:, :full], expected, rtol=1e-6)
    np.testing.assert_allclose(out[:, -1], mag[:, full * g :].mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(acc.finish(), out)  # finish() is repeatable
    # one big block gives the same picture as many small ones
    one = SpectrogramAccumulator(max_columns=cap)
    one.add(mag)
    np.testing.assert_allclose(one.finish(), out, rtol=1e-6)


def test_accumulator_random_feeds_match_reference() -> None:
    rng = np.random.default_rng(2)
    for _ in range(200):
        cap = int(rng.choice([3, 4, 5, 10, 64, 101]))
        frames = int(rng.integers(1, 3000))
        mag = rng.random((3, frames))
        acc = SpectrogramAccumulator(max_columns=cap)
        pos = 0
        while pos < frames:
            step = int(rng.integers(1, 40 if rng.random() < 0.5 else 900))
            acc.add(mag[:, pos : pos + step])
            pos += step
        out, g = acc.finish(), acc.group
        full = frames // g
        expected = mag[:, : full * g].reshape(3, full, g).mean(axis=2)
        if frames % g:
            expected = np.concatenate([expected, mag[:, full * g :].mean(axis=1, keepdims=True)], axis=1)
        assert out.shape == expected.shape and out.shape[1] <= cap
        np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_accumulator_feeds_png_and_checks_bins(tmp_path: Path) -> None:
    acc = SpectrogramAccumulator()
    assert acc.finish().shape == (0, 0)
    stft = np.exp(1j * np.linspace(0, 3, 1025 * 50)).reshape(1025, 50)  # complex is fine
    for _ in range(100):
        acc.add(stft)
    with pytest.raises(ValueError):
        acc.add(np.ones((513, 4)))
    spec = acc.finish()
    assert spec.shape == (1025, 5000 // 4) and acc.group == 4
    save_spectrogram_png(tmp_path / "song.png", spec, title="song")
    img, _ = parse_png(tmp_path / "song.png")
    assert img.shape == (1025, 1250, 3)


# -- the readable figure (axes, log frequency, dBFS colour bar) ------------------------------------------

def _tone_spectrogram(freq: float, seconds: float, rate: int = 44100, n_fft: int = 2048, start: float = 0.0,
                      amplitude: float = 1.0) -> np.ndarray:
    """Magnitudes of a real sine (silent before `start` seconds), framed as separate -I does."""
    import torch

    t = np.arange(int(seconds * rate)) / rate
    x = np.where(t >= start, amplitude * np.sin(2 * np.pi * freq * t), 0.0).astype(np.float32)
    spec = torch.stft(torch.from_numpy(x), n_fft, n_fft // 2, window=torch.hann_window(n_fft), center=False,
                      return_complex=True)
    return spec.abs().numpy()


def _plot(img: np.ndarray) -> np.ndarray:
    from vocal_remover.images import MARGINS, PLOT_HEIGHT, PLOT_WIDTH

    return img[MARGINS["top"]:MARGINS["top"] + PLOT_HEIGHT, MARGINS["left"]:MARGINS["left"] + PLOT_WIDTH]


def _levels(rgb: np.ndarray) -> np.ndarray:
    """Colour map index of every pixel (exact: the figure only uses COLORMAP colours in its plot)."""
    lut = {tuple(c): i for i, c in enumerate(COLORMAP)}
    return np.array([[lut[tuple(p)] for p in row] for row in rgb])


def test_figure_frequency_axis_is_logarithmic_and_labelled(tmp_path: Path) -> None:
    from vocal_remover.images import FMIN, MARGINS, PLOT_HEIGHT, PLOT_WIDTH, frequency_row

    rate, n_fft = 44100, 2048
    mag = _tone_spectrogram(1000.0, 4.0, rate, n_fft) + _tone_spectrogram(200.0, 4.0, rate, n_fft)
    out = tmp_path / "tones.png"
    save_spectrogram_png(out, mag, title="tones Input", label="Input", sample_rate=rate, n_fft=n_fft, seconds=4.0)
    img, text = parse_png(out)
    assert text == {"Title": "tones Input"}
    assert img.shape == (MARGINS["top"] + PLOT_HEIGHT + MARGINS["bottom"],
                         MARGINS["left"] + PLOT_WIDTH + MARGINS["right"], 3)
    levels = _levels(_plot(img)[:, 100:101]).ravel()  # one column, top row = highest frequency
    brightest = set(np.argsort(levels)[-6:])
    # Each tone lights the rows at its place on the log axis (independently: row = H - 1 - floor(H log(f/fmin)
    # / log(fmax/fmin))), and the octave 100-200 Hz is as tall as the octave 5-10 kHz.
    for f in (1000.0, 200.0):
        row = PLOT_HEIGHT - 1 - int(PLOT_HEIGHT * np.log(f / FMIN) / np.log(rate / 2 / FMIN))
        assert row == frequency_row(f, FMIN, rate / 2, PLOT_HEIGHT)
        assert any(abs(r - row) <= 2 for r in brightest), (f, row, sorted(brightest))
    octave = [frequency_row(a, FMIN, rate / 2, PLOT_HEIGHT) - frequency_row(2 * a, FMIN, rate / 2, PLOT_HEIGHT)
              for a in (100, 5000)]
    assert abs(octave[0] - octave[1]) <= 1
    # The vocal range 80 Hz - 1.1 kHz takes over a third of the height (a linear axis gives it 5%).
    assert frequency_row(80, FMIN, rate / 2, PLOT_HEIGHT) - frequency_row(1100, FMIN, rate / 2, PLOT_HEIGHT) \
        > PLOT_HEIGHT / 3
    # Tick labels are drawn left of the plot, the title above it: dark pixels there.
    left = img[MARGINS["top"]:MARGINS["top"] + PLOT_HEIGHT, :MARGINS["left"] - 8]
    assert (left.sum(axis=2) < 300).sum() > 200
    assert (img[:MARGINS["top"] - 2, MARGINS["left"]:MARGINS["left"] + PLOT_WIDTH].sum(axis=2) < 300).sum() > 50


def test_figure_time_axis_and_dbfs_colour_bar(tmp_path: Path) -> None:
    from vocal_remover.images import MARGINS, PLOT_HEIGHT, PLOT_WIDTH

    rate, n_fft = 44100, 2048
    # A full-scale 1 kHz sine that starts at 3 s of a 6 s clip; a second picture 20 dB quieter.
    loud = _tone_spectrogram(1000.0, 6.0, rate, n_fft, start=3.0)
    quiet = _tone_spectrogram(1000.0, 6.0, rate, n_fft, start=3.0, amplitude=0.1)
    for name, mag in (("loud", loud), ("quiet", quiet)):
        save_spectrogram_png(tmp_path / f"{name}.png", mag, label=name, sample_rate=rate, n_fft=n_fft, seconds=6.0,
                             top_db=0.0)
    loud_img, _ = parse_png(tmp_path / "loud.png")
    quiet_img, _ = parse_png(tmp_path / "quiet.png")
    plot = _levels(_plot(loud_img))
    column_peak = plot.max(axis=0)
    # Silent in the first half, the tone in the second: the change sits at the middle of the time axis.
    onset = int(np.argmax(column_peak > 128))
    assert abs(onset - PLOT_WIDTH // 2) <= PLOT_WIDTH // 100
    # dBFS: a full-scale sine reaches 0 dBFS (the top of the scale, the brightest colour, within 1 dB);
    # the copy at amplitude 0.1 sits 20 dB lower: a quarter of the 80 dB bar.
    loud_peak = column_peak[onset + 20:].max()
    quiet_peak = _levels(_plot(quiet_img)).max()
    assert loud_peak >= 255 - 255 / 80
    assert abs((loud_peak - quiet_peak) - 255 * 20 / 80) <= 4
    # The colour bar right of the plot runs from the brightest colour (top) to the darkest.
    bar = loud_img[MARGINS["top"]:MARGINS["top"] + PLOT_HEIGHT, MARGINS["left"] + PLOT_WIDTH + 20]
    bar_levels = _levels(bar[None])[0]
    assert bar_levels[0] == 255 and bar_levels[-1] == 0 and np.all(np.diff(bar_levels) <= 0)
    # Time tick labels under the plot: dark pixels there.
    below = loud_img[MARGINS["top"] + PLOT_HEIGHT + 8:, MARGINS["left"]:MARGINS["left"] + PLOT_WIDTH]
    assert (below.sum(axis=2) < 300).sum() > 200


def test_figure_text_and_ticks() -> None:
    from vocal_remover.images import _time_ticks, can_draw, draw_text, text_width

    img = np.full((20, 100, 3), 255, np.uint8)
    draw_text(img, 0, 0, "1k Hz")
    assert (img.sum(axis=2) < 300).sum() > 20 and text_width("1k Hz") == 5 * 12 - 2
    assert can_draw("Vocals -12 dBFS (m:ss)") and not can_draw("Björk")
    ticks, label, fmt = _time_ticks(185.0)
    assert label == "time (m:ss)" and ticks[:3] == [0, 30, 60] and fmt(90) == "1:30"
    ticks, label, fmt = _time_ticks(6.0)
    assert label == "time (s)" and ticks == [0, 1, 2, 3, 4, 5, 6] and fmt(2) == "2"
