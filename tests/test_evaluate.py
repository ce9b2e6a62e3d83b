"""vocal_remover.evaluate: SDR against hand-computed values, oracles on real tracks, the runner, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf
from helpers import MUSDB_VALID, make_music, musdb_tracks

from vocal_remover.errors import DataError, ModelError
from vocal_remover.evaluate import (
    Candidate,
    TrackAudio,
    bss_available,
    bss_eval_sdr,
    ModelReport,
    TrackScore,
    evaluate,
    find_tracks,
    global_sdr,
    ideal_mask_candidate,
    load_track,
    mixture_candidate,
    paired_comparison,
    score,
    separator_candidate,
)

needs_bss = pytest.mark.skipif(not bss_available(), reason="museval not installed (pip install '.[eval]')")


def needs_musdb():
    tracks = musdb_tracks("valid")
    if not tracks:
        pytest.skip(f"real data not found at {MUSDB_VALID} (see ../shared/data/README.md)")
    return tracks


# ------------------------------------------------------------------------------- global SDR


def test_global_sdr_hand_computed():
    rng = np.random.default_rng(0)  # (the 1e-7 delta moves these by < 1e-7 dB)
    ref = rng.standard_normal((1000, 2))
    # est = 0.9 ref: error 0.1 ref -> 10 log10(1 / 0.01) = 20 dB
    assert global_sdr(ref, 0.9 * ref) == pytest.approx(20.0, abs=1e-6)
    # est = ref + e with |e|^2 = |ref|^2 / 1000 -> 30 dB
    e = rng.standard_normal(ref.shape)
    e *= math.sqrt(np.sum(ref ** 2) / np.sum(e ** 2) / 1000)
    assert global_sdr(ref, ref + e) == pytest.approx(30.0, abs=1e-6)
    # silence as the estimate -> 0 dB; the mixture of two equal-energy sources -> 0 dB
    assert global_sdr(ref, np.zeros_like(ref)) == pytest.approx(0.0, abs=1e-6)
    # all samples and channels pooled: channel 1 perfect, channel 0 all error -> 10 log10(E / E0)
    est = ref.copy()
    est[:, 0] = 0
    expected = 10 * math.log10(np.sum(ref ** 2) / np.sum(ref[:, 0] ** 2))
    assert global_sdr(ref, est) == pytest.approx(expected, abs=1e-6)
    # delta keeps silence finite: silent reference and estimate -> 0 dB; perfect estimate -> finite, high
    assert global_sdr(np.zeros(10), np.zeros(10)) == 0.0
    assert 100 < global_sdr(ref, ref) < 200
    with pytest.raises(ValueError):
        global_sdr(ref, ref[:10])


def test_global_sdr_is_the_mdx_formula():
    """Against the MDX 2021 challenge's `sdr` (delta 1e-7, sum over samples and channels), written out."""
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((2, 500, 2)).astype(np.float32)
    est = ref + 0.3 * rng.standard_normal(ref.shape).astype(np.float32)
    delta = 1e-7
    num = np.sum(np.square(ref.astype(np.float64)), axis=(1, 2)) + delta
    den = np.sum(np.square(ref.astype(np.float64) - est), axis=(1, 2)) + delta
    mdx = 10 * np.log10(num / den)
    assert [global_sdr(r, e) for r, e in zip(ref, est)] == pytest.approx(list(mdx), abs=1e-9)


# ------------------------------------------------------------------------------- BSS-eval v4


@needs_bss
def test_bss_sdr_hand_computed_interference():
    """est_j = s_j + c s_k with independent white sources: BSS-eval's projection puts c s_k in the
    interference, so every window scores 10 log10(|s_j|^2 / (c^2 |s_k|^2)) (to filter-estimation noise)."""
    rate = 8000
    rng = np.random.default_rng(0)
    s = {"vocals": rng.standard_normal((3 * rate, 1)), "instrumental": 2 * rng.standard_normal((3 * rate, 1))}
    c = 0.1
    est = {"vocals": s["vocals"] + c * s["instrumental"], "instrumental": s["instrumental"] + c * s["vocals"]}
    got = bss_eval_sdr(s, est, rate)
    assert got["vocals"] == pytest.approx(10 * math.log10(1 / (c * c * 4)), abs=0.1)  # 13.98 dB
    assert got["instrumental"] == pytest.approx(10 * math.log10(4 / (c * c)), abs=0.1)  # 26.02 dB
    assert bss_eval_sdr(s, s, rate)["vocals"] > 100  # perfect estimates: very high


@needs_bss
def test_bss_sdr_of_the_mixture_matches_window_energy_ratios(real_track):
    """The mixture as both estimates: per 1 s window SDR = 10 log10(|v|^2 / |a|^2); the track's value is
    the median over windows. Computed independently from the stems."""
    audio = load_track(find_tracks(real_track)[0])
    v, a = audio.stems["vocals"].astype(np.float64), audio.stems["instrumental"].astype(np.float64)
    got = bss_eval_sdr(audio.stems, {"vocals": audio.mixture, "instrumental": audio.mixture}, audio.rate)
    n = len(v) // audio.rate
    ratios = [10 * math.log10(np.sum(v[i * audio.rate:(i + 1) * audio.rate] ** 2)
                              / np.sum(a[i * audio.rate:(i + 1) * audio.rate] ** 2)) for i in range(n)]
    assert got["vocals"] == pytest.approx(np.median(ratios), abs=0.05)
    assert got["instrumental"] == pytest.approx(-np.median(ratios), abs=0.05)


# ------------------------------------------------------------------------------- data


def test_find_and_load_tracks(tmp_path):
    rate = 16000
    for name, n in (("b", 1600), ("a", 1700)):
        folder = tmp_path / name
        folder.mkdir()
        sf.write(folder / "vocals.wav", np.full((n, 1), 0.1, np.float32), rate)
        sf.write(folder / "instrumental.flac", np.full((n + 5, 1), 0.2, np.float32), rate)
    (tmp_path / "notes").mkdir()  # not a track: skipped
    tracks = find_tracks(tmp_path)
    assert [t.name for t in tracks] == ["a", "b"]
    assert find_tracks(tmp_path, limit=1)[0].name == "a"
    assert [t.name for t in find_tracks(tmp_path / "b")] == ["b"]  # a track folder itself
    audio = load_track(tracks[0])
    assert audio.rate == rate and audio.mixture.shape == (1700, 1)  # cut to the shorter stem
    assert np.allclose(audio.mixture, 0.3, atol=1e-3)  # 16-bit files
    with pytest.raises(DataError, match="no tracks"):
        find_tracks(tmp_path / "notes")
    with pytest.raises(DataError, match="no such folder"):
        find_tracks(tmp_path / "missing")


# ------------------------------------------------------------------------------- oracles on real data


def test_oracles_on_musdb_valid():
    """True stems score very high; the mixture scores 10 log10(|v|^2 / |a|^2) per track (read here with
    soundfile, independently of the package); the medians over musdb7/valid are the published
    -4.10 / 4.10 dB, and the ideal ratio mask's ceiling 9.32 / 13.86 dB (../shared/docs/measurements.md)."""
    folders = needs_musdb()
    truth = Candidate("true stems", lambda t: dict(t.stems))
    reports = evaluate(MUSDB_VALID, [truth, mixture_candidate(), ideal_mask_candidate()], warmup=False)
    assert [len(r.tracks) for r in reports] == [len(folders)] * 3
    true_report, mix_report, irm_report = reports
    assert min(min(t.sdr.values()) for t in true_report.tracks) > 100
    for folder, track in zip(folders, mix_report.tracks):
        v, _ = sf.read(folder / "vocals.ogg", dtype="float64")
        a, _ = sf.read(folder / "accompaniment.ogg", dtype="float64")
        expected = 10 * math.log10(np.sum(v ** 2) / np.sum(a ** 2))
        assert track.track == folder.name
        assert track.sdr["vocals"] == pytest.approx(expected, abs=1e-3)
        assert track.sdr["instrumental"] == pytest.approx(-expected, abs=1e-3)
    stats = mix_report.stats()
    assert round(stats["vocals"]["median"], 2) == -4.10 and round(stats["instrumental"]["median"], 2) == 4.10
    irm = irm_report.stats()
    assert irm["vocals"]["median"] == pytest.approx(9.32, abs=0.05)
    assert irm["instrumental"]["median"] == pytest.approx(13.86, abs=0.05)


def test_runner_with_a_model_scores_the_separate_path(tiny_model_dir, real_track):
    from vocal_remover.separator import Separator

    sep = Separator(tiny_model_dir, precision="fp32")
    events = []
    reports = evaluate(real_track, [separator_candidate(sep, "tiny"), mixture_candidate()],
                       progress=events.append)
    assert [(e.model, e.done, e.total) for e in events] == [("tiny", 1, 2), ("mixture", 2, 2)]
    audio = load_track(find_tracks(real_track)[0])
    stems = sep.separate_array(audio.mixture, audio.rate)
    sdr, bss = score(audio, stems)
    assert reports[0].tracks[0].sdr == pytest.approx(sdr, abs=1e-6) and bss is None
    assert reports[0].info["trained"] is False and reports[0].info["backend"] == sep.engine == "onnx"  # fp32 on a CPU
    data = reports[0].to_dict()
    assert data["sdr"]["vocals"]["median"] == pytest.approx(sdr["vocals"])
    assert data["seconds_per_audio_second"] > 0 and data["bss_sdr"] is None
    with pytest.raises(ModelError, match="shape"):
        score(audio, {"vocals": audio.mixture[:10], "instrumental": audio.mixture})
    with pytest.raises(ModelError, match="share a name"):
        evaluate(real_track, [mixture_candidate(), mixture_candidate()])


def test_segments_are_scored_piece_by_piece_and_silent_stems_left_out(tmp_path):
    rate = 8000
    accompaniment = make_music(23.0, rate=rate, seed=1)
    vocals = make_music(23.0, rate=rate, seed=2)
    vocals[: 10 * rate] = 0  # the vocals come in at 10 s
    track = tmp_path / "song"
    track.mkdir()
    sf.write(track / "vocals.wav", vocals, rate, subtype="FLOAT")
    sf.write(track / "accompaniment.wav", accompaniment, rate, subtype="FLOAT")
    (whole,) = evaluate(tmp_path, [mixture_candidate()], warmup=False)
    (pieces,) = evaluate(tmp_path, [mixture_candidate()], warmup=False, segment_seconds=10)
    # 23 s in pieces of 10: 0-10, then 10-23 (the 3-second rest joins the piece before it).
    assert [t.track for t in pieces.tracks] == ["song [0-10 s]", "song [10-23 s]"]
    assert [t.seconds for t in pieces.tracks] == pytest.approx([10.0, 13.0])
    # one separation of the whole track, its time shared pro rata
    assert pieces.tracks[1].wall_seconds == pytest.approx(1.3 * pieces.tracks[0].wall_seconds)
    assert whole.tracks[0].track == "song" and whole.tracks[0].seconds == pytest.approx(23.0)
    audio = load_track(find_tracks(tmp_path)[0])
    second = slice(10 * rate, None)
    assert math.isnan(pieces.tracks[0].sdr["vocals"])  # no vocals in the first piece: no vocal SDR
    assert pieces.tracks[0].sdr["instrumental"] == pytest.approx(
        global_sdr(audio.stems["instrumental"][: 10 * rate], audio.mixture[: 10 * rate]))
    for stem in ("vocals", "instrumental"):
        assert pieces.tracks[1].sdr[stem] == pytest.approx(global_sdr(audio.stems[stem][second],
                                                                      audio.mixture[second]))
    assert pieces.stats()["vocals"]["median"] == pytest.approx(pieces.tracks[1].sdr["vocals"])


def _report(name, vocals, instrumental, tracks=None):
    tracks = tracks or [f"t{i}" for i in range(len(vocals))]
    return ModelReport(name, {}, [TrackScore(t, 7.0, 1.0, {"vocals": v, "instrumental": i})
                                  for t, v, i in zip(tracks, vocals, instrumental)])


def test_paired_comparison_hand_computed():
    base = _report("a", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [5.0] * 6)
    # vocals: +1 on every track; instrumental: +0.5 on two, -0.5 on two, equal on two
    other = _report("b", [2.0, 3.0, 4.0, 5.0, 6.0, 7.0], [5.5, 5.5, 4.5, 4.5, 5.0, 5.0])
    paired = paired_comparison(base, other)
    vocals, inst = paired["vocals"], paired["instrumental"]
    assert vocals["tracks"] == 6 and vocals["better"] == 6 and vocals["worse"] == 0
    assert vocals["mean_difference"] == pytest.approx(1.0) and vocals["median_difference"] == pytest.approx(1.0)
    assert vocals["mean_difference_95"] == pytest.approx([1.0, 1.0])  # every resample is +1
    assert vocals["sign_test_p"] == pytest.approx(2 / 2 ** 6)  # 6 of 6: two-sided exact binomial
    assert inst["better"] == 2 and inst["worse"] == 2 and inst["sign_test_p"] == pytest.approx(1.0)
    low, high = inst["mean_difference_95"]
    assert -0.5 <= low < 0 < high <= 0.5 and inst["mean_difference"] == pytest.approx(0.0)
    # Seeded: the same interval every time; the reverse comparison mirrors it.
    assert paired_comparison(base, other) == paired
    back = paired_comparison(other, base)["instrumental"]["mean_difference_95"]
    assert back == pytest.approx([-high, -low], abs=1e-9)


def test_paired_comparison_matches_tracks_by_name_and_skips_silent_ones():
    base = _report("a", [1.0, 2.0, float("nan")], [3.0, 3.0, 3.0], tracks=["x", "y", "z"])
    other = _report("b", [0.0, 2.5], [3.0, 4.0], tracks=["y", "x"])  # y: +0.5 -> 0.0 - 2.0; x: 2.5 - 1.0
    vocals = paired_comparison(base, other)["vocals"]
    assert vocals["tracks"] == 2 and vocals["better"] == 1 and vocals["worse"] == 1
    assert vocals["mean_difference"] == pytest.approx((1.5 - 2.0) / 2)
    assert vocals["mean_difference_95"] is None  # too few tracks for an interval that means anything


def test_silent_track_does_not_break_bss_or_json():
    silent = np.zeros((8000, 1), np.float32)
    audio = TrackAudio("silence", 8000, silent, {"vocals": silent, "instrumental": silent})
    sdr, _ = score(audio, {"vocals": silent, "instrumental": silent})
    assert sdr == {"vocals": 0.0, "instrumental": 0.0}
    if bss_available():
        _, bss = score(audio, {"vocals": silent, "instrumental": silent}, bss=True)
        assert all(math.isnan(v) for v in bss.values())


# ------------------------------------------------------------------------------- CLI


def cli(*args: str):
    """`vocal-remover ARGS` in-process (typer's runner: no interpreter start-up per call)."""
    from typer.testing import CliRunner

    from vocal_remover.cli import app

    return CliRunner().invoke(app, list(args))


def test_cli_compares_two_models_as_json(tiny_model_dir, tmp_path):
    needs_musdb()
    other = tmp_path / "tiny-seed1"
    assert cli("models", "init", "tiny", "-o", str(other), "--seed", "1").exit_code == 0
    res = cli("evaluate", str(MUSDB_VALID), "-m", str(tiny_model_dir), "-m", str(other), "--limit", "2",
              "--allow-untrained", "--bss", "off", "--json")
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    names = [t.name for t in musdb_tracks("valid")[:2]]
    assert result["tracks"] == names
    assert [m["name"] for m in result["models"]] == [str(tiny_model_dir), str(other)]
    for model in result["models"]:
        assert [t["track"] for t in model["per_track"]] == names
        vocals = [t["sdr"]["vocals"] for t in model["per_track"]]
        assert model["sdr"]["vocals"]["median"] == pytest.approx(float(np.median(vocals)))
        assert model["sdr"]["instrumental"]["mean"] is not None and model["bss_sdr"] is None
        assert model["seconds_per_audio_second"] > 0 and model["info"]["trained"] is False
    # Different weights, different scores: each model really was run.
    assert result["models"][0]["sdr"] != result["models"][1]["sdr"]
    # ... and the second is compared with the first track by track.
    (paired,) = result["paired_with_first"]
    assert paired["model"] == str(other) and paired["baseline"] == str(tiny_model_dir)
    first, second = ([t["sdr"]["vocals"] for t in m["per_track"]] for m in result["models"])
    assert paired["vocals"]["mean_difference"] == pytest.approx(np.mean(np.subtract(second, first)))
    assert paired["vocals"]["better"] + paired["vocals"]["worse"] == 2

    # Both channel orders when asked for (off by default on the CPU); the scores move, the record says so.
    swapped = json.loads(cli("evaluate", str(MUSDB_VALID), "-m", str(other), "--limit", "2", "--allow-untrained",
                             "--bss", "off", "--json", "--swap-channels").stdout)["models"][0]
    assert result["models"][1]["info"]["swap_channels"] is False and swapped["info"]["swap_channels"] is True
    assert swapped["sdr"] != result["models"][1]["sdr"]

    table = cli("evaluate", str(MUSDB_VALID), "-m", str(tiny_model_dir), "--limit", "1", "--allow-untrained",
                "--bss", "off")
    assert table.exit_code == 0, table.output
    # The heading is a line of its own that never wraps (a table title wraps at the table's width, splitting
    # the path and the figures wherever their lengths put the break).
    heading = next(line for line in table.stdout.splitlines() if line.startswith(str(tiny_model_dir)))
    assert heading.startswith(f"{tiny_model_dir} (untrained): 1 tracks, ") and "s per audio second" in heading
    assert "median" in table.stdout and "mean" in table.stdout

    pieces = cli("evaluate", str(MUSDB_VALID), "-m", str(tiny_model_dir), "-m", str(other), "--limit", "1",
                 "--allow-untrained", "--bss", "off", "--segment-seconds", "3", "--json")
    assert pieces.exit_code == 0, pieces.output
    result = json.loads(pieces.stdout)
    seconds = [t["seconds"] for t in result["models"][0]["per_track"]]
    # a 6.8-second clip: one 3-second piece, then the rest (0.8 s is under half a piece, so it joins)
    assert result["segment_seconds"] == 3 and len(seconds) == 2 and seconds[0] == pytest.approx(3.0)
    assert 3.0 < seconds[1] < 4.5
    assert result["paired_with_first"][0]["vocals"]["tracks"] <= 2


def test_cli_errors_are_one_line(tiny_model_dir, tmp_path):
    res = cli("evaluate", str(tmp_path), "-m", str(tiny_model_dir), "--allow-untrained")
    assert res.exit_code == 1 and res.stderr.startswith("Error: ") and "no tracks in the stems layout" in res.stderr
    if musdb_tracks("valid"):
        res = cli("evaluate", str(MUSDB_VALID), "-m", str(tiny_model_dir), "--limit", "1")
        assert res.exit_code == 1 and "untrained" in res.stderr  # refused without --allow-untrained
        assert "pass --allow-untrained" in res.stderr  # ... saying how to accept it


def test_a_training_run_is_not_a_model_and_the_error_says_to_export_it(tiny_model_dir, tmp_path):
    from vocal_remover.artifacts import load_model_folder
    from vocal_remover.train.checkpoint import save_checkpoint

    model = load_model_folder(tiny_model_dir).model
    checkpoint = save_checkpoint({"model_config": model.config.to_dict(), "model": model.state_dict()},
                                 tmp_path / "runs" / "ft" / "checkpoints" / "last.pt")
    track = tmp_path / "data" / "song"
    track.mkdir(parents=True)
    for stem in ("vocals", "accompaniment"):
        sf.write(track / f"{stem}.wav", make_music(0.5, seed=len(stem)), 44100)
    for spec in (tmp_path / "runs" / "ft", checkpoint):
        res = cli("evaluate", str(tmp_path / "data"), "-m", str(spec), "--allow-untrained")
        assert res.exit_code == 1 and res.stderr.count("\n") == 1, res.stderr
        assert f"vocal-remover export {spec} -o MODEL_DIR" in res.stderr, res.stderr
