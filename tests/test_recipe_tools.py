"""The recipe tools that decide what ships and explain why. recipes/ship_rule.py decides whether a trained candidate
replaces the packaged model: a wrong verdict ships a worse model to every user (or keeps a better one out), so each
condition is checked on scores built to pass or fail it, and the script is run on a session's saved results.
recipes/error_parts.py splits a vocal estimate into vocals kept, accompaniment leaked and artefacts, and
recipes/band_errors.py does it band by band: both checked on estimates built from known parts. recipes/degradation_gap.py
says whether a kind of input widens the gap between two models: checked on results built with known changes.
recipes/channel_modes.py's mid-side separation is checked against the same built by hand."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import ENV, REPO

from vocal_remover.evaluate import ModelReport, TrackScore

sys.path.insert(0, str(REPO / "recipes"))
from band_errors import BANDS_HZ, band_sums, figures, stft_sdr  # noqa: E402
from channel_modes import MidSideSeparator  # noqa: E402
from clip_trends import clip_trends  # noqa: E402
from clip_trends import main as clip_trends_main  # noqa: E402
from degradation_gap import main as degradation_gap  # noqa: E402
from error_parts import error_parts  # noqa: E402
from paired_results import main as paired_results_main  # noqa: E402
from paired_results import pieces_by_content  # noqa: E402
from ship_rule import choice, judge, medians_hold_share, middle_half_gain  # noqa: E402
from vocal_balance import silent_highs  # noqa: E402
from weight_moves import cosine, moves, trained_weights  # noqa: E402


def report(name: str, vocals: list[float], instrumental: list[float] | None = None) -> ModelReport:
    instrumental = instrumental if instrumental is not None else [v + 4 for v in vocals]
    return ModelReport(name, {}, [TrackScore(f"t{i}", 7.0, 1.0, {"vocals": v, "instrumental": x})
                                  for i, (v, x) in enumerate(zip(vocals, instrumental))])


BASE = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]


def sets(candidate: list[float], *, pieces: list[float] | None = None, mir: list[float] | None = None):
    """musdb, pieces, mir: the packaged model (BASE everywhere) and one candidate."""
    return ([report("packaged", BASE), report("c", candidate)],
            [report("packaged", BASE), report("c", pieces if pieces is not None else BASE)],
            [report("packaged", BASE), report("c", mir if mir is not None else BASE)])


def test_a_uniform_gain_on_every_set_passes_and_is_chosen():
    better = [v + 0.2 for v in BASE]
    [verdict] = judge(*sets(better, pieces=better, mir=better))
    assert verdict.conditions == (True, True, True)
    assert verdict.musdb_paired_vocals == pytest.approx(0.2)
    assert choice([verdict]) is verdict


def test_a_higher_mean_with_a_lower_median_fails_condition_one():
    # the weak clips gain a lot, the median clip loses a little: session 19's pattern
    mixed = [v + 0.5 for v in BASE[:4]] + [BASE[4] - 0.1] + [v + 0.05 for v in BASE[5:]]
    [verdict] = judge(*sets(mixed))
    assert verdict.musdb_paired_vocals > 0
    assert verdict.conditions[0] is False
    assert choice([verdict]) is None


def test_the_middle_half_gain_counts_only_the_clips_ranked_in_the_middle_of_each_stem():
    # nine clips, so ranks 3-6 (9/4 <= r < 27/4) are the middle half; the ends move a lot, the middle a little
    vocals = [v + (0.1 if 4.0 <= v <= 7.0 else 5.0) for v in BASE]
    # the instrumental ranks the clips in reverse (BASE 9 lowest), so its middle is BASE 3-6
    instrumental = [10.0 - v for v in BASE]
    moved = [x + (-0.3 if 3.0 <= v <= 6.0 else 2.0) for v, x in zip(BASE, instrumental)]
    packaged, other = report("packaged", BASE, instrumental), report("c", vocals, moved)
    assert middle_half_gain(packaged, other, "vocals") == (pytest.approx(0.1), 4)
    assert middle_half_gain(packaged, other, "instrumental") == (pytest.approx(-0.3), 4)


def test_pieces_by_content_pairs_the_sounding_pieces_and_averages_the_leaks_as_powers():
    # 7.Francium's 40-50 s holds no voice and the packaged model's vocal estimate there is 50 dB below the mix: a
    # candidate at 20 dB moves a mean of dB by 30 / pieces, yet adds a hundredth of the leak the 10 dB piece has
    nan = float("nan")
    base = report("packaged", [4.0, 5.0, 6.0, 7.0, 8.0, nan, nan, 25.0], [9.0, 10.0, 11.0, 12.0, 13.0, 50.0, 10.0, nan])
    other = report("c", [4.5, 5.5, 6.5, 7.5, 8.5, nan, nan, 27.0], [9.5, 10.5, 11.5, 12.5, 13.5, 20.0, 10.0, nan])
    line = pieces_by_content(base, other)
    assert line.startswith("both stems (5) paired +0.50 [+0.50, +0.50]")
    assert "no voice (2) the vocals estimate 13.0 -> 12.6 dB below the mix" in line
    assert "no instrument (1) the instrumental estimate 25.0 -> 27.0 dB below the mix" in line


def test_paired_results_join_two_sessions_results_of_one_set(tmp_path, capsys):
    """A candidate paired with another session's: the same set's results joined, the shared packaged model once,
    a note where its scores differ between the files; another set stays apart."""
    def result(data, models):
        tracks = ["a", "b", "c"]
        return {"data": data, "tracks": tracks, "segment_seconds": None, "models": [
            {"name": name, "per_track": [{"track": t, "seconds": 7.0, "wall_seconds": 1.0,
                                          "sdr": {"vocals": v, "instrumental": v + 4}} for t, v in zip(tracks, vs)]}
            for name, vs in models.items()]}

    files = {"s48-valid": result("valid", {"packaged": [4, 5, 6], "s48-r": [4.5, 5.5, 6.5]}),
             "s49-valid": result("valid", {"packaged": [4, 5, 6.25], "s49-a": [5, 6, 7]}),
             "s49-mir": result("mir", {"packaged": [1, 2, 3], "s49-a": [1, 2, 2]})}
    for name, content in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(content))
    assert paired_results_main([str(tmp_path / f"{n}.json") for n in files] + ["--baseline", "s48-r"]) == 1
    out = capsys.readouterr()
    assert "no model named s48-r" in out.err  # the MIR set has no s48-r: one line, exit 1
    assert paired_results_main([str(tmp_path / f"{n}.json") for n in ("s48-valid", "s49-valid")]
                               + ["--baseline", "s48-r"]) == 0
    out = capsys.readouterr().out
    assert "s49-valid.json differs from" in out and "by up to 0.250 dB" in out
    line = next(row for row in out.splitlines() if row.strip().startswith("s49-a:"))
    assert "vocals +0.50" in line and "better on 3/3" in line
    assert sum(row.strip().startswith("packaged:") for row in out.splitlines()) == 1


def test_clip_trends_count_every_candidate_against_its_own_sessions_packaged_model(tmp_path, capsys):
    # two sessions, each with its own packaged model; clip t2 is lost by all three candidates, t0 gained by all
    nan = float("nan")
    first = [report("packaged", [1.0, 2.0, 3.0, 4.0]), report("a", [1.5, 2.1, 2.8, nan]),
             report("a-half", [9.0, 9.0, 9.0, 9.0])]
    second = [report("packaged", [1.2, 2.0, 3.1, 4.0]), report("b", [1.4, 1.9, 2.6, 4.0]),
              report("c", [1.3, 2.2, 3.0, 4.5])]
    trends = clip_trends([first, second], skip="-half")
    assert trends[0].track == "t2" and trends[-1].track == "t0"
    t2 = trends[0]
    assert t2.differences == pytest.approx((-0.2, -0.5, -0.1)) and (t2.lost, t2.gained) == (3, 0)
    assert (t2.first_sdr, t2.rank) == (3.0, 3)
    by_track = {c.track: c for c in trends}
    assert by_track["t3"].differences == pytest.approx((0.0, 0.5))  # the silent (NaN) score is left out
    assert (by_track["t3"].lost, by_track["t3"].gained) == (0, 1)
    assert by_track["t0"].mean == pytest.approx(0.8 / 3) and by_track["t0"].lost == 0
    # the script on saved results: the same clip first in its table
    paths = []
    for i, reports in enumerate((first, second)):
        path = tmp_path / f"s{i}.json"
        path.write_text(json.dumps({"models": [{"name": r.name, "per_track": [
            {"track": t.track, "seconds": t.seconds, "wall_seconds": t.wall_seconds,
             "sdr": {k: (None if v != v else v) for k, v in t.sdr.items()}} for t in r.tracks]} for r in reports]}))
        paths.append(str(path))
    assert clip_trends_main([*paths, "--skip=-half"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| t")]
    assert rows[0].startswith("| t2 | -0.27 | 3 / 0 | -0.50 to -0.10 | 3.00 (3) |")


def test_a_measured_loss_on_the_held_out_song_fails_condition_two():
    [verdict] = judge(*sets([v + 0.2 for v in BASE], pieces=[v - 0.5 for v in BASE]))
    assert verdict.conditions == (True, False, True)


def test_a_loss_on_mir1k_fails_condition_three():
    [verdict] = judge(*sets([v + 0.2 for v in BASE], mir=[v - 0.01 for v in BASE]))
    assert verdict.conditions == (True, True, False)


def test_the_passing_candidate_with_the_highest_paired_mean_is_chosen():
    small, large, failing = [v + 0.1 for v in BASE], [v + 0.3 for v in BASE], [v + 0.5 for v in BASE]
    musdb = [report("packaged", BASE), report("small", small), report("large", large), report("failing", failing)]
    same = [report(n, BASE) for n in ("packaged", "small", "large", "failing")]
    mir = same[:3] + [report("failing", [v - 1 for v in BASE])]
    verdicts = judge(musdb, same, mir)
    assert [v.passes for v in verdicts] == [True, True, False]
    assert choice(verdicts).name == "large"


def test_session19_saved_results_ship_nothing():
    result = subprocess.run([sys.executable, str(REPO / "recipes" / "ship_rule.py"),
                             str(REPO / "recipes" / "results" / "session19-evaluate-")],
                            capture_output=True, text=True, env=ENV, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("rule: 1 FAIL") == 4
    assert "paired vocals +0.10 [-0.01, +0.22]" in result.stdout  # AB-half, as recipes/README.md reports it
    assert result.stdout.strip().endswith("ship: none (the packaged model stays)")


@pytest.mark.parametrize("command", [["ship_rule.py", "{missing}-"], ["clip_trends.py", "{missing}"],
                                     ["error_parts.py", "{missing}", "-m", "default"],
                                     ["band_errors.py", "{missing}", "-m", "default"],
                                     ["band_errors.py", "{missing}"],
                                     ["data/teacher_targets.py", "{missing}", "-o", "{missing}-out"],
                                     ["data/degrade_stems.py", "{missing}", "-o", "{missing}-out", "--mono"],
                                     ["degradation_gap.py", "{missing}.json", "{missing}2.json"],
                                     ["channel_modes.py", "{missing}"], ["vocal_balance.py", "{missing}"],
                                     ["weight_moves.py", "{missing}", "{missing}2"],
                                     ["paired_results.py", "{missing}.json"]])
def test_a_missing_input_is_one_line_error(tmp_path, command):
    argv = [str(REPO / "recipes" / command[0])] + [a.format(missing=tmp_path / "nothing") for a in command[1:]]
    result = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=ENV, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_error_parts_recovers_the_share_kept_the_leak_and_the_artefacts():
    rng = np.random.default_rng(0)
    vocals, accompaniment = rng.standard_normal((44100, 2)), rng.standard_normal((44100, 2))
    artefacts = rng.standard_normal((44100, 2))  # independent noise: all but uncorrelated with both sources
    estimate = 0.5 * vocals + 0.05 * accompaniment + 0.1 * artefacts
    parts = error_parts(vocals, accompaniment, estimate)
    assert parts["kept"] == pytest.approx(0.5, abs=2e-3)
    assert parts["leak"] == pytest.approx(20 * np.log10(0.05 / 0.5), abs=0.05)  # equal-power sources: -20 dB
    assert parts["art"] == pytest.approx(20 * np.log10(0.1 / 0.5), abs=0.05)  # -14 dB
    assert parts["sdr"] < 10


def test_error_parts_of_a_perfect_estimate_keeps_everything():
    rng = np.random.default_rng(1)
    vocals, accompaniment = rng.standard_normal((8000, 2)), rng.standard_normal((8000, 2))
    parts = error_parts(vocals, accompaniment, vocals.copy())
    assert parts["kept"] == pytest.approx(1.0)
    assert parts["leak"] < -100 and parts["art"] < -100


def test_medians_hold_everywhere_for_a_uniform_gain_and_nowhere_for_a_uniform_loss():
    base = report("packaged", BASE)
    assert medians_hold_share(base, report("up", [v + 0.1 for v in BASE]), 50, draws=500) == 1.0
    assert medians_hold_share(base, report("down", [v - 0.1 for v in BASE]), 50, draws=500) == 0.0
    # a gain below the middle and a loss at it: the medians fall in most large redraws
    mixed = [v + 0.5 for v in BASE[:4]] + [BASE[4] - 0.1] + [v + 0.05 for v in BASE[5:]]
    assert medians_hold_share(base, report("mixed", mixed), 50, draws=2000) < 0.5


def band_limited_noise(rng, lo: float, hi: float, n: int = 88200, rate: int = 44100) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal((n, 2)), axis=0)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    spectrum[(freqs < lo) | (freqs >= hi)] = 0
    return np.fft.irfft(spectrum, n, axis=0).astype(np.float32)


def test_band_errors_find_the_band_where_vocals_are_missed():
    # vocals in two bands; the estimate keeps all of the 800-1600 Hz band and a third of the 200-400 Hz band
    rng = np.random.default_rng(2)
    low, mid = band_limited_noise(rng, 240, 360), band_limited_noise(rng, 900, 1400)
    sums = band_sums(low + mid, low / 3 + mid, 44100)
    parts = figures(sums)
    i_low, i_mid = BANDS_HZ.index(200), BANDS_HZ.index(800)
    assert parts["scale"][i_low] == pytest.approx(1 / 3, abs=0.01)
    assert parts["scale"][i_mid] == pytest.approx(1.0, abs=0.01)
    assert parts["share"][i_low] == pytest.approx(1.0, abs=0.01)  # all the error is there
    assert parts["sdr"][i_low] == pytest.approx(20 * np.log10(1.5), abs=0.05)  # |V| / |V - V/3|
    # the missed part is a plain gain: a gain of 3 in that band (one per band, as --gains-from fits) removes it
    gains = sums[:, 0] / np.maximum(sums[:, 1], 1e-12)
    assert gains[i_low] == pytest.approx(3.0, rel=0.02)
    expected = 10 * np.log10(sums[:, 2].sum() / ((2 / 3) ** 2 * sums[i_low, 2]))
    assert stft_sdr(sums) == pytest.approx(expected, abs=0.05)
    assert stft_sdr(sums, gains) > 30  # what is left: the window's leakage across band edges


def test_band_errors_tell_instruments_let_through_from_vocals_missed():
    rng = np.random.default_rng(3)
    vocals = band_limited_noise(rng, 400, 3000)
    instrument = band_limited_noise(rng, 400, 3000)  # independent of the vocals, same band
    parts = figures(band_sums(vocals, vocals + 0.1 * instrument, 44100))
    i = BANDS_HZ.index(800)
    assert parts["scale"][i] == pytest.approx(1.0, abs=0.02)
    assert parts["other"][i] == pytest.approx(20.0, abs=0.5)  # the instrument at -20 dB


def test_loss_gradients_average_each_term_and_measure_their_pull():
    """recipes/loss_gradients.py: each term's mean gradient is the mean of its per-batch gradients, the terms add up
    to the loss finetune trains on, and the pull figures read what they say on gradients built to show it."""
    import torch

    from helpers import make_music
    from loss_gradients import mean_gradients, pull
    from vocal_remover.model import PRESETS, build_model
    from vocal_remover.train.objectives import SupervisedObjective

    cfg = PRESETS["tiny"]
    samples = 63 * cfg.hop_length
    music = torch.from_numpy(make_music(2.0, seed=5)[: 2 * samples].T.copy()).float()
    batches = [{"mix": c[None], "instrumental": c[None] * 0.6} for c in music.split(samples, dim=1)]
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    terms = {"l1": SupervisedObjective(cfg, wave_weight=0.0),
             "sdr": SupervisedObjective(cfg, wave_weight=0.0, spec_weight=0.0, sdr_weight=1e-3, sdr_floor=1e-2),
             "both": SupervisedObjective(cfg, wave_weight=0.0, sdr_weight=1e-3, sdr_floor=1e-2)}
    grads = mean_gradients(model, terms, batches)
    first = mean_gradients(model, {"l1": terms["l1"]}, batches[:1])["l1"]
    second = mean_gradients(model, {"l1": terms["l1"]}, batches[1:])["l1"]
    assert torch.allclose(grads["l1"], (first + second) / 2, rtol=1e-5, atol=1e-12)
    assert torch.allclose(grads["l1"] + grads["sdr"], grads["both"], rtol=1e-4, atol=1e-10)
    assert grads["l1"].norm() > 0 and grads["sdr"].norm() > 0

    sdr = torch.tensor([1.0, -2.0, 0.5, 0.0], dtype=torch.float64)
    same = pull(sdr * 0.5, sdr)
    assert same["cosine"] == pytest.approx(1.0) and same["l1_along_sdr"] == pytest.approx(0.5)
    assert same["l1_overrides"] == 0.0
    against = pull(torch.tensor([-3.0, 1.0, -0.1, 0.0], dtype=torch.float64), sdr)
    assert against["cosine"] < 0 and against["l1_along_sdr"] == pytest.approx((-3 - 2 - 0.05) / 5.25)
    assert against["l1_overrides"] == pytest.approx(0.25)  # only the first weight: opposed and larger
    assert against["sum_norm"] == pytest.approx(float(torch.tensor([-2.0, -1.0, 0.4, 0.0]).norm()))


def _tiny_with_statistics(seed: int = 0):
    """The tiny preset (every module kind) with BatchNorm statistics and affine parameters away from their defaults,
    as after training, so that a copied channel with the wrong statistics would show in the output."""
    import torch

    from vocal_remover.model import PRESETS, build_model

    torch.manual_seed(seed)
    model = build_model(PRESETS["tiny"])
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    return model.eval()


@pytest.mark.parametrize("channels", [3, 4, 5])
def test_widen_model_computes_the_same_mask_with_more_channels(channels):
    """recipes/widen_model.py: the widened network has the new width at every level and, in eval mode, the source's
    mask to float rounding on music-like input; the copies of a channel are read with different weights."""
    import torch

    from helpers import make_music
    from vocal_remover.model import count_parameters
    from vocal_remover.train.objectives import audio_to_input
    from widen_model import widen

    model = _tiny_with_statistics()
    wide = widen(model, channels, noise=0.1, seed=1).eval()
    cfg = model.config
    assert wide.config.channels == channels and count_parameters(wide) > count_parameters(model)
    for i, encoder in enumerate(wide.encoders):
        assert encoder.conv2.conv.out_channels == channels * (i + 1)
    music = torch.from_numpy(make_music(3.0, seed=2).T.copy()).float()[None]
    _, x, _ = audio_to_input(music, cfg)
    with torch.no_grad():
        before, after = model(x), wide(x)
    assert 0.05 < before.mean().item() < 0.95  # not saturated: a difference would show
    assert (after - before).abs().max().item() < 1e-5
    # Encoder 1 reads level 0's skip: its conv channels (new j copies old j mod 2), then the primer encoder's channel.
    # The copies of old channel 0 are read with different weights that add up to the old weight, and its BatchNorm
    # statistics travel with each copy.
    reader, old_reader = wide.encoders[1].conv1.conv.weight, model.encoders[1].conv1.conv.weight
    copies = list(range(0, channels, 2))
    assert not torch.allclose(reader[:, 0], reader[:, 2])
    for o in range(reader.shape[0]):  # output o copies old output o mod 4 (level 1: 4 old channels)
        assert torch.allclose(reader[o, copies].sum(0), old_reader[o % 4, 0], atol=1e-6)
    norm, old_norm = wide.encoders[1].conv1.norm, model.encoders[1].conv1.norm
    expected = [old_norm.running_mean[j % 2] for j in range(channels)] + [old_norm.running_mean[2]]
    assert torch.equal(norm.running_mean, torch.stack(expected))


def test_widen_model_refuses_what_it_cannot_widen_exactly():
    import torch

    from vocal_remover.model import PRESETS, build_model
    from widen_model import widen

    with pytest.raises(ValueError, match="narrower"):
        widen(_tiny_with_statistics(), 1)
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="batch-norm"):  # the per-frame norm normalises over the copies too
        widen(build_model(PRESETS["tiny"].replace(norm="frame")), 4)


def test_widen_model_writes_a_model_folder_that_loads_and_separates_alike(tmp_path):
    import torch

    from helpers import make_music
    from vocal_remover.artifacts import save_model_folder
    from vocal_remover.train.objectives import audio_to_input
    from vocal_remover.train.source import resolve_source

    model = _tiny_with_statistics()
    save_model_folder(model, tmp_path / "src", trained=True, half=False)
    script = str(REPO / "recipes" / "widen_model.py")
    import soundfile

    soundfile.write(tmp_path / "mix.wav", make_music(4.0, seed=4), 44100)
    result = subprocess.run([sys.executable, script, str(tmp_path / "src"), "--channels", "4", "-o",
                             str(tmp_path / "wide"), "--check-audio", str(tmp_path / "mix.wav")],
                            capture_output=True, text=True, env=ENV, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "2 -> 4 base channels" in result.stdout
    checked = result.stdout.strip().splitlines()[-1]
    assert checked.startswith(f"{tmp_path / 'mix.wav'}: largest mask difference of the written folder ")
    assert float(checked.rsplit(" ", 1)[1]) < 5e-3
    wide = resolve_source(tmp_path / "wide").load().model.eval()
    assert wide.config.channels == 4
    _, x, _ = audio_to_input(torch.from_numpy(make_music(3.0, seed=3).T.copy()).float()[None], model.config)
    with torch.no_grad():
        assert (wide(x) - model(x)).abs().max().item() < 5e-3  # float16 weights in the folder

    for bad in ([str(tmp_path / "nothing")], [str(tmp_path / "src"), "--check-audio", str(tmp_path / "no.wav")]):
        missing = subprocess.run([sys.executable, script, *bad, "--channels", "4", "-o", str(tmp_path / "out")],
                                 capture_output=True, text=True, env=ENV, timeout=300)
        assert missing.returncode == 1 and missing.stderr.startswith("error: ")
        assert len(missing.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_weight_spectra_count_the_directions_training_added_to_noise():
    """recipes/weight_spectra.py: a random matrix has no singular value above the noise edge; one with a rank-3 update
    of known strength has exactly three, holding the update's share of the energy."""
    import torch

    from weight_spectra import model_spectra, spectrum_figures

    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(512, 256, generator=generator) * 0.02
    assert spectrum_figures(noise)["shaped"] == 0
    u = torch.linalg.qr(torch.randn(512, 3, generator=generator))[0]
    v = torch.linalg.qr(torch.randn(256, 3, generator=generator))[0]
    spike = u @ torch.diag(torch.tensor([3.0, 2.5, 2.0])) @ v.T  # noise edge: 0.02 * (sqrt(512) + sqrt(256)) = 0.77
    figures = spectrum_figures(noise + spike)
    assert figures["shaped"] == 3
    expected = (3.0 ** 2 + 2.5 ** 2 + 2.0 ** 2) / (noise + spike).square().sum().item()
    assert figures["shaped_energy"] == pytest.approx(expected, rel=0.1)

    layer = torch.nn.Sequential(torch.nn.Linear(128, 96), torch.nn.Linear(96, 8))
    assert list(model_spectra(layer, min_size=64)) == ["0.weight"]  # the 8-row matrix is too small to judge


def test_weight_spectra_scale_bulk_keeps_the_shaped_directions():
    """--scale-bulk: 1 leaves a matrix as it is; 0 leaves only the shaped directions (a rank-3 update on noise comes
    back as rank 3, near the update); 0.5 halves every singular value of the bulk and none of the shaped ones."""
    import torch

    from weight_spectra import scale_bulk

    generator = torch.Generator().manual_seed(1)
    noise = torch.randn(512, 256, generator=generator) * 0.02
    u = torch.linalg.qr(torch.randn(512, 3, generator=generator))[0]
    v = torch.linalg.qr(torch.randn(256, 3, generator=generator))[0]
    spike = u @ torch.diag(torch.tensor([3.0, 2.5, 2.0])) @ v.T
    w = noise + spike
    assert torch.allclose(scale_bulk(w, 1.0), w, atol=1e-6)
    signal = scale_bulk(w, 0.0)
    assert torch.linalg.matrix_rank(signal).item() == 3
    assert (signal - spike).norm() / spike.norm() < 0.3 < 1 < (w - spike).norm() / spike.norm()  # 0.22 against 1.65
    before, after = torch.linalg.svdvals(w), torch.linalg.svdvals(scale_bulk(w, 0.5))
    assert torch.allclose(after[:3], before[:3], rtol=1e-5)
    assert torch.allclose(after[3:], before[3:] * 0.5, rtol=1e-4, atol=1e-7)


def test_weight_spectra_cli_writes_the_scaled_model(tmp_path):
    """The CLI writes a model folder that loads, with the judged matrices' bulk scaled and nothing else changed; a
    missing -o, or --json beside --scale-bulk, is a one-line error with nothing written."""
    import torch

    from vocal_remover.artifacts import save_model_folder
    from vocal_remover.train.source import resolve_source

    model = _tiny_with_statistics()
    save_model_folder(model, tmp_path / "src", trained=True, half=False)
    script = str(REPO / "recipes" / "weight_spectra.py")
    result = subprocess.run([sys.executable, script, str(tmp_path / "src"), "--scale-bulk", "0.5", "-o",
                             str(tmp_path / "half")], capture_output=True, text=True, env=ENV, timeout=300)
    assert result.returncode == 0, result.stderr
    source = dict(resolve_source(tmp_path / "src").load().model.named_parameters())
    scaled = dict(resolve_source(tmp_path / "half").load().model.named_parameters())
    changed = {n for n in source if not torch.allclose(source[n], scaled[n], atol=2e-3)}
    judged = {n for n, p in source.items() if p.dim() == 2 and min(p.shape) >= 64}
    assert judged and changed == judged
    name = sorted(judged)[0]
    ratio = torch.linalg.svdvals(scaled[name].float())[-1] / torch.linalg.svdvals(source[name].float())[-1]
    assert ratio.item() == pytest.approx(0.5, rel=0.01)  # the smallest singular value is in the bulk

    alone = subprocess.run([sys.executable, script, str(tmp_path / "src"), "--scale-bulk", "0"],
                           capture_output=True, text=True, env=ENV, timeout=300)
    assert alone.returncode == 1 and alone.stderr.strip() == "error: --scale-bulk and -o go together"
    both = subprocess.run([sys.executable, script, str(tmp_path / "src"), "--scale-bulk", "0", "-o",
                           str(tmp_path / "also"), "--json", str(tmp_path / "f.json")],
                          capture_output=True, text=True, env=ENV, timeout=300)
    assert both.returncode == 1 and len(both.stderr.strip().splitlines()) == 1 and both.stderr.startswith("error: ")
    assert not (tmp_path / "also").exists() and not (tmp_path / "f.json").exists()


def test_teacher_targets_keep_the_teacher_below_10_khz_and_the_true_vocals_above():
    """Spleeter zeroes everything above 11 kHz: the relabelled vocals take the teacher's estimate below the
    crossover and the true vocals above it, so the network is not taught that vocals have no highs."""
    sys.path.insert(0, str(REPO / "recipes" / "data"))
    from teacher_targets import blend

    rate, n = 44100, 3 * 44100
    rng = np.random.default_rng(0)
    teacher = rng.standard_normal((n, 2)).astype(np.float32)
    truth = rng.standard_normal((n, 2)).astype(np.float32)
    mixed = blend(teacher, truth, rate)
    assert mixed.shape == truth.shape and mixed.dtype == np.float32

    def band(x, lo, hi):
        spec = np.fft.rfft(x[:, 0].astype(np.float64))
        freqs = np.fft.rfftfreq(n, 1 / rate)
        keep = (freqs >= lo) & (freqs < hi)
        return spec[keep]

    for lo, hi, source in ((100, 9500, teacher), (11500, 20000, truth)):
        want, got = band(source, lo, hi), band(mixed, lo, hi)
        assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-2  # -40 dB: the frames at the ends leak


def test_degrade_stems_writes_mono_band_limited_copies_that_still_add_up(tmp_path):
    import soundfile as sf

    rate, n = 44100, 44100 * 2
    rng = np.random.default_rng(3)
    for track in ("a", "b"):
        (tmp_path / "src" / track).mkdir(parents=True)
        for stem in ("vocals", "accompaniment"):
            sf.write(tmp_path / "src" / track / f"{stem}.flac", 0.2 * rng.standard_normal((n, 2)), rate)
    script = str(REPO / "recipes" / "data" / "degrade_stems.py")
    argv = [sys.executable, script, str(tmp_path / "src"), "-o", str(tmp_path / "out"), "--rate", "16000", "--mono"]
    result = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "2 tracks written" in result.stdout
    for track in ("a", "b"):
        for stem in ("vocals", "accompaniment"):
            audio, out_rate = sf.read(tmp_path / "out" / track / f"{stem}.wav", dtype="float32")
            source, _ = sf.read(tmp_path / "src" / track / f"{stem}.flac", dtype="float32")
            assert out_rate == 16000 and audio.ndim == 1
            assert len(audio) == round(n * 16000 / rate)
            # The same music: its level is that of the mono source's band below 8 kHz (white noise: 16/44.1 of it,
            # less the resampler's roll-off just under 8 kHz).
            band_power = np.mean(source.mean(axis=1) ** 2) * 16000 / rate
            assert 0.88 * band_power < np.mean(audio ** 2) < 1.01 * band_power
    again = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=120)
    assert again.returncode == 0 and "0 tracks written" in again.stdout and "2 already there" in again.stdout
    nothing = subprocess.run(argv[:5], capture_output=True, text=True, env=ENV, timeout=120)
    assert nothing.returncode == 2 and "nothing to do" in nothing.stderr
    louder = [*argv[:4], str(tmp_path / "louder"), "--vocals-db", "6"]
    result = subprocess.run(louder, capture_output=True, text=True, env=ENV, timeout=120)
    assert result.returncode == 0, result.stderr
    for stem, gain in (("vocals", 10 ** (6 / 20)), ("accompaniment", 1.0)):  # only the voice is scaled, 6 dB = 2x
        audio, out_rate = sf.read(tmp_path / "louder" / "a" / f"{stem}.wav", dtype="float32")
        source, _ = sf.read(tmp_path / "src" / "a" / f"{stem}.flac", dtype="float32")
        assert out_rate == rate and audio.shape == source.shape
        np.testing.assert_allclose(audio, gain * source, atol=1e-6)


def compare_result(path, default: list[float], spleeter: list[float]) -> None:
    """A compare_spleeter --json result of two models on the same tracks (instrumental = vocals + 4)."""
    import json

    def model(name, vocals):
        return {"name": name, "info": {}, "per_track": [
            {"track": f"t{i}", "seconds": 7.0, "wall_seconds": 1.0, "sdr": {"vocals": v, "instrumental": v + 4}}
            for i, v in enumerate(vocals)]}

    path.write_text(json.dumps({"models": [model("default", default), model("spleeter 2stems", spleeter)]}))


def test_degradation_gap_reports_each_models_paired_change_and_the_gaps(tmp_path, capsys):
    rng = np.random.default_rng(5)
    default, spleeter = list(rng.normal(5, 2, 12)), list(rng.normal(7, 2, 12))
    compare_result(tmp_path / "full.json", default, spleeter)
    # The band costs the default 0.5 dB on every track and Spleeter nothing: the gap widens by exactly 0.5.
    compare_result(tmp_path / "16k.json", [v - 0.5 for v in default], spleeter)
    # Louder vocals raise both by 2 dB: the gap stays.
    compare_result(tmp_path / "loud.json", [v + 2 for v in default], [v + 2 for v in spleeter])
    assert degradation_gap([str(tmp_path / f) for f in ("full.json", "16k.json", "loud.json")]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| 16k") or
            line.startswith("| loud")]
    assert len(rows) == 4  # two copies, two stems
    gap_before = np.mean(np.array(default) - np.array(spleeter))
    for row in rows:
        assert float(row[2]) == pytest.approx(gap_before, abs=0.006)
    assert rows[0][3] == "-0.50 [-0.50, -0.50]" and rows[0][4] == "-0.50 [-0.50, -0.50]"
    assert rows[0][5].rstrip(" |") == "+0.00 [+0.00, +0.00]"
    assert rows[2][3] == "+0.00 [+0.00, +0.00]" and rows[2][4] == "+2.00 [+2.00, +2.00]"
    assert degradation_gap([str(tmp_path / "full.json"), str(tmp_path / "16k.json"), "--against", "nobody"]) == 1


def test_mid_side_separates_the_mid_and_the_side_as_mono_inputs_and_puts_them_back(real_mix):
    import soundfile as sf
    import torch

    from vocal_remover.artifacts import LoadedModel
    from vocal_remover.model import build_model
    from vocal_remover.separator import Separator

    torch.manual_seed(0)
    model = build_model("tiny").eval()
    loaded = LoadedModel(model=model, config=model.config, metadata={"trained": False})
    x, _ = sf.read(real_mix, dtype="float32")
    x = np.ascontiguousarray(x[:3 * 44100])
    out = MidSideSeparator(loaded, precision="fp32", window=64, swap_channels=False).separate_array(x)
    assert out["instrumental"].shape == x.shape
    assert np.abs(out["instrumental"] + out["vocals"] - x).max() < 1e-6  # the stems still sum to the input
    one = Separator(loaded, precision="fp32", window=64, swap_channels=False)
    mid, side = 0.5 * (x[:, 0] + x[:, 1]), 0.5 * (x[:, 0] - x[:, 1])
    inst_mid, inst_side = (one.separate_array(np.stack((c, c), axis=1))["instrumental"].mean(axis=1)
                           for c in (mid, side))
    expected = np.stack((inst_mid + inst_side, inst_mid - inst_side), axis=1)
    assert np.abs(out["instrumental"] - expected).max() < 1e-5
    assert np.abs(out["instrumental"] - one.separate_array(x)["instrumental"]).max() > 1e-3  # not the one pass
    mono = np.repeat(x[:, :1], 2, axis=1)  # no side: exactly the one pass
    assert np.array_equal(MidSideSeparator(loaded, precision="fp32", window=64, swap_channels=False)
                          .separate_array(mono)["vocals"], one.separate_array(mono)["vocals"])


def test_vocal_balance_reports_a_voices_tone_and_its_level_spread(tmp_path):
    import json

    import soundfile

    from vocal_remover.data import build_cache

    rate = 44100
    t = np.arange(8 * rate) / rate
    # A "voice" at 2.5 kHz (all of its energy in that anchor's band), its level stepping between two values 10 dB
    # apart every half second: the notes' 100-ms levels spread 10 dB, the quiet windows are none.
    steps = np.where((t * 2).astype(int) % 2 == 0, 1.0, 10 ** (-10 / 20))
    voice = 0.3 * np.sin(2 * np.pi * 2500.0 * t) * steps
    song = tmp_path / "stems" / "song"
    song.mkdir(parents=True)
    soundfile.write(song / "vocals.wav", np.stack([voice, voice], axis=1), rate, subtype="FLOAT")
    soundfile.write(song / "accompaniment.wav", np.zeros((len(t), 2)), rate, subtype="FLOAT")
    build_cache([tmp_path / "stems"], tmp_path / "cache")
    out = tmp_path / "balance.json"
    proc = subprocess.run([sys.executable, str(REPO / "recipes" / "vocal_balance.py"), str(tmp_path / "cache"),
                           "--crops", "5", "--json", str(out)], env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())["caches"]["cache"]
    assert result["median_db"][4] > -0.1  # 2500 Hz: the whole crop
    assert max(result["median_db"][:4] + result["median_db"][5:]) < -30  # every other band: leakage only
    assert result["level_spread_db"]["within_20_db"] == pytest.approx(10.0, abs=0.5)
    assert result["level_spread_db"]["within_40_db"] == pytest.approx(10.0, abs=0.5)


def test_silent_highs_is_the_share_of_the_highs_between_the_notes():
    rate = 44100
    t = np.arange(2 * rate) / rate
    note = 0.3 * np.sin(2 * np.pi * 440.0 * t) * (t < 1.0)  # a note for a second, then silence
    hiss = 1e-3 * np.random.default_rng(0).standard_normal(len(t))  # -60 dB: far below the note in the voice's band
    bright = 0.03 * np.sin(2 * np.pi * 14000.0 * t) * (t < 1.0)  # highs that sound only with the note
    # The hiss is spread evenly, so about half of it (the silent second) counts; with highs in the note, ~0 does.
    assert silent_highs(np.stack([note + hiss] * 2), rate) == pytest.approx(0.5, abs=0.05)
    assert silent_highs(np.stack([note + bright + hiss] * 2), rate) < 0.01
    assert silent_highs(np.stack([note] * 2), rate) < 1e-3  # no highs but the window's leakage and the note's end


def test_weight_moves_measure_distance_concentration_and_direction():
    """recipes/weight_moves.py: a copy moved on one matrix alone has all its move there and in the top 1%; the
    halfway-back average has half the distance and the same concentration and direction; BatchNorm's running
    statistics are not counted as a move."""
    import torch

    from vocal_remover.model import build_model

    model = build_model("tiny")
    base = {k: v.clone() for k, v in model.state_dict().items()}
    name = next(k for k, v in base.items() if "_attn." in k and v.dim() == 2)
    moved = {k: v.clone() for k, v in base.items()}
    moved[name][0, :4] += 0.5
    stats = next(k for k in base if k.endswith("running_mean"))
    moved[stats] += 3.0
    half = {k: torch.lerp(base[k].float(), moved[k].float(), 0.5) if v.is_floating_point() else v
            for k, v in base.items()}
    b, full, halfway = (trained_weights(s) for s in (base, moved, half))
    a, h = moves(b, full), moves(b, halfway)
    assert stats not in b
    assert a["by_part"]["attention"] > 0 and a["by_part"]["feed-forward"] == 0 == a["by_part"]["norms"]
    assert a["top_share"] == pytest.approx(1.0)
    assert h["relative_distance"] == pytest.approx(a["relative_distance"] / 2, rel=1e-5)
    assert h["top_share"] == pytest.approx(a["top_share"], rel=1e-5)
    assert cosine(a["delta"], h["delta"]) == pytest.approx(1.0, abs=1e-6)
    assert cosine(a["delta"], -h["delta"]) == pytest.approx(-1.0, abs=1e-6)
