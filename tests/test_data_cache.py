"""The dataset cache: layouts, decoding, alignment, resume after kill -9, corruption, change detection."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import DATA, ENV, HANG, REPO, make_music
from typer.testing import CliRunner

from vocal_remover.atomic import sha256_file
from vocal_remover.audio import Resampler, read_audio
from vocal_remover.data.cache import AudioCache, build_cache, ensure_cache, estimate_offset, params_hash
from vocal_remover.data.layouts import detect_layout, discover, match_pairs
from vocal_remover.errors import ConfigError, DataError


def write(path: Path, audio: np.ndarray, rate: int = 44100, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, rate, **kw)
    return path


def quant(cache: AudioCache, track_id: str, stem: str) -> float:
    """Half an int16 step of a stored stem, plus float32 rounding slack."""
    t = cache.track(track_id)
    return t.scales[t.stored.index(stem)] * 0.502 + 1e-7


def by_name(cache: AudioCache) -> dict:
    return {t.name: t for t in cache.tracks}


# --------------------------------------------------------------------------- generated datasets


@pytest.fixture(scope="module")
def stems_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stems") / "mystems"
    # 48 kHz, several non-vocal stems that are summed
    a = root / "train" / "Alpha"
    write(a / "vocals.wav", make_music(2.0, 48000, seed=1), 48000)
    for i, s in enumerate(("drums", "bass", "other")):
        write(a / f"{s}.wav", make_music(2.0, 48000, seed=10 + i) * 0.5, 48000)
    # accompaniment + a real mixture, FLAC, plus a duplicate stem in another format
    b = root / "train" / "Beta"
    voc, acc = make_music(1.5, seed=2), make_music(1.5, seed=3)
    write(b / "vocals.flac", voc, subtype="PCM_24")
    write(b / "vocals.mp3", voc)
    write(b / "accompaniment.flac", acc, subtype="PCM_24")
    write(b / "mixture.flac", np.clip(voc + acc, -1, 1), subtype="PCM_24")
    # mono 22.05 kHz track in another split
    c = root / "valid" / "Gamma"
    write(c / "vocals.wav", make_music(1.0, 22050, channels=1, seed=4), 22050)
    write(c / "accompaniment.wav", make_music(1.0, 22050, channels=1, seed=5), 22050)
    # only vocals: reported; a stray file outside any track folder: reported
    write(root / "valid" / "Lonely" / "vocals.wav", make_music(0.5, seed=6))
    write(root / "notes.wav", make_music(0.5, seed=7))
    return root


@pytest.fixture(scope="module")
def pairs_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pairs") / "mypairs"
    inst, voc = make_music(3.0, seed=20), make_music(3.0, seed=21) * 0.7
    write(root / "mixtures" / "song1_mix.wav", inst + voc)
    write(root / "instruments" / "song1_inst.wav", inst)
    # the instrumental file starts 300 samples late (e.g. another encoder's delay)
    inst2, voc2 = make_music(3.0, seed=22), make_music(3.0, seed=23) * 0.7
    write(root / "mixtures" / "song2.wav", inst2 + voc2, subtype="FLOAT")
    write(root / "instruments" / "Song2.flac", np.concatenate([np.zeros((300, 2), np.float32), inst2]),
          subtype="PCM_24")
    # unrelated "pair": must not be cached
    write(root / "mixtures" / "wrong_mix.wav", make_music(3.0, seed=24))
    write(root / "instruments" / "wrong_inst.wav", make_music(3.0, seed=25))
    # unmatched files on both sides
    write(root / "mixtures" / "orphan_mix.wav", make_music(1.0, seed=26))
    write(root / "instruments" / "lonely_inst.wav", make_music(1.0, seed=27))
    return root


@pytest.fixture(scope="module")
def pools_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pools") / "mypools"
    sing = make_music(2.0, seed=30)
    hush = np.random.default_rng(0).standard_normal((3 * 44100, 2)).astype(np.float32) * 1e-5  # -100 dB
    write(root / "vocals" / "a.wav", np.concatenate([sing, hush, sing]), subtype="FLOAT")
    write(root / "vocals" / "silent.wav", np.zeros((44100, 2), np.float32))
    write(root / "instrumentals" / "x.wav", make_music(2.0, seed=31))
    write(root / "instrumentals" / "y.ogg", make_music(2.5, seed=32))
    return root


@pytest.fixture(scope="module")
def mixes_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mixes") / "mymixes"
    write(root / "one.mp3", make_music(2.0, seed=40))
    six = np.concatenate([make_music(1.0, seed=41, channels=2)] * 3, axis=1)
    write(root / "sub" / "surround.wav", six)
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00this is not audio at all" * 10)
    (root / "empty.flac").write_bytes(b"")
    return root


# --------------------------------------------------------------------------- layouts


def test_layouts_are_detected(stems_root, pairs_root, pools_root, mixes_root, tmp_path):
    assert detect_layout(stems_root) == "stems"
    assert detect_layout(pairs_root) == "pairs"
    assert detect_layout(pools_root) == "pools"
    assert detect_layout(mixes_root) == "mixes"
    assert detect_layout(mixes_root / "one.mp3") == "mixes"
    assert detect_layout(tmp_path) is None
    if (DATA / "musdb7").is_dir():
        assert detect_layout(DATA / "musdb7") == "stems"
    if (DATA / "mir1k").is_dir():
        assert detect_layout(DATA / "mir1k") == "stems"
    with pytest.raises(ConfigError):
        discover([stems_root], layout="tracks")


def test_pairs_are_matched_by_name_not_order(pairs_root):
    pairs, problems = match_pairs(pairs_root / "mixtures", pairs_root / "instruments")
    assert sorted((m.name, i.name) for m, i in pairs) == [
        ("song1_mix.wav", "song1_inst.wav"), ("song2.wav", "Song2.flac"), ("wrong_mix.wav", "wrong_inst.wav")]
    reasons = {Path(p.path).name: p.reason for p in problems}
    assert set(reasons) == {"orphan_mix.wav", "lonely_inst.wav"}
    assert "no instrumental with a matching name" in reasons["orphan_mix.wav"]
    assert "no mixture with a matching name" in reasons["lonely_inst.wav"]


def test_offset_estimate_is_sample_exact():
    rng = np.random.default_rng(1)
    inst = rng.standard_normal(50_000)
    voc = rng.standard_normal(50_000) * 0.8
    for d in (-1234, 0, 77, 4000):
        mix = np.roll(inst, -d) + voc  # mix[t] = inst[t + d] + voc[t]
        lag, coef = estimate_offset(mix[5000:45000], inst[5000 - 4410:45000 + 4410], 4410)
        assert lag == d and coef > 0.6
    lag, coef = estimate_offset(voc[5000:45000], inst[5000 - 4410:45000 + 4410], 4410)
    assert coef < 0.1  # unrelated signals


# --------------------------------------------------------------------------- caching each layout


def test_stems_cache_equals_decoded_sources(stems_root, tmp_path):
    summary = build_cache([stems_root], tmp_path / "c")
    cache = AudioCache.open(tmp_path / "c", verify=True)
    assert summary.tracks == len(cache) == 3 and summary.built == 3
    t = by_name(cache)
    assert {x.group for x in cache.tracks} == {"mystems/train", "mystems/valid"}
    assert t["Alpha"].stored == ("vocals", "instrumental") and t["Beta"].stored == ("mixture", "vocals", "instrumental")
    skipped = {Path(p.path).name: p.reason for p in summary.skipped}
    assert "only vocals" in skipped["Lonely"] and "not in a stems track folder" in skipped["notes.wav"]
    assert "duplicate of vocals.flac" in skipped["vocals.mp3"]

    # 48 kHz stems: resampled with the project's Resampler; the instrumental is drums + bass + other
    alpha = t["Alpha"]
    ref_voc, _ = read_audio(stems_root / "train/Alpha/vocals.wav")
    ref_inst = sum(read_audio(stems_root / f"train/Alpha/{s}.wav")[0] for s in ("drums", "bass", "other"))
    assert alpha.num_samples == Resampler(48000, 44100, 2).expected_length(96000) == len(ref_voc)
    voc = cache.read(alpha.id, "vocals", 0, alpha.num_samples)
    inst = cache.read(alpha.id, "instrumental", 0, alpha.num_samples)
    assert np.abs(voc - ref_voc).max() <= quant(cache, alpha.id, "vocals")
    assert np.abs(inst - ref_inst).max() <= quant(cache, alpha.id, "instrumental") + 1e-6
    mix = cache.read(alpha.id, "mixture", 0, alpha.num_samples)
    np.testing.assert_array_equal(mix, voc + inst)  # derived exactly
    # crops are zero-padded outside the track
    edge = cache.read(alpha.id, "vocals", alpha.num_samples - 10, 30)
    np.testing.assert_array_equal(edge[10:], 0)
    np.testing.assert_array_equal(edge[:10], voc[-10:])
    np.testing.assert_array_equal(cache.read(alpha.id, "vocals", -5, 10)[:5], 0)

    # mono 22.05 kHz -> stereo 44.1 kHz with L == R
    gamma = t["Gamma"]
    g = cache.read(gamma.id, "vocals", 0, gamma.num_samples)
    ref_g, _ = read_audio(stems_root / "valid/Gamma/vocals.wav")
    assert g.shape == (44100, 2) and np.array_equal(g[:, 0], g[:, 1])
    assert np.abs(g[:, 0] - ref_g[:, 0]).max() <= quant(cache, gamma.id, "vocals")
    # a real mixture is stored as is; vocals come from their own file
    beta = t["Beta"]
    ref_mix, _ = read_audio(stems_root / "train/Beta/mixture.flac")
    assert np.abs(cache.read(beta.id, "mixture", 0, beta.num_samples) - ref_mix).max() <= quant(cache, beta.id, "mixture")
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["version"] == 1 and manifest["params"]["sample_rate"] == 44100
    assert manifest["params_hash"] == params_hash()
    rec = manifest["tracks"][0]
    for key in ("shard_bytes", "shard_sha256", "duration", "group", "layout", "stored", "scales"):
        assert key in rec
    assert {"path", "size", "sha256", "sample_rate", "channels", "role"} <= set(rec["inputs"][0])
    assert rec["inputs"][0]["sha256"] == sha256_file(rec["inputs"][0]["path"])


def test_symlinked_track_folders_are_cached_and_a_link_loop_ends(stems_root, tmp_path):
    # Datasets are often assembled from links to another copy's track folders (a subset, a new split). `evaluate`
    # reads them, so `cache` must too, not drop them silently; a link back up the tree must not recurse forever.
    subset = tmp_path / "subset"
    subset.mkdir()
    (subset / "Alpha").symlink_to(stems_root / "train" / "Alpha", target_is_directory=True)
    (subset / "Gamma").symlink_to(stems_root / "valid" / "Gamma", target_is_directory=True)
    (subset / "loop").symlink_to(subset, target_is_directory=True)
    assert detect_layout(subset) == "stems"
    summary = build_cache([subset], tmp_path / "c")
    cache = AudioCache.open(tmp_path / "c", verify=True)
    assert summary.tracks == 2 and sorted(by_name(cache)) == ["Alpha", "Gamma"]
    alpha = by_name(cache)["Alpha"]
    ref_voc, _ = read_audio(stems_root / "train/Alpha/vocals.wav")
    voc = cache.read(alpha.id, "vocals", 0, alpha.num_samples)
    assert np.abs(voc - ref_voc).max() <= quant(cache, alpha.id, "vocals")


def test_pairs_cache_aligns_and_reports(pairs_root, tmp_path):
    summary = build_cache([pairs_root], tmp_path / "c")
    cache = AudioCache.open(tmp_path / "c")
    t = by_name(cache)
    assert set(t) == {"song1", "song2"}
    errors = {Path(p.path).name: p.reason for p in summary.skipped if p.kind == "error"}
    assert "do not match" in errors["wrong_mix.wav"]
    assert {Path(p.path).name for p in summary.skipped if p.kind == "ignored"} == {"orphan_mix.wav", "lonely_inst.wav"}
    assert t["song1"].offsets == {"instrumental": 0}
    assert t["song2"].offsets == {"instrumental": 300}
    assert any("aligned" in n for n in t["song2"].notes)
    # after alignment, mixture - instrumental is the vocal (to quantisation)
    voc_ref = make_music(3.0, seed=23) * 0.7
    s2 = t["song2"]
    assert s2.num_samples == 3 * 44100
    voc = cache.read(s2.id, "vocals", 0, s2.num_samples)
    tol = quant(cache, s2.id, "mixture") + quant(cache, s2.id, "instrumental") + 2e-7  # + 24-bit source steps
    assert np.abs(voc - voc_ref).max() <= tol


def test_pools_drop_vocal_silence(pools_root, tmp_path):
    summary = build_cache([pools_root], tmp_path / "c")
    cache = AudioCache.open(tmp_path / "c")
    t = by_name(cache)
    assert set(t) == {"a", "x", "y"}
    assert t["a"].stored == ("vocals",) and t["x"].stored == ("instrumental",)
    assert [p.reason for p in summary.skipped if Path(p.path).name == "silent.wav"] == [
        "the vocal stem is silent: not cached"]
    # 7 s with 3 s of -100 dB in the middle: the silence minus 0.1 s of context each side is dropped
    dropped = 7 * 44100 - t["a"].num_samples
    assert abs(dropped - (3 * 44100 - 2 * 4410)) <= 2 * 1024
    a = cache.read(t["a"].id, "vocals", 0, t["a"].num_samples)
    sing = make_music(2.0, seed=30)
    assert np.abs(a[:88200] - sing).max() <= quant(cache, t["a"].id, "vocals") + 1e-6
    assert np.abs(a[-88200:] - sing).max() <= quant(cache, t["a"].id, "vocals") + 1e-6


def test_mixes_and_unreadable_files(mixes_root, tmp_path):
    summary = build_cache([mixes_root], tmp_path / "c")
    cache = AudioCache.open(tmp_path / "c")
    assert sorted(x.name for x in cache.tracks) == ["one", "surround"]
    assert {x.group for x in cache.tracks} == {"mymixes", "mymixes/sub"}
    errors = {Path(p.path).name: p.reason for p in summary.skipped}
    assert "not a readable audio file" in errors["broken.wav"]
    assert "empty file" in errors["empty.flac"]
    assert summary.errors == 2
    assert any("6 channels downmixed to stereo" in n for _, n in summary.notes)
    assert all(x.roles == ("mixture",) for x in cache.tracks)


@pytest.mark.skipif(not (DATA / "musdb7" / "valid").is_dir() or not (DATA / "mir1k").is_dir(),
                    reason=f"real data not found at {DATA} (see ../shared/data/README.md)")
def test_real_musdb_and_mir1k_tracks(tmp_path):
    musdb = sorted(p for p in (DATA / "musdb7" / "valid").iterdir() if p.is_dir())[:2]
    mir = sorted(p for p in (DATA / "mir1k").iterdir() if p.is_dir())[:2]
    summary = build_cache(musdb + mir, tmp_path / "c", workers=2)
    assert summary.tracks == 4 and not summary.skipped
    assert [lay for _, lay in summary.layouts] == ["stems"] * 4
    cache = AudioCache.open(tmp_path / "c", verify=True)
    for folder, t in zip(musdb + mir, cache.tracks):
        assert t.name == folder.name and t.stored == ("vocals", "instrumental")
        voc, _ = read_audio(folder / "vocals.ogg")
        acc, _ = read_audio(folder / "accompaniment.ogg")
        if voc.shape[1] == 1:  # MIR-1K: 16 kHz mono -> 44.1 kHz stereo
            voc, acc = np.repeat(voc, 2, axis=1), np.repeat(acc, 2, axis=1)
        assert t.num_samples == len(voc)
        got = cache.read_stems(t.id, ("vocals", "instrumental", "mixture"), 0, t.num_samples)
        assert np.abs(got["vocals"] - voc).max() <= quant(cache, t.id, "vocals")
        assert np.abs(got["instrumental"] - acc).max() <= quant(cache, t.id, "instrumental")
        np.testing.assert_array_equal(got["mixture"], got["vocals"] + got["instrumental"])
    assert cache.tracks[2].inputs[0]["sample_rate"] == 16000 and cache.tracks[2].inputs[0]["channels"] == 1


# --------------------------------------------------------------------------- idempotence, changes, corruption


def _copy_tree(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_rerun_is_idempotent_and_changed_sources_are_recached(stems_root, tmp_path):
    src = _copy_tree(stems_root, tmp_path / "src")
    out = tmp_path / "c"
    first = build_cache([src], out)
    fp = AudioCache.open(out).fingerprint
    shards = {p.name: p.stat().st_mtime_ns for p in (out / "shards").glob("*.npy")}
    again = build_cache([src], out)
    assert (again.built, again.reused, again.tracks) == (0, 3, 3)
    assert AudioCache.open(out).fingerprint == fp
    assert {p.name: p.stat().st_mtime_ns for p in (out / "shards").glob("*.npy")} == shards

    # touched but identical: kept; rewritten with other audio: re-cached (only that track)
    os.utime(src / "train/Beta/vocals.flac", ns=(time.time_ns(), time.time_ns()))
    write(src / "valid/Gamma/vocals.wav", make_music(1.0, 22050, channels=1, seed=99), 22050)
    third = build_cache([src], out)
    assert (third.built, third.reused) == (1, 2)
    cache = AudioCache.open(out)
    assert cache.fingerprint != fp
    gamma = by_name(cache)["Gamma"]
    ref, _ = read_audio(src / "valid/Gamma/vocals.wav")
    assert np.abs(cache.read(gamma.id, "vocals", 0, 44100)[:, 0] - ref[:, 0]).max() <= quant(cache, gamma.id, "vocals")

    # a track whose folder disappears leaves the cache
    import shutil

    shutil.rmtree(src / "train/Alpha")
    fourth = build_cache([src], out)
    assert fourth.tracks == 2 and len(list((out / "shards").glob("*.npy"))) == 2
    assert first.tracks == 3


def test_corrupt_and_truncated_shards_are_detected_and_rebuilt(pools_root, tmp_path):
    out = tmp_path / "c"
    build_cache([pools_root], out)
    cache = AudioCache.open(out)
    fp = cache.fingerprint
    victim = cache.tracks[0]
    shard = out / victim.shard
    data = shard.read_bytes()

    shard.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(DataError, match="truncated"):
        AudioCache.open(out)
    with pytest.raises(DataError, match="truncated"):
        ensure_cache(out)
    summary = build_cache([pools_root], out)
    assert summary.built == 1 and any("rebuilt" in n for _, n in summary.notes)
    assert AudioCache.open(out, verify=True).fingerprint == fp

    flipped = bytearray(data)
    flipped[len(data) // 2:len(data) // 2 + 64] = bytes(64)  # same size, wrong content
    shard.write_bytes(bytes(flipped))
    assert AudioCache.open(out).verify() == [victim.id]
    with pytest.raises(DataError, match="sha256"):
        AudioCache.open(out, verify=True)
    assert build_cache([pools_root], out).built == 0  # sizes only by default
    assert build_cache([pools_root], out, verify=True).built == 1
    assert AudioCache.open(out, verify=True).fingerprint == fp


def test_not_a_cache_and_foreign_folders(tmp_path, pools_root):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("mine")
    with pytest.raises(DataError, match="not empty and not a vocal-remover cache"):
        build_cache([pools_root], tmp_path / "junk")
    with pytest.raises(DataError, match="not a dataset cache"):
        AudioCache.open(tmp_path / "junk")
    with pytest.raises(DataError, match="nothing could be cached"):
        build_cache([tmp_path / "nowhere"], tmp_path / "c2")


def test_ensure_cache_caches_raw_folders_once(pools_root, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    events = []
    path = ensure_cache(pools_root, progress=events.append)
    assert path.parent == tmp_path / "xdg" / "vocal-remover" / "datasets"
    assert sum(e.kind == "track" and not e.reused for e in events) == 3
    events.clear()
    assert ensure_cache(pools_root, progress=events.append) == path
    assert sum(e.kind == "track" and e.reused for e in events) == 3  # reused, nothing rebuilt
    assert ensure_cache(path) == path  # a cache is taken as is


# --------------------------------------------------------------------------- interruption


def _make_many(root: Path, n: int = 24) -> Path:
    rng = np.random.default_rng(5)
    for i in range(n):  # 6 s at 48 kHz each (resampled): about 30 ms of caching per track
        for stem in ("vocals", "accompaniment"):
            write(root / f"t{i:02d}" / f"{stem}.wav", (rng.standard_normal((288000, 2)) * 0.1).astype(np.float32),
                  48000)
    return root


def test_kill_9_then_resume_equals_an_uninterrupted_cache(tmp_path):
    src = _make_many(tmp_path / "many")
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "vocal_remover", "cache", str(src), "-o", str(out), "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "shards").glob("*.json"))) >= 2 if (out / "shards").is_dir() else False:
            break
        time.sleep(0.002)
    assert proc.poll() is None, "the cache finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=HANG)
    assert proc.returncode == -signal.SIGKILL
    done = len(list((out / "shards").glob("*.json")))
    assert 0 < done < 24
    assert not (out / "manifest.json").exists()  # nothing trusts an interrupted cache
    with pytest.raises(DataError, match="incomplete cache"):
        AudioCache.open(out)
    # leftovers of a kill in the middle of writing, and a shard whose record never got written
    (out / "shards" / ".t99-deadbeef.npy.partial-0000").write_bytes(b"\x93NUMPY half")
    (out / "shards" / ".scratch-dead").mkdir()
    orphan = sorted((out / "shards").glob("*.json"))[0]
    orphan.unlink()

    again = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=HANG)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == str(out)
    resumed = AudioCache.open(out, verify=True)
    assert len(resumed) == 24
    assert sorted(p.name for p in (out / "shards").iterdir() if p.name.startswith(".")) == []

    reference = tmp_path / "reference"
    summary = build_cache([src], reference, workers=2)
    assert summary.built == 24
    ref = AudioCache.open(reference)
    assert resumed.fingerprint == ref.fingerprint
    m1 = json.loads((out / "manifest.json").read_text())["tracks"]
    m2 = json.loads((reference / "manifest.json").read_text())["tracks"]
    assert m1 == m2
    # a third run finds everything done
    third = build_cache([src], out)
    assert (third.built, third.reused) == (0, 24)


def _children(pid: int) -> dict[int, str]:
    """Live child processes of `pid` (Linux /proc): pid -> command line. Zombies count as gone."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(stat.parent.name)] = cmdline
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_a_parallel_build_takes_its_workers_with_it(tmp_path):
    src = _make_many(tmp_path / "many")
    out = tmp_path / "c"
    proc = subprocess.Popen([sys.executable, "-m", "vocal_remover", "cache", str(src), "-o", str(out), "-j", "2",
                             "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    workers: dict[int, str] = {}
    deadline = time.monotonic() + HANG
    while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
        workers = {pid: cmd for pid, cmd in _children(proc.pid).items() if "spawn_main" in cmd}
        time.sleep(0.002)
    assert len(workers) == 2 and proc.poll() is None, "the build ended before its workers were seen"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=HANG)
    # Dead at once on Linux (PR_SET_PDEATHSIG); the bound below is for a hang, not a timing.
    deadline = time.monotonic() + 120
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:  # do not leave them behind when the test fails
        os.kill(pid, signal.SIGKILL)
    assert survivors == []


def test_a_first_build_that_caches_nothing_leaves_nothing(tmp_path):
    from vocal_remover.cli import app

    (tmp_path / "empty").mkdir()
    for source in (tmp_path / "empty", tmp_path / "missing"):
        res = CliRunner().invoke(app, ["cache", str(source), "-o", str(tmp_path / "new" / "cache")])
        assert res.exit_code == 1 and "nothing could be cached" in res.stderr, res.output
        assert not (tmp_path / "new").exists()
    mine = tmp_path / "mine"  # a folder the user made stays, empty
    mine.mkdir()
    res = CliRunner().invoke(app, ["cache", str(tmp_path / "empty"), "-o", str(mine)])
    assert res.exit_code == 1 and list(mine.iterdir()) == []


# --------------------------------------------------------------------------- CLI


def test_cli_cache_prints_the_path_and_a_summary(mixes_root, tmp_path):
    from vocal_remover.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["cache", str(mixes_root), "-o", str(tmp_path / "c")])
    assert res.exit_code == 1  # two unreadable files
    out_lines = res.stdout.strip().splitlines()
    assert str(tmp_path / "c") in out_lines
    text = res.output
    assert "broken.wav" in text and "empty file" in text and "Dataset cache" in text and "tracks" in text
    assert "2 source(s) could not be cached" in text

    src = tmp_path / "ok"
    write(src / "song.wav", make_music(1.0))
    res = runner.invoke(app, ["cache", str(src), "-o", str(tmp_path / "c2"), "-q", "--layout", "mixes"])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(tmp_path / "c2")
    res = runner.invoke(app, ["cache", str(src), "-o", str(tmp_path / "c3"), "--layout", "pairs"])
    assert res.exit_code == 1 and "needs mixtures/ and instruments/" in res.output


@pytest.mark.skipif(not (DATA / "musdb7" / "valid").is_dir(), reason=f"real data not found at {DATA / 'musdb7'}")
def test_every_layout_from_real_musdb_files(tmp_path):
    """pairs, pools and mixes made from real MUSDB stems (the shared data itself is a stems layout)."""
    import shutil

    a, b = sorted(p for p in (DATA / "musdb7" / "valid").iterdir() if p.is_dir())[:2]
    voc_a, _ = read_audio(a / "vocals.ogg")
    acc_a, _ = read_audio(a / "accompaniment.ogg")
    # pairs: the mixture as WAV, the instrumental as FLAC starting 1000 samples late
    pairs = tmp_path / "realpairs"
    write(pairs / "mixtures" / "songA_mix.wav", voc_a + acc_a, subtype="FLOAT")
    write(pairs / "instruments" / "songA_inst.flac", np.concatenate([np.zeros((1000, 2)), acc_a]) / 2,
          subtype="PCM_24")  # half level: a different master of the same instrumental
    # pools: vocals of one song, accompaniments of both
    pools = tmp_path / "realpools"
    (pools / "vocals").mkdir(parents=True)
    (pools / "instrumentals").mkdir()
    shutil.copy(a / "vocals.ogg", pools / "vocals" / "a.ogg")
    for x in (a, b):
        shutil.copy(x / "accompaniment.ogg", pools / "instrumentals" / f"{x.name}.ogg")
    # mixes: the two mixtures
    mixes = tmp_path / "realmixes"
    write(mixes / "A.wav", voc_a + acc_a, subtype="FLOAT")
    for root, lay in ((pairs, "pairs"), (pools, "pools"), (mixes, "mixes")):
        assert detect_layout(root) == lay
    summary = build_cache([pairs, pools, mixes], tmp_path / "c", workers=2)
    assert [lay for _, lay in summary.layouts] == ["pairs", "pools", "mixes"] and not summary.skipped
    cache = AudioCache.open(tmp_path / "c", verify=True)
    t = {(x.layout, x.name): x for x in cache.tracks}
    assert len(t) == 5
    song = t[("pairs", "songA")]
    assert song.offsets == {"instrumental": 1000} and song.num_samples == len(voc_a)
    assert any("level differs: -6.0 dB" in n for n in song.notes)  # reported, not corrected
    got = cache.read_stems(song.id, ("instrumental", "vocals"), 0, song.num_samples)
    assert np.abs(got["instrumental"] - acc_a / 2).max() <= quant(cache, song.id, "instrumental") + 1e-6
    # vocals = mixture - instrumental: the instrumental is at half level, so half of it remains
    assert np.abs(got["vocals"] - (voc_a + acc_a / 2)).max() <= 2e-4
    pooled = t[("pools", "a")]
    assert pooled.stored == ("vocals",) and pooled.num_samples <= len(voc_a)
    mix = t[("mixes", "A")]
    assert np.abs(cache.read(mix.id, "mixture", 0, mix.num_samples) - (voc_a + acc_a)).max() <= quant(
        cache, mix.id, "mixture")


def test_a_second_build_into_the_same_folder_is_refused(pools_root, tmp_path):
    import fcntl

    out = tmp_path / "c"
    build_cache([pools_root], out)
    with open(out / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DataError, match="another `vocal-remover cache` is writing"):
            build_cache([pools_root], out)
    assert build_cache([pools_root], out).reused == 3


def test_ensure_cache_waits_for_a_concurrent_build_instead_of_failing(pools_root, tmp_path):
    """Training ranks and parallel jobs call ensure_cache on the same raw folder at the same time (the
    DDP failure of CI): every caller gets the finished cache."""
    code = ("import sys; from vocal_remover.data.cache import ensure_cache, AudioCache; "
            "p = ensure_cache(sys.argv[1]); print(p, len(AudioCache.open(p).tracks))")
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(pools_root)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    results = [p.communicate(timeout=HANG) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], "\n".join(err for _, err in results)
    assert len({out for out, _ in results}) == 1 and results[0][0].split()[1] == "3"


def test_retrying_a_source_that_failed_keeps_the_cache_readable(pools_root, tmp_path):
    """A silent vocal file is never cached, so every build tries it again; meanwhile other processes (ranks
    that share the cache) must still find a complete cache: the manifest stays while only such tracks
    are attempted."""
    out = tmp_path / "c"
    build_cache([pools_root], out)
    seen = []

    def progress(event):
        if event.kind == "skip" and "silent" in event.name:  # reported while the build is in progress
            seen.append((out / "manifest.json").is_file() and len(AudioCache.open(out)) == 3)

    again = build_cache([pools_root], out, progress=progress)
    assert seen == [True] and again.reused == 3


def test_other_format_versions_and_parameters_are_rebuilt(pools_root, tmp_path):
    out = tmp_path / "c"
    build_cache([pools_root], out)
    fp = AudioCache.open(out).fingerprint
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["version"] = 99
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="version 99 is not supported"):
        AudioCache.open(out)
    record = next((out / "shards").glob("*.json"))
    rec = json.loads(record.read_text())
    rec["params_hash"] = "made-with-other-parameters"
    record.write_text(json.dumps(rec))
    summary = build_cache([pools_root], out)
    assert (summary.built, summary.reused) == (1, 2)
    assert AudioCache.open(out).fingerprint == fp


def test_one_sided_pools_are_detected_and_cached(tmp_path):
    """A vocals-only pool (solo singing) and an instrumental-only pool each cache with the right role."""
    singing = tmp_path / "solo"
    write(singing / "vocals" / "s1.wav", make_music(1.5, seed=50, channels=1))
    write(singing / "vocals" / "sub" / "s2.wav", make_music(1.0, seed=51, channels=1))
    games = tmp_path / "games"
    write(games / "instrumentals" / "pkg" / "g1.wav", make_music(2.0, seed=52))
    assert detect_layout(singing) == "pools" and detect_layout(games) == "pools"
    # a folder with audio beside the vocals/ folder is not a pool
    write(tmp_path / "mixed" / "vocals" / "v.wav", make_music(1.0, seed=53))
    write(tmp_path / "mixed" / "song.wav", make_music(1.0, seed=54))
    assert detect_layout(tmp_path / "mixed") == "mixes"
    build_cache([singing, games], tmp_path / "c")
    t = by_name(AudioCache.open(tmp_path / "c"))
    assert {n: r.stored for n, r in t.items()} == {"s1": ("vocals",), "s2": ("vocals",), "g1": ("instrumental",)}
    # mono singing is stored as two equal channels
    s1 = AudioCache.open(tmp_path / "c").read(t["s1"].id, "vocals", 0, t["s1"].num_samples)
    assert s1.shape[1] == 2 and np.array_equal(s1[:, 0], s1[:, 1])
