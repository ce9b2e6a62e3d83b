"""The Separator: window stitching without seams, streaming equivalence, lengths, silence."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from conftest import make_music
from vocal_remover.artifacts import LoadedModel
from vocal_remover.errors import ConfigError
from vocal_remover.model import PRESETS, build_model
from vocal_remover.separator import Separator, crossfade_weight, remove_isolated_vocals


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


@pytest.mark.parametrize("window,overlap,tta", [(64, 0.0, False), (64, 0.25, False), (100, 0.5, False),
                                                (64, 0.25, True), (256, 0.75, False)])
def test_stitching_has_no_seams(window, overlap, tta):
    """With a constant mask c, instrumental == c * input to float precision at every sample:
    any seam, gain ripple of the cross-fade or misplaced window would show."""
    x = make_music(7.3)
    sep = Separator(_constant_mask_model(0.3), precision="fp32", window=window, overlap=overlap, tta=tta,
                    batch_size=3)
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


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_channel_layouts(channels):
    x = make_music(1.0, channels=channels)
    out = Separator(_loaded(), precision="fp32", window=64).separate_array(x)
    expected = channels if channels <= 2 else 2
    assert out["vocals"].shape == (len(x), expected)


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


def test_separation_is_deterministic(real_mix):
    x, _ = sf.read(real_mix, dtype="float32")
    sep = Separator(_loaded(), precision="fp32", window=128)
    a = sep.separate_array(x[:100_000])["vocals"]
    b = sep.separate_array(x[:100_000])["vocals"]
    assert np.array_equal(a, b)


def test_crossfade_weights_partition_unity_where_windows_overlap():
    seg, stride = 1000, 750
    w = crossfade_weight(seg, seg - stride)
    total = np.zeros(seg * 4)
    for pos in range(0, 3 * stride + 1, stride):
        total[pos:pos + seg] += w
    assert np.allclose(total[seg - stride:3 * stride], 1.0)


def test_postprocess_removes_only_short_isolated_vocal_runs():
    mask = torch.ones(1, 2, 8, 100)
    mask[..., 10:14] = 0.0  # 4 frames: an artefact
    mask[..., 40:80] = 0.2  # 40 frames: real singing
    out = remove_isolated_vocals(mask, torch.ones(1, 2, 8, 100), min_frames=16)
    assert torch.all(out[..., 10:14] == 1.0)
    assert torch.all(out[..., 40:80] == 0.2)


@pytest.mark.parametrize("kwargs,match", [({"window": 4}, "window"), ({"window": 10_000}, "max_cropsize"),
                                          ({"overlap": 0.9}, "overlap"), ({"batch_size": 0}, "batch-size"),
                                          ({"device": "tpu"}, "device"), ({"precision": "int8"}, "precision")])
def test_bad_options_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Separator(_loaded(), **kwargs)


def test_colliding_track_names_are_made_unique():
    from pathlib import Path

    from vocal_remover.separator import unique_track_names

    files = [Path("a/song.wav"), Path("a/song.mp3"), Path("b/song.mp3"), Path("a/other.wav")]
    names = unique_track_names(files)
    assert len(set(names)) == 4
    assert names[0] == "song_wav" and names[3] == "other"
    assert unique_track_names([Path("x/one.wav"), Path("y/two.wav")]) == ["one", "two"]
