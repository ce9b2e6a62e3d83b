"""The Separator: window stitching without seams, streaming equivalence, lengths, silence."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from helpers import make_music
from vocal_remover.artifacts import LoadedModel
from vocal_remover.errors import AudioError, ConfigError
from vocal_remover.model import PRESETS, build_model
from vocal_remover.overlap_add import OverlapAdd
from vocal_remover.separator import Separator, remove_isolated_vocals


def _loaded(config=PRESETS["tiny"], seed=0) -> LoadedModel:
    torch.manual_seed(seed)
    model = build_model(config).eval()
    return LoadedModel(model=model, config=model.config, metadata={"trained": False})


def _constant_mask_model(value: float) -> LoadedModel:
    """A real FramePrimer whose output layer ignores its input: mask == value everywhere."""
    loaded = _loaded()
    with torch.no_grad():
        loaded.model.out.weight.zero_()
        loaded.model.out.bias.fill_(math.log(value / (1 - value)))
    return loaded


def _sdr(ref: np.ndarray, est: np.ndarray) -> float:
    return 10 * math.log10((ref ** 2).sum() / max(((ref - est) ** 2).sum(), 1e-20))


@pytest.mark.parametrize("window,overlap,tta,shifts", [(64, 0.0, False, 1), (64, 0.25, False, 1),
                                                       (100, 0.5, False, 1), (64, 0.25, True, 1),
                                                       (256, 0.75, False, 1), (64, 0.25, False, 3),
                                                       (100, 0.0, True, 2), (256, 0.125, False, 4)])
def test_stitching_has_no_seams(window, overlap, tta, shifts):
    """With a constant mask c, instrumental == c * input to float precision at every sample:
    any seam, gain ripple of the cross-fade or misplaced window (shifted grids included) would show."""
    x = make_music(7.3)
    sep = Separator(_constant_mask_model(0.3), precision="fp32", window=window, overlap=overlap, tta=tta,
                    shifts=shifts, batch_size=3)
    out = sep.separate_array(x)
    assert out["instrumental"].shape == x.shape
    assert np.abs(out["instrumental"] - 0.3 * x).max() < 1e-6
    assert np.abs(out["vocals"] + out["instrumental"] - x).max() < 1e-6


def test_windowed_separation_matches_one_window_of_the_whole_song():
    """A 10 s clip separated in 128-frame windows vs in a single window covering it all."""
    loaded = _loaded(PRESETS["tiny"].replace(max_cropsize=2048))
    x = make_music(10.0)
    whole = Separator(loaded, precision="fp32", window=1800, overlap=0.0).separate_array(x)["instrumental"]
    windowed = Separator(loaded, precision="fp32", window=128, overlap=0.5).separate_array(x)["instrumental"]
    assert _sdr(whole, windowed) > 25.0


def test_streaming_in_small_blocks_equals_one_block():
    sep = Separator(_loaded(), precision="fp32", window=64, overlap=0.25)
    x = make_music(6.0)
    small = [i for i, _ in sep._separate_blocks((x[i:i + 1000] for i in range(0, len(x), 1000)), 44100, 2)]
    whole = [i for i, _ in sep._separate_blocks(iter([x]), 44100, 2)]
    assert np.array_equal(np.concatenate(small), np.concatenate(whole))


@pytest.mark.parametrize("rate", [8000, 22050, 48000, 96000])
def test_any_rate_keeps_the_input_length_and_rate(rate):
    x = soxr.resample(make_music(3.0), 44100, rate).astype(np.float32)
    out = Separator(_constant_mask_model(0.5), precision="fp32", window=64).separate_array(x, rate)
    assert out["instrumental"].shape == x.shape
    # Band-limited content survives the round trip through 44.1 kHz.
    assert _sdr(0.5 * x, out["instrumental"]) > 40.0
    assert np.abs(out["vocals"] + out["instrumental"] - x).max() < 1e-6


def _fold_5_1(x: np.ndarray) -> np.ndarray:
    """5.1 (FL FR FC LFE BL BR) to stereo, written out: centre into both sides and each surround into its
    side at -3 dB, LFE dropped, each side divided by its sum of gains (1 + 2 x 0.7071)."""
    g = 1 / math.sqrt(2)
    fl, fr, fc, _lfe, bl, br = x.astype(np.float64).T
    return np.stack([fl + g * fc + g * bl, fr + g * fc + g * br], axis=1) / (1 + 2 * g)


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_channel_layouts(channels):
    """Mono is separated as L = R and written back as mono; stereo keeps its two channels apart and in
    order; 5.1 is folded down to stereo (LFE dropped) and written as stereo. Checked with numbers: a
    constant-mask model (instrumental = 0.3 x what the network was given, per channel) and a real network
    (the same stems as separating the stereo signal the rule says it sees)."""
    x = make_music(1.0, channels=channels, seed=channels)
    # The stereo the network is given: mono duplicated, stereo as is, 5.1 folded down.
    seen = _fold_5_1(x) if channels == 6 else np.repeat(x, 2 // channels, axis=1)
    written = seen.mean(axis=1, keepdims=True) if channels == 1 else seen  # mono stays mono
    out = Separator(_constant_mask_model(0.3), precision="fp32", window=64).separate_array(x)
    assert out["instrumental"].shape == out["vocals"].shape == written.shape
    assert np.abs(out["instrumental"] - 0.3 * written).max() < 1e-6
    assert np.abs(out["vocals"] - 0.7 * written).max() < 1e-6

    sep = Separator(_loaded(), precision="fp32", window=64)
    out = sep.separate_array(x)
    stereo = sep.separate_array(seen.astype(np.float32))
    for stem in ("instrumental", "vocals"):
        expected = stereo[stem].mean(axis=1, keepdims=True) if channels == 1 else stereo[stem]
        assert np.abs(out[stem] - expected).max() < 1e-5, stem
    if channels == 6:  # the LFE channel alone is dropped entirely: digital silence out
        lfe_only = np.zeros_like(x)
        lfe_only[:, 3] = x[:, 3]
        assert all(np.abs(stem).max() == 0.0 for stem in sep.separate_array(lfe_only).values())


@pytest.mark.parametrize("n", [1, 441, 5000])
def test_very_short_inputs(n):
    x = make_music(1.0)[:n]
    out = Separator(_loaded(), precision="fp32", window=64).separate_array(x)
    assert out["instrumental"].shape == (n, 2)
    assert np.isfinite(out["instrumental"]).all()


def test_digital_silence_gives_silence():
    out = Separator(_loaded(), precision="fp32", window=64).separate_array(np.zeros((44100, 2), np.float32))
    for stem in out.values():
        assert np.isfinite(stem).all() and np.abs(stem).max() == 0.0


@pytest.mark.parametrize("engine,precision", [("torch", "fp32"), ("torch", "auto"), ("onnx", "fp32")])
def test_separation_is_deterministic(engine, precision, tiny_model_dir, real_mix, tmp_path):
    """What a user relies on: the same file and settings give stem files with the same samples, bit for
    bit, every run: the same Separator again and a new one that loads the model folder again, for each
    engine `auto` can pick (torch in fp32, torch in bf16 autocast where the CPU has native bf16,
    onnxruntime); and the Python API returns exactly the samples the files hold. (The files' bytes differ
    only in the time stamp libsndfile puts in a float WAV's PEAK chunk.) Bitwise equality is not promised
    across engines, precisions, batch sizes or thread counts (the engine test bounds the difference between
    engines)."""
    if engine == "onnx":  # exported once into the session's ONNX cache (shared with the CLI's engine test)
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnxscript")
    x, rate = sf.read(real_mix, dtype="float32")
    x = x[:100_000]
    clip = tmp_path / "clip.wav"
    sf.write(clip, x, rate, subtype="FLOAT")

    def separator() -> Separator:
        return Separator(tiny_model_dir, engine=engine, precision=precision, window=128)

    first = separator()
    assert first.engine == engine
    runs = []
    for k, sep in enumerate((first, first, separator())):
        outputs = sep.separate_file(clip, tmp_path / f"run{k}").outputs
        runs.append({stem: sf.read(outputs[stem], dtype="float32")[0] for stem in ("instrumental", "vocals")})
    arrays = first.separate_array(x)
    files = runs[0]
    for stem in files:
        assert files[stem].shape == x.shape
        for again in (runs[1][stem], runs[2][stem], arrays[stem]):
            assert np.abs(again - files[stem]).max() == 0.0, stem
    # ... and it is a separation, not a trivially repeatable output (silence, or the input passed through).
    energy = (x.astype(np.float64) ** 2).sum()
    for stem in files.values():
        assert 0.01 < (stem.astype(np.float64) ** 2).sum() / energy < 1.0
    assert np.abs(files["instrumental"] + files["vocals"] - x).max() < 1e-6


@pytest.mark.parametrize("overlap,tta,shifts", [(0.125, False, 1), (0.5, False, 1), (0.75, False, 1),
                                                (0.25, True, 1), (0.25, False, 3)])
def test_overlap_add_divides_by_the_weight_sum(overlap, tta, shifts):
    """Stitching does not rely on cross-fade weights summing to one (they do not at the start and end of the
    audio, with overlaps above 0.5, or where --tta / --shifts lay grids on top of each other): every sample
    is the weighted sum of the windows covering it divided by the sum of their weights. What it relies on:
    every weight is positive (the division is safe wherever a window reaches), and each window fades in and
    out linearly, so neighbouring windows blend instead of switching; a constant comes out unchanged."""
    sep = Separator(_loaded(), precision="fp32", window=64, overlap=overlap, tta=tta, shifts=shifts)
    n = 200_000
    segment, stride, w = sep._plan(n)
    ramp = min(segment - stride, segment // 2)
    assert w.min() > 0 and w.max() <= 1.0 and np.array_equal(w, w[::-1])
    assert np.allclose(np.diff(w[:ramp]), 1 / ramp) and np.all(w[ramp:segment - ramp] == 1.0)

    starts = sorted(start for offset in sep.shift_offsets(stride) for start in range(-offset, n, stride))
    values = np.random.default_rng(0).uniform(-1, 1, len(starts))
    weighted, weights = np.zeros(n), np.zeros(n)  # computed here independently of OverlapAdd
    constant, varying = OverlapAdd(1), OverlapAdd(1)
    for start, value in zip(starts, values):
        lo, hi = max(start, 0), min(start + segment, n)
        weighted[lo:hi] += value * w[lo - start:hi - start]
        weights[lo:hi] += w[lo - start:hi - start]
        constant.add(start, np.full((segment, 1), 0.3), w)
        varying.add(start, np.full((segment, 1), value), w)
    assert weights.min() >= w.min() > 0
    assert weights.max() - weights.min() > 0.5  # far from summing to one: the division is what counts
    assert np.abs(constant.pop(n)[:, 0] - 0.3).max() < 1e-7  # float32 rounding only: no seam, no ripple
    assert np.abs(varying.pop(n)[:, 0] - weighted / weights).max() < 1e-6


def test_postprocess_removes_only_short_isolated_vocal_runs():
    mask = torch.ones(1, 2, 8, 100)
    mask[..., 10:14] = 0.0  # 4 frames: an artefact
    mask[..., 40:80] = 0.2  # 40 frames: real singing
    out = remove_isolated_vocals(mask, torch.ones(1, 2, 8, 100), min_frames=16)
    assert torch.all(out[..., 10:14] == 1.0)
    assert torch.all(out[..., 40:80] == 0.2)


@pytest.mark.parametrize("kwargs,match", [({"window": 4}, "window"), ({"window": 10_000}, "max_cropsize"),
                                          ({"overlap": 0.9}, "overlap"), ({"batch_size": 0}, "batch-size"),
                                          ({"device": "tpu"}, "device"), ({"precision": "int8"}, "precision"),
                                          ({"shifts": 0}, "shifts"), ({"engine": "tensorrt"}, "engine")])
def test_bad_options_are_config_errors(kwargs, match):  # noqa: D103
    with pytest.raises(ConfigError, match=match):
        Separator(_loaded(), **kwargs)


def test_colliding_track_names_are_made_unique():
    from pathlib import Path

    from vocal_remover.outputs import unique_track_names

    files = [Path("a/song.wav"), Path("a/song.mp3"), Path("b/song.mp3"), Path("a/other.wav")]
    names = unique_track_names(files)
    assert len(set(names)) == 4
    assert names[0] == "song_wav" and names[3] == "other"
    assert unique_track_names([Path("x/one.wav"), Path("y/two.wav")]) == ["one", "two"]


# -- windows fitted to the input ------------------------------------------------------------------------

HOP1024 = PRESETS["tiny"].replace(n_fft=2048, hop_length=1024, max_cropsize=1024)  # the default model's STFT


def _covers(segment: int, count: int, n: int, overlap: float) -> bool:
    return segment + (count - 1) * max(1, round(segment * (1 - overlap))) >= n


@pytest.mark.parametrize("seconds,expected_window", [(7.0, 320), (0.1, 32), (11.8, 512)])
def test_short_inputs_get_a_window_fitted_to_them(seconds, expected_window):
    """A clip shorter than one 512-frame window is separated in one window just long enough (a multiple of 32
    frames), exactly as if that window had been asked for; the output keeps the clip's length."""
    loaded = _loaded(HOP1024)
    n = int(seconds * 44100)
    sep = Separator(loaded, precision="fp32", window=512)
    segment, stride, _ = sep._plan(n)
    assert segment == (expected_window - 1) * 1024 and segment >= n
    x = make_music(seconds)
    fitted = sep.separate_array(x)
    explicit = Separator(loaded, precision="fp32", window=expected_window).separate_array(x)
    assert fitted["vocals"].shape == x.shape
    assert np.array_equal(fitted["vocals"], explicit["vocals"])


@pytest.mark.parametrize("overlap", [0.125, 0.5])
def test_long_inputs_get_the_fewest_windows_each_as_short_as_that_allows(overlap):
    sep = Separator(_loaded(HOP1024), precision="fp32", window=512, overlap=overlap)
    hop = 1024
    for seconds in (12.5, 30.0, 60.0, 180.0, 181.3):
        n = int(seconds * 44100)
        full = 511 * hop
        count = 1 + math.ceil((n - full) / round(full * (1 - overlap)))  # windows of 512 frames needed
        segment, stride, _ = sep._plan(n)
        window = segment // hop + 1
        assert window % 32 == 0 and window <= 512
        assert _covers(segment, count, n, overlap)  # as few windows as 512-frame ones need
        assert window == 512 or not _covers(segment - 32 * hop, count, n, overlap)  # 32 frames fewer would not do
    assert sep._plan(None)[0] == 511 * hop  # a stream of unknown length: the full window


# -- --shifts -------------------------------------------------------------------------------------------

def test_shifts_are_deterministic_and_average_shifted_passes(real_mix):
    x, _ = sf.read(real_mix, dtype="float32")
    x = x[:4 * 44100]
    loaded = _loaded()
    plain = Separator(loaded, precision="fp32", window=64).separate_array(x)["vocals"]
    one = Separator(loaded, precision="fp32", window=64, shifts=1).separate_array(x)["vocals"]
    assert np.array_equal(plain, one)  # 1 pass = the plain grid
    sep = Separator(loaded, precision="fp32", window=64, shifts=3)
    offsets = sep.shift_offsets(sep._plan(len(x))[1])
    assert offsets[0] == 0 and len(offsets) == 3 and all(0 <= o < 22050 for o in offsets)
    assert offsets == Separator(loaded, precision="fp32", window=64, shifts=3).shift_offsets(sep._plan(len(x))[1])
    a = sep.separate_array(x)
    b = sep.separate_array(x)
    assert np.array_equal(a["vocals"], b["vocals"])  # seeded: every run the same
    assert a["vocals"].shape == x.shape and not np.array_equal(a["vocals"], plain)
    assert np.abs(a["vocals"] + a["instrumental"] - x).max() < 1e-6
    other_seed = Separator(loaded, precision="fp32", window=64, shifts=3, seed=1).separate_array(x)["vocals"]
    assert not np.array_equal(other_seed, a["vocals"])


def test_swapping_channels_averages_both_orders_so_a_swapped_input_gives_swapped_stems(real_mix):
    """With --swap-channels every window's mask is the mean of the network's masks for both channel orders:
    separating the song with left and right swapped gives exactly the swapped stems. One pass alone does not (the
    network is not symmetric), which is what the average is for."""
    x, _ = sf.read(real_mix, dtype="float32")
    x = np.ascontiguousarray(x[:3 * 44100])
    swapped = np.ascontiguousarray(x[:, ::-1])
    loaded = _loaded()
    both = Separator(loaded, precision="fp32", window=64, swap_channels=True)
    assert both.swap_channels
    a, b = both.separate_array(x)["vocals"], both.separate_array(swapped)["vocals"]
    assert np.abs(b[:, ::-1] - a).max() < 1e-6
    one = Separator(loaded, precision="fp32", window=64, swap_channels=False)
    c, d = one.separate_array(x)["vocals"], one.separate_array(swapped)["vocals"]
    assert np.abs(d[:, ::-1] - c).max() > 1e-3
    # the average sits between the two passes it averages: its vocals are the mean of c and d swapped back
    assert np.abs(a - 0.5 * (c + d[:, ::-1])).max() < 1e-5


def test_mono_input_is_separated_in_one_pass(real_mix):
    """Equal channels would give the swapped pass the same mask: it is skipped, and the output is the one-pass
    output exactly."""
    x, _ = sf.read(real_mix, dtype="float32")
    mono = np.repeat(x[:2 * 44100].mean(axis=1, keepdims=True), 2, axis=1)
    loaded = _loaded()
    calls = []
    forward = loaded.model.forward
    loaded.model.forward = lambda inp: calls.append(inp.shape[0]) or forward(inp)
    out = Separator(loaded, precision="fp32", window=64, swap_channels=True).separate_array(mono)["vocals"]
    windows = len(calls)
    plain = Separator(loaded, precision="fp32", window=64, swap_channels=False).separate_array(mono)["vocals"]
    assert np.array_equal(out, plain) and len(calls) == 2 * windows


def _windows_cut(sep: Separator, x: np.ndarray) -> list[np.ndarray]:
    """The mixture windows the separator gives its network for `x` (recorded around the real method)."""
    seen: list[np.ndarray] = []
    real = sep._instrumental_segments

    def recording(segments: np.ndarray) -> np.ndarray:
        seen.extend(segments.copy())
        return real(segments)

    sep._instrumental_segments = recording
    sep.separate_array(x)
    return seen


def test_extra_grids_never_separate_zero_padding(real_mix):
    """--tta / --shifts grids cut no window that reaches outside the audio: a window half of zeros separates its
    real half badly (with the packaged model, --tta on 7-s clips lost 0.6 dB before this). Only the plain grid
    pads, at the ends; a clip of one window is therefore separated exactly as without them."""
    x, _ = sf.read(real_mix, dtype="float32")
    x = x[:4 * 44100]
    loaded = _loaded()

    def padded(window: np.ndarray) -> bool:  # 1024 zero samples at either end: audio never has them here
        return not np.any(window[:1024]) or not np.any(window[-1024:])

    plain = _windows_cut(Separator(loaded, precision="fp32", window=64), x)
    for options in ({"tta": True}, {"shifts": 3}):
        windows = _windows_cut(Separator(loaded, precision="fp32", window=64, **options), x)
        assert len(windows) > len(plain)  # the extra grids are there
        assert sum(map(padded, windows)) == sum(map(padded, plain)) >= 1
    default_segment = Separator(loaded, precision="fp32")._plan(None)[0]
    clip = x[:default_segment * 3 // 4]  # shorter than a default window: the window is fitted to it, one window
    alone = Separator(loaded, precision="fp32").separate_array(clip)["vocals"]
    assert len(_windows_cut(Separator(loaded, precision="fp32", tta=True), clip)) == 1
    for options in ({"tta": True}, {"shifts": 3}):
        assert np.array_equal(Separator(loaded, precision="fp32", **options).separate_array(clip)["vocals"], alone)


# -- output names, remix, rates (the library under `separate`) -----------------------------------------

def test_filename_templates_are_checked():
    from vocal_remover.outputs import check_filename_template, output_paths

    for bad, why in [("{track}_{name}.{ext}", "unknown field"), ("{track}.{ext}", "{stem}"),
                     ("/abs/{stem}.{ext}", "relative"), ("../{stem}.{ext}", "relative"),
                     ("{track}//{stem}.{ext}", "relative"), ("{track}/{stem", "template"),
                     ("{0}{stem}", "unknown field")]:
        with pytest.raises(ConfigError, match=re.escape(why)):
            check_filename_template(bad)
    paths = output_paths("song", Path("out"), "flac", ("instrumental", "vocals", "remix"),
                         template="{track}/{stem}.{trackext}.{ext}", trackext="mp3", images=True)
    assert {k: str(v) for k, v in paths.items()} == {
        "instrumental": "out/song/Instruments.mp3.flac", "vocals": "out/song/Vocals.mp3.flac",
        "remix": "out/song/Remix.mp3.flac", "image_input": "out/song/Input.mp3.png",
        "image_instruments": "out/song/Instruments.mp3.png", "image_vocals": "out/song/Vocals.mp3.png"}


def test_remix_is_instrumental_plus_gained_vocals(real_mix, tmp_path):
    """--vocals-gain: the remix has the input's length and rate, and equals instrumental + g x vocals."""
    sep = Separator(_loaded(), precision="fp32", window=128)
    result = sep.separate_file(real_mix, tmp_path, vocals_gain=-12.0, filename="{track}/{stem}.{ext}")
    assert set(result.outputs) == {"instrumental", "vocals", "remix"}
    assert result.outputs["remix"] == tmp_path / "real mix" / "Remix.wav"
    mix, rate = sf.read(real_mix, dtype="float32")
    inst, r1 = sf.read(result.outputs["instrumental"], dtype="float32")
    voc, r2 = sf.read(result.outputs["vocals"], dtype="float32")
    remix, r3 = sf.read(result.outputs["remix"], dtype="float32")
    assert r1 == r2 == r3 == rate and inst.shape == voc.shape == remix.shape == mix.shape
    gain = 10 ** (-12 / 20)
    assert np.abs(remix - (inst + gain * voc)).max() < 1e-6
    # and so the remix is the song with its vocals 12 dB down: mix - (1 - g) x vocals
    assert np.abs(remix - (mix - (1 - gain) * voc)).max() < 1e-5
    with pytest.raises(ConfigError, match="vocals-gain"):
        sep.separate_file(real_mix, tmp_path, vocals_gain=40.0)


def test_mp3_output_of_a_96k_input_is_resampled_to_48k(tmp_path):
    x = soxr.resample(make_music(2.0), 44100, 96000).astype(np.float32)
    src = tmp_path / "hires.wav"
    sf.write(src, x, 96000, subtype="FLOAT")
    sep = Separator(_constant_mask_model(0.5), precision="fp32", window=64)
    result = sep.separate_file(src, tmp_path / "out", fmt="mp3", mp3_bitrate=192)
    assert any("96000 to 48000 Hz" in note for note in result.notes), result.notes
    for stem in ("instrumental", "vocals"):
        info = sf.info(result.outputs[stem])
        assert info.samplerate == 48000 and info.channels == 2
        assert abs(info.frames - 96000) < 3000  # 2 s at 48 kHz (MP3 pads to whole frames)
    # The same separation to WAV at 48 kHz, as the library's rates are exact there: 2 s -> 96000 samples.
    wav = sep.separate_file(src, tmp_path / "wav", stems=("vocals",))
    assert sf.info(wav.outputs["vocals"]).samplerate == 96000 and sf.info(wav.outputs["vocals"]).frames == len(x)


def test_a_failed_file_leaves_no_folders_behind(tmp_path):
    """Folders made for a file's outputs (--filename "{track}/{stem}.{ext}") are removed again when the file
    fails after they were made; folders that were there before stay."""
    src = tmp_path / "ultrasonic.wav"
    sf.write(src, make_music(0.1, rate=700_000), 700_000)  # FLAC stores at most 655350 Hz
    (tmp_path / "out").mkdir()
    sep = Separator(_loaded(), precision="fp32", window=64)
    with pytest.raises(AudioError, match="FLAC does not support"):
        sep.separate_file(src, tmp_path / "out" / "new", fmt="flac", filename="{track}/{stem}.{ext}", images=True)
    assert list((tmp_path / "out").iterdir()) == []


def test_swapping_channels_defaults_to_on_for_a_gpu_and_off_on_the_cpu():
    """Auto: the second pass costs ~1.8x on a CPU (the default must stay faster than Spleeter on two cores) and
    ~1.2x on a GPU; an explicit choice wins either way."""
    loaded = _loaded()
    assert Separator(loaded, device="cpu").swap_channels is False
    assert Separator(loaded, device="cpu", swap_channels=True).swap_channels is True
    if torch.cuda.is_available():
        assert Separator(loaded, device="cuda").swap_channels is True
        assert Separator(loaded, device="cuda", swap_channels=False).swap_channels is False
