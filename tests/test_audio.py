"""Tests for vocal_remover.audio: real files through real libsndfile/soxr (and PyAV when
installed), generated into tmp_path."""

from __future__ import annotations

import fractions
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vocal_remover.audio import (
    INPUT_EXTENSIONS,
    MODEL_RATE,
    MP3_SAMPLE_RATES,
    AudioReader,
    AudioWriter,
    Resampler,
    find_audio_files,
    from_stereo,
    open_audio,
    read_audio,
    to_stereo,
)
from vocal_remover.errors import AudioError

from helpers import HANG

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def tone(n: int, rate: int = 44100, channels: int = 2, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(n) / rate
    cols = [amp * np.sin(2 * np.pi * freq * (c + 1) * t) for c in range(channels)]
    return np.stack(cols, axis=1).astype(np.float32)


def read_all(path: Path, blocksize: int = 4096) -> tuple[np.ndarray, AudioReader]:
    with open_audio(path) as r:
        blocks = list(r.blocks(blocksize))
    data = np.concatenate(blocks) if blocks else np.zeros((0, r.info.channels), np.float32)
    return data, r


def peak_freq(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * rate / len(x))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- discovery


def test_find_audio_files_expands_folders_sorted_and_skips_hidden(tmp_path: Path) -> None:
    root = tmp_path / "music"
    (root / "b").mkdir(parents=True)
    (root / "a").mkdir()
    (root / ".hidden").mkdir()
    for rel in ["b/2.flac", "b/1.WAV", "a/z.mp3", "a/song.m4a", "top.ogg", ".secret.wav", ".hidden/x.wav",
                "notes.txt", "cover.jpg", ".top.wav.partial-1234"]:
        (root / rel).write_bytes(b"x")
    odd = tmp_path / "strange.name"
    odd.write_bytes(b"x")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no audio")

    files, problems = find_audio_files([root, odd, tmp_path / "missing.wav", empty, root / "top.ogg"])

    assert files == [root / "a/song.m4a", root / "a/z.mp3", root / "b/1.WAV", root / "b/2.flac", root / "top.ogg", odd]
    assert problems == [
        (tmp_path / "missing.wav", "no such file or folder"),
        (empty, "no audio files in this folder"),
    ]


def test_find_audio_files_follows_linked_folders_once(tmp_path: Path) -> None:
    # A library assembled from links (an album linked into a playlist folder) is separated like real folders;
    # a link back up the tree ends, and an album linked twice is separated once.
    album = tmp_path / "albums" / "First"
    album.mkdir(parents=True)
    (album / "1.flac").write_bytes(b"x")
    (album / "2.mp3").write_bytes(b"x")
    library = tmp_path / "library"
    library.mkdir()
    (library / "a").symlink_to(album, target_is_directory=True)
    (library / "b").symlink_to(album, target_is_directory=True)
    (library / "up").symlink_to(library, target_is_directory=True)
    (library / "own.wav").write_bytes(b"x")

    files, problems = find_audio_files([library])

    assert files == [library / "a/1.flac", library / "a/2.mp3", library / "own.wav"] and problems == []


def test_input_extensions_include_pyav_formats() -> None:
    assert {".wav", ".flac", ".mp3", ".ogg", ".aiff", ".m4a", ".aac"} <= INPUT_EXTENSIONS
    assert all(e == e.lower() and e.startswith(".") for e in INPUT_EXTENSIONS)


# --------------------------------------------------------------------------- open errors


def test_open_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioError) as e:
        open_audio(tmp_path / "nope.wav")
    assert str(e.value) == f"{tmp_path / 'nope.wav'}: no such file"
    with pytest.raises(AudioError) as e:
        open_audio(tmp_path)
    assert e.value.why == "is a folder, not an audio file"


def test_open_text_files_and_empty_file(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "song.mp3"
    fake.write_text("this is not audio\n" * 20)
    capfd.readouterr()
    with pytest.raises(AudioError) as e:
        open_audio(fake)
    assert e.value.what == str(fake)
    assert e.value.why == "not a readable audio file (unknown format)"
    assert capfd.readouterr().err == ""  # libsndfile's mpg123 probe notes are silenced

    fake_wav = tmp_path / "song.wav"
    fake_wav.write_text("RIFF? no\n" * 20)
    with pytest.raises(AudioError, match="not a readable audio file"):
        open_audio(fake_wav)

    weird = tmp_path / "song.xyz"
    weird.write_text("hello\n" * 20)
    with pytest.raises(AudioError, match="not a readable audio file"):
        open_audio(weird)

    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty file \(0 bytes\)"):
        open_audio(empty)


# --------------------------------------------------------------------------- reading


def test_blocks_are_sequential_bounded_and_exact(tmp_path: Path) -> None:
    x = tone(10_007, channels=2)
    p = tmp_path / "x.wav"
    sf.write(p, x, 44100, subtype="FLOAT")
    with open_audio(p) as r:
        assert r.info.frames == 10_007 and r.info.channels == 2 and r.info.samplerate == 44100
        assert r.info.format == "WAV" and r.info.duration == pytest.approx(10_007 / 44100)
        sizes = [len(b) for b in r.blocks(1000)]
        assert sizes == [1000] * 10 + [7]
        again = np.concatenate(list(r.blocks(4096)))  # each pass restarts at the beginning
        assert r.frames_read == 10_007 and not r.truncated and r.warnings == []
    assert again.dtype == np.float32 and again.shape == (10_007, 2)
    np.testing.assert_array_equal(again, x)
    with pytest.raises(ValueError):
        next(iter(open_audio(p).blocks(0)))


def test_zero_sample_wav_and_10ms_file(tmp_path: Path) -> None:
    z = tmp_path / "zero.wav"
    sf.write(z, np.zeros((0, 2), np.float32), 44100)
    with open_audio(z) as r:
        assert r.info.frames == 0 and r.info.duration == 0.0
        assert list(r.blocks(4096)) == []
        assert not r.truncated
    short = tmp_path / "short.wav"
    sf.write(short, tone(441, channels=1), 44100, subtype="PCM_16")
    data, r = read_all(short)
    assert data.shape == (441, 1) and r.info.frames == 441
    audio, rate = read_audio(short)
    assert rate == MODEL_RATE and audio.shape == (441, 1)
    empty_audio, _ = read_audio(z, 48000)
    assert empty_audio.shape == (0, 2)


@pytest.mark.parametrize("rate", [8000, 96000])
def test_low_and_high_rate_files_resample_to_model_rate(tmp_path: Path, rate: int) -> None:
    n = rate // 2 + 3
    p = tmp_path / f"r{rate}.wav"
    sf.write(p, tone(n, rate=rate, channels=1, freq=1000.0), rate, subtype="PCM_24")
    with open_audio(p) as r:
        assert r.info.samplerate == rate and r.info.frames == n
    audio, out_rate = read_audio(p)
    assert out_rate == MODEL_RATE
    assert len(audio) == Resampler(rate, MODEL_RATE, 1).expected_length(n)
    assert len(audio) == (2 * n * MODEL_RATE + rate) // (2 * rate)
    mid = audio[1000:-1000, 0]
    assert peak_freq(mid, MODEL_RATE) == pytest.approx(1000.0, abs=5.0)
    assert np.max(np.abs(mid)) == pytest.approx(0.5, abs=0.01)
    native, native_rate = read_audio(p, None)
    assert native_rate == rate and len(native) == n


def test_six_channel_wav_and_aiff_and_unicode_names(tmp_path: Path) -> None:
    x6 = tone(2000, channels=6, amp=0.1)
    p6 = tmp_path / "surround 5.1.wav"
    sf.write(p6, x6, 48000, subtype="FLOAT")
    data, r = read_all(p6, 512)
    assert r.info.channels == 6
    np.testing.assert_array_equal(data, x6)

    aiff = tmp_path / "clip.aiff"
    xa = tone(3000, channels=2)
    sf.write(aiff, xa, 44100, subtype="PCM_16")
    data, r = read_all(aiff)
    assert r.info.format == "AIFF" and data.shape == (3000, 2)
    np.testing.assert_allclose(data, xa, atol=1 / 32768)

    folder = tmp_path / "Müsik ordner ♪"
    folder.mkdir()
    uni = folder / "Björk – Jóga (live) 🎵.wav"
    with AudioWriter(uni, 44100, 2) as w:
        w.write(xa)
        w.commit()
    files, problems = find_audio_files([folder])
    assert files == [uni] and problems == []
    data, r = read_all(uni)
    np.testing.assert_array_equal(data, xa)


# --------------------------------------------------------------------------- damaged files


def _truncate(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    out = path.with_name("cut_" + path.name)
    out.write_bytes(data[: int(len(data) * keep)])
    return out


def test_truncated_wav_reads_what_is_present_and_warns(tmp_path: Path) -> None:
    full = tmp_path / "full.wav"
    x = tone(44100, channels=2)
    sf.write(full, x, 44100, subtype="PCM_16")
    cut = _truncate(full, 0.5)
    present = (len(cut.read_bytes()) - 44) // 4  # 44-byte header, 4 bytes per frame
    with open_audio(cut) as r:
        assert r.truncated  # known at open from the header
        assert r.info.frames == present
        data = np.concatenate(list(r.blocks(10_000)))
        assert len(data) == present
        assert r.warnings and "truncated" in r.warnings[0]
    np.testing.assert_allclose(data, x[:present], atol=1 / 32768)


def test_truncated_mp3_yields_decodable_part_and_flags_it(tmp_path: Path) -> None:
    full = tmp_path / "full.mp3"
    sf.write(full, tone(88200, channels=2), 44100, format="MP3", subtype="MPEG_LAYER_III")
    data, r = read_all(full)
    assert not r.truncated and len(data) == r.info.frames == 88200
    cut = _truncate(full, 0.5)
    with open_audio(cut) as r:
        assert r.info.frames == 88200  # announced by the Xing header
        data = np.concatenate(list(r.blocks(4096)))
        assert 20_000 < len(data) < 70_000
        assert r.truncated and any("truncated" in w for w in r.warnings)
    assert np.max(np.abs(data[5000:20000])) > 0.3  # real audio came out


def test_truncated_flac_stops_cleanly(tmp_path: Path) -> None:
    full = tmp_path / "full.flac"
    sf.write(full, tone(88200, channels=2), 44100)
    cut = _truncate(full, 0.5)
    with open_audio(cut) as r:
        data = np.concatenate(list(r.blocks(4096)))
        assert r.truncated and 0 < len(data) < 88200
        assert any("decoding stopped" in w for w in r.warnings)


# --------------------------------------------------------------------------- resampler


@pytest.mark.parametrize("rates", [(48000, 44100), (8000, 44100), (96000, 44100), (44100, 48000), (22050, 44100)])
def test_resampler_chunked_equals_one_shot_and_length_formula(rates: tuple[int, int]) -> None:
    fin, fout = rates
    rng = np.random.default_rng(fin + fout)
    x = rng.standard_normal((12_345, 2)).astype(np.float32)
    one = Resampler(fin, fout, 2).process(x, last=True)
    rs = Resampler(fin, fout, 2)
    parts, pos = [], 0
    while pos < len(x):
        step = int(rng.integers(1, 3000))
        parts.append(rs.process(x[pos : pos + step]))
        pos += step
    parts.append(rs.process(np.zeros((0, 2), np.float32), last=True))
    chunked = np.concatenate(parts)
    assert len(one) == len(chunked) == rs.expected_length(len(x)) == (2 * len(x) * fout + fin) // (2 * fin)
    np.testing.assert_allclose(chunked, one, atol=1e-6)
    with pytest.raises(RuntimeError):
        rs.process(x)


def test_resampler_exact_lengths_and_passthrough() -> None:
    rng = np.random.default_rng(0)
    for fin, fout in [(8000, 44100), (44100, 8000), (48000, 44100), (11025, 44100), (96000, 44100)]:
        for n in [0, 1, 2, 7, 441, 1000, 4999, 44100]:
            rs = Resampler(fin, fout, 1)
            out = rs.process(rng.standard_normal(n).astype(np.float32), last=True)
            assert out.shape == (rs.expected_length(n), 1), (fin, fout, n)
    assert Resampler(8000, 44100, 1).expected_length(1000) == 5513  # 5512.5 rounds half up
    x = np.ones((100, 2), np.float32)
    same = Resampler(44100, 44100, 2)
    out = same.process(x, last=True)
    assert same.passthrough and out is not x
    np.testing.assert_array_equal(out, x)


# --------------------------------------------------------------------------- channels


def test_to_stereo_and_from_stereo_values() -> None:
    mono = np.array([[0.5], [-0.25]], np.float32)
    np.testing.assert_array_equal(to_stereo(mono), [[0.5, 0.5], [-0.25, -0.25]])
    st = np.array([[0.1, 0.2]], np.float32)
    np.testing.assert_array_equal(to_stereo(st), st)

    g = 1 / np.sqrt(2)
    # FL FR FC LFE BL BR
    x = np.array([[1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                  [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
                  [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
                  [1.0, -1.0, 0.0, 1.0, 1.0, -1.0]], np.float32)
    norm = 1 + 2 * g
    expected = np.array([[1 / norm, 0.0],
                         [g / norm, g / norm],
                         [0.0, 0.0],          # LFE dropped
                         [0.0, g / norm],     # BR -> right only
                         [1.0, 1.0],          # full scale everywhere stays exactly full scale
                         [(1 + g) / norm, -(1 + g) / norm]])
    np.testing.assert_allclose(to_stereo(x), expected, atol=1e-6)

    rng = np.random.default_rng(3)
    for c in [3, 4, 5, 6, 7, 8, 12]:
        y = rng.uniform(-1, 1, (1000, c)).astype(np.float32)
        out = to_stereo(y)
        assert out.shape == (1000, 2) and out.dtype == np.float32
        assert np.max(np.abs(out)) <= np.max(np.abs(y)) + 1e-6  # never clips more than the input
    # generic fold-down (7 channels): ch0 -> L, ch1 -> R, others -3 dB into both
    seven = np.zeros((1, 7), np.float32)
    seven[0, 4] = 1.0
    np.testing.assert_allclose(to_stereo(seven), [[g / (1 + 5 * g)] * 2], atol=1e-6)

    lr = np.array([[0.2, 0.6], [-1.0, 1.0]], np.float32)
    np.testing.assert_allclose(from_stereo(lr, 1), [[0.4], [0.0]])
    np.testing.assert_array_equal(from_stereo(lr, 2), lr)
    np.testing.assert_array_equal(from_stereo(lr, 6), lr)


# --------------------------------------------------------------------------- writing


def test_writer_wav_float_roundtrip_is_bitwise(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((70_001, 2)) * 0.7).astype(np.float32)  # includes |x| > 1
    out = tmp_path / "float.wav"
    with AudioWriter(out, 44100, 2) as w:
        w.write(x[:50_000])
        w.write(x[50_000:])
        assert not out.exists() and len(list(tmp_path.glob(".float.wav.partial-*"))) == 1
        assert w.commit() == out
    assert leftovers(tmp_path) == ["float.wav"]
    data, r = read_all(out, 8192)
    assert r.info.frames == 70_001 and sf.info(str(out)).subtype == "FLOAT"
    np.testing.assert_array_equal(data, x)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize(("fmt", "stype", "subtype", "tol"), [
    ("wav", "pcm16", "PCM_16", 1 / 32768),
    ("wav", "pcm24", "PCM_24", 2.0 ** -23),
    ("flac", "pcm16", "PCM_16", 1 / 32768),
    ("flac", "float", "PCM_24", 2.0 ** -23),
])
def test_writer_pcm_roundtrip_and_clipping(tmp_path: Path, fmt: str, stype: str, subtype: str, tol: float) -> None:
    x = tone(20_000, channels=2, amp=0.9)
    x[100] = [1.7, -3.0]  # must be clipped, not wrapped
    out = tmp_path / f"o.{fmt}"
    with AudioWriter(out, 44100, 2, fmt, stype) as w:
        w.write(x)
        w.commit()
    assert sf.info(str(out)).subtype == subtype
    data, _ = read_all(out)
    assert data.shape == x.shape
    expected = np.clip(x, -1, 1)
    assert np.max(np.abs(data - expected)) <= tol
    assert data[100, 0] > 0.999 and data[100, 1] == -1.0


@pytest.mark.parametrize("fmt", ["mp3", "ogg"])
def test_writer_lossy_formats(tmp_path: Path, fmt: str) -> None:
    x = tone(150_000, channels=2, freq=1000.0, amp=0.5)  # > 64k frames in one write call
    out = tmp_path / f"o.{fmt}"
    with AudioWriter(out, 44100, 2, fmt) as w:
        w.write(x)
        w.commit()
    data, r = read_all(out)
    assert r.info.format == {"mp3": "MP3", "ogg": "OGG"}[fmt]
    assert abs(len(data) - len(x)) <= 2 * 1152
    assert peak_freq(data[10_000:60_000, 0], 44100) == pytest.approx(1000.0, abs=3.0)
    assert np.max(np.abs(data[10_000:60_000])) == pytest.approx(0.5, abs=0.05)


def test_mp3_block_reads_match_one_shot_decode(tmp_path: Path) -> None:
    # soundfile's read() seeks after every call, which corrupts libsndfile's MP3 decoding;
    # the reader must give the same samples whatever the block size.
    p = tmp_path / "t.mp3"
    sf.write(p, tone(100_000, channels=2, freq=1000.0), 44100, format="MP3", subtype="MPEG_LAYER_III")
    ref, _ = sf.read(str(p), dtype="float32", always_2d=True)  # one read call, no seeks
    for bs in (1000, 4096, 65536):
        data, _ = read_all(p, bs)
        np.testing.assert_array_equal(data, ref)


def test_writer_rejects_unsupported_rates_and_layouts(tmp_path: Path) -> None:
    for rate in MP3_SAMPLE_RATES:  # all documented MP3 rates really work
        with AudioWriter(tmp_path / f"ok{rate}.mp3", rate, 1, "mp3") as w:
            w.write(np.zeros((rate // 20, 1), np.float32))
            w.commit()
        assert sf.info(str(tmp_path / f"ok{rate}.mp3")).samplerate == rate
    cases = [
        ("mp3", 96000, 2, "MP3 does not support 96000 Hz"),
        ("mp3", 44100, 6, "MP3 supports at most 2 channels"),
        ("ogg", 384000, 2, "Ogg Vorbis does not support 384000 Hz"),  # libsndfile would segfault
        ("flac", 700000, 2, "FLAC does not support 700000 Hz"),
        ("aiff", 44100, 2, "unsupported output format"),
    ]
    for fmt, rate, ch, msg in cases:
        with pytest.raises(AudioError, match=msg) as e:
            AudioWriter(tmp_path / f"bad.{fmt}", rate, ch, fmt)
        assert e.value.what == str(tmp_path / f"bad.{fmt}")
    with pytest.raises(AudioError, match="unsupported sample type"):
        AudioWriter(tmp_path / "x.wav", 44100, 2, "wav", "pcm8")
    assert not any(p.name.startswith("bad") or p.name.startswith(".") for p in tmp_path.iterdir())
    # ogg at 96 kHz is fine
    with AudioWriter(tmp_path / "hi.ogg", 96000, 2, "ogg") as w:
        w.write(tone(9600, rate=96000))
        w.commit()
    assert sf.info(str(tmp_path / "hi.ogg")).samplerate == 96000


def test_writer_abort_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "song_vocals.wav"
    with pytest.raises(RuntimeError), AudioWriter(out, 44100, 2) as w:
        w.write(tone(5000))
        raise RuntimeError("boom")
    with pytest.raises(KeyboardInterrupt), AudioWriter(out, 44100, 2, "flac", "pcm16") as w:
        w.write(tone(5000))
        raise KeyboardInterrupt
    with AudioWriter(out, 44100, 2) as w:  # no commit
        w.write(tone(5000))
    assert leftovers(tmp_path) == []

    # An existing file is only replaced by a complete new one.
    out.write_bytes(b"old")
    with pytest.raises(RuntimeError), AudioWriter(out, 44100, 2) as w:
        w.write(tone(5000))
        raise RuntimeError("boom")
    assert out.read_bytes() == b"old"
    with AudioWriter(out, 44100, 2) as w:
        w.write(tone(5000))
        w.commit()
    assert sf.info(str(out)).frames == 5000 and leftovers(tmp_path) == ["song_vocals.wav"]


def test_writer_unwritable_destinations(tmp_path: Path) -> None:
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(AudioError, match="not a folder"):
        AudioWriter(afile / "out.wav", 44100, 2)
    with pytest.raises(AudioError, match="output folder does not exist"):
        AudioWriter(tmp_path / "missing" / "out.wav", 44100, 2)
    (tmp_path / "taken.wav").mkdir()
    with pytest.raises(AudioError, match="a folder with this name"):
        AudioWriter(tmp_path / "taken.wav", 44100, 2)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_writer_permission_denied() -> None:
    # Root ignores folder permissions, so as root the check runs in a child process that
    # drops to "nobody" after importing (the interpreter itself may not be readable by it).
    base = Path(tempfile.mkdtemp(prefix="vr-perm-"))
    try:
        base.chmod(0o777)
        ro = base / "read only"
        ro.mkdir()
        ro.chmod(0o555)
        code = textwrap.dedent(f"""
            import os
            from vocal_remover.audio import AudioWriter
            from vocal_remover.errors import AudioError
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            try:
                AudioWriter({str(ro / "out.wav")!r}, 44100, 2)
            except AudioError as err:
                print(err)
        """)
        res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=HANG)
        assert res.stdout.strip() == f"{ro / 'out.wav'}: cannot write to folder {ro}: permission denied", res.stderr
        assert list(ro.iterdir()) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.skipif(sys.platform == "win32", reason="uses RLIMIT_FSIZE")
def test_writer_disk_full_is_an_audio_error_and_leaves_nothing(tmp_path: Path) -> None:
    # A file-size limit makes write() fail with EFBIG, like a full disk does with ENOSPC.
    code = textwrap.dedent(f"""
        import resource, signal, numpy as np
        from pathlib import Path
        from vocal_remover.audio import AudioWriter
        from vocal_remover.errors import AudioError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        out = Path({str(tmp_path)!r}) / "big.wav"
        try:
            with AudioWriter(out, 44100, 2) as w:
                for _ in range(20):
                    w.write(np.zeros((44100, 2), np.float32))
                w.commit()
        except AudioError as err:
            print("AUDIOERROR", err)
    """)
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=HANG)
    assert "AUDIOERROR" in res.stdout, res.stdout + res.stderr
    assert "could not write" in res.stdout
    assert leftovers(tmp_path) == []


def test_streaming_memory_does_not_grow_with_length(tmp_path: Path) -> None:
    p = tmp_path / "long.wav"
    n = 44100 * 60
    with AudioWriter(p, 44100, 2) as w:  # 21 MB of float samples, written in 1 s blocks
        block = tone(44100)
        for _ in range(60):
            w.write(block)
        w.commit()
    tracemalloc.start()
    try:
        total = 0
        with open_audio(p) as r:
            rs = Resampler(44100, 48000, 2)
            for b in r.blocks(8192):
                total += len(rs.process(to_stereo(b)))
            total += len(rs.process(np.zeros((0, 2), np.float32), last=True))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == Resampler(44100, 48000, 2).expected_length(n)
    assert peak < 4_000_000, peak


# --------------------------------------------------------------------------- real data


def test_reads_real_musdb_clip() -> None:
    clips = sorted((SHARED_DATA / "musdb7" / "valid").glob("*/vocals.ogg"))
    if not clips:
        pytest.skip(f"no musdb7 clips under {SHARED_DATA / 'musdb7' / 'valid'}")
    clip = clips[0]
    with open_audio(clip) as r:
        assert r.info.format == "OGG" and r.info.channels == 2 and r.info.samplerate == 44100
        total = 0
        energy = 0.0
        for b in r.blocks(1 << 15):
            assert b.dtype == np.float32 and b.shape[1] == 2 and len(b) <= 1 << 15
            total += len(b)
            energy += float(np.sum(b.astype(np.float64) ** 2))
            if total > 44100 * 30:
                break
        assert energy > 0
    audio, rate = read_audio(clip, 22050)
    assert rate == 22050 and len(audio) == Resampler(44100, 22050, 2).expected_length(r.info.frames)


# --------------------------------------------------------------------------- PyAV (optional)


def _encode_with_pyav(av, path: Path, x: np.ndarray, rate: int, fmt: str | None = None, **options: str) -> None:
    layout = {1: "mono", 2: "stereo"}[x.shape[1]]
    with av.open(str(path), "w", format=fmt, options=options) as c:
        s = c.add_stream("aac", rate=rate, layout=layout)
        s.bit_rate = 160_000
        planar = np.ascontiguousarray(x.T)
        for i in range(0, planar.shape[1], 1024):
            chunk = np.ascontiguousarray(planar[:, i : i + 1024])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = i
            frame.time_base = fractions.Fraction(1, rate)
            for pkt in s.encode(frame):
                c.mux(pkt)
        for pkt in s.encode(None):
            c.mux(pkt)


def test_m4a_aac_via_pyav(tmp_path: Path) -> None:
    av = pytest.importorskip("av", reason="PyAV (the m4a extra) is not installed")
    x = tone(88_200, channels=2, freq=1000.0, amp=0.5)
    m4a = tmp_path / "song ♪.m4a"
    _encode_with_pyav(av, m4a, x, 44100, movflags="faststart")
    with open_audio(m4a) as r:
        assert r.info.format == "M4A" and r.info.samplerate == 44100 and r.info.channels == 2
        assert r.info.frames is not None and abs(r.info.frames - 88_200) < 2048
        sizes = [len(b) for b in r.blocks(10_000)]
        assert all(s == 10_000 for s in sizes[:-1]) and 0 < sizes[-1] <= 10_000
        assert abs(sum(sizes) - 88_200) < 2048 and not r.truncated and r.warnings == []
    audio, rate = read_audio(m4a, 48000)
    assert rate == 48000 and audio.shape[1] == 2
    assert peak_freq(audio[5000:50_000, 0], 48000) == pytest.approx(1000.0, abs=3.0)
    assert np.max(np.abs(audio[5000:50_000, 0])) == pytest.approx(0.5, abs=0.05)

    cut = _truncate(m4a, 0.5)
    with open_audio(cut) as r:
        n = sum(len(b) for b in r.blocks(4096))
        assert 10_000 < n < 80_000 and r.truncated and r.warnings

    adts = tmp_path / "raw.aac"
    _encode_with_pyav(av, adts, tone(44_100, channels=1), 44100, fmt="adts")
    data, r = read_all(adts)
    assert r.info.format == "AAC" and r.info.channels == 1 and abs(len(data) - 44_100) < 2048

    not_audio = tmp_path / "fake.m4a"
    not_audio.write_text("not a movie\n" * 50)
    with pytest.raises(AudioError, match="not a readable audio file"):
        open_audio(not_audio)


def test_video_without_audio_stream(tmp_path: Path) -> None:
    av = pytest.importorskip("av", reason="PyAV (the m4a extra) is not installed")
    path = tmp_path / "silent_movie.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 40, np.uint8), format="rgb24")
            for pkt in s.encode(frame):
                c.mux(pkt)
        for pkt in s.encode(None):
            c.mux(pkt)
    with pytest.raises(AudioError, match="no audio stream"):
        open_audio(path)


def test_m4a_without_pyav_names_the_extra(tmp_path: Path) -> None:
    path = tmp_path / "song.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A " + b"\x00" * 100)
    odd = tmp_path / "song.xyz"
    odd.write_text("hello\n" * 10)
    code = textwrap.dedent(f"""
        import sys
        sys.modules["av"] = None  # make `import av` fail as if the extra were not installed
        from vocal_remover.audio import open_audio, pyav_available
        from vocal_remover.errors import AudioError
        assert not pyav_available()
        for p in [{str(path)!r}, {str(odd)!r}]:
            try:
                open_audio(p)
            except AudioError as err:
                print(err)
    """)
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=HANG)
    lines = res.stdout.splitlines()
    assert lines[0] == f"{path}: M4A files need the optional extra: pip install 'vocal-remover[m4a]'", res.stderr
    assert lines[1].startswith(f"{odd}: not a readable audio file (unknown format)")
    assert "vocal-remover[m4a]" in lines[1]
