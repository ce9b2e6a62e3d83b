"""`vocal-remover` end to end: real files in, real files out, clear errors, nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from helpers import ENV, HANG, REPO, assert_no_traceback, leftovers, make_music, parse_png


def run(*args: str, cwd: Path | None = None, timeout: float = HANG) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vocal_remover", *args], capture_output=True, text=True,
                          cwd=cwd, env=ENV, timeout=timeout)


def separate(model: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return run("separate", "-m", str(model), "--allow-untrained", "-q", *args, **kw)


def error_lines(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("Error:")]


def test_help_and_version_do_not_import_torch():
    """--help and --version answer at once: they never import torch (checked, not timed)."""
    code = ("import sys\nfrom vocal_remover.cli import main\n"
            "for args in (['--help'], ['--version'], ['separate', '--help'], ['finetune', '--help']):\n"
            "    sys.argv = ['vocal-remover', *args]\n"
            "    try:\n        main()\n    except SystemExit as exc:\n        assert exc.code in (0, None), exc\n"
            "print('torch imported' if 'torch' in sys.modules else 'no torch')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=HANG)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("no torch"), proc.stdout[-500:] + proc.stderr
    assert run("--version").stdout.strip().startswith("vocal-remover 0.")


def test_separates_a_real_song(tiny_model_dir, real_mix, tmp_path):
    proc = separate(tiny_model_dir, str(real_mix), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    paths = [Path(p) for p in proc.stdout.split("\n") if p]
    assert [p.name for p in paths] == ["real mix_Instruments.wav", "real mix_Vocals.wav"]
    mix, rate = sf.read(real_mix, dtype="float32")
    inst, rate_i = sf.read(paths[0], dtype="float32")
    voc, _ = sf.read(paths[1], dtype="float32")
    assert rate_i == rate and inst.shape == voc.shape == mix.shape
    assert np.abs(inst + voc - mix).max() < 1e-5
    assert leftovers(tmp_path / "out") == []


@pytest.mark.parametrize("fmt,sample_type,subtype", [("wav", "pcm16", "PCM_16"), ("wav", "pcm24", "PCM_24"),
                                                     ("flac", "pcm16", "PCM_16"), ("mp3", "float", None),
                                                     ("ogg", "float", "VORBIS")])
def test_output_formats(tiny_model_dir, tmp_path, fmt, sample_type, subtype):
    src = tmp_path / "song.wav"
    sf.write(src, make_music(2.0, rate=48000), 48000)
    proc = separate(tiny_model_dir, str(src), "-o", str(tmp_path), "--format", fmt, "--sample-type", sample_type,
                    "--stems", "vocals")
    assert proc.returncode == 0, proc.stderr
    out = Path(proc.stdout.strip())
    assert out.name == f"song_Vocals.{fmt}"
    info = sf.info(out)
    assert info.samplerate == 48000 and info.channels == 2
    if subtype:
        assert info.subtype == subtype
    if fmt in ("wav", "flac"):
        assert info.frames == 96000
    else:  # lossy codecs pad to whole frames
        assert abs(info.frames - 96000) < 4096
    assert not (tmp_path / "song_Instruments.wav").exists()


def test_folders_are_searched_and_one_bad_input_does_not_stop_the_others(tiny_model_dir, tmp_path):
    music = tmp_path / "in" / "sub dir"
    music.mkdir(parents=True)
    sf.write(music / "Ünïcode song.flac", make_music(1.0), 44100)
    (tmp_path / "in" / "notes.mp3").write_text("this is not audio")
    sf.write(tmp_path / "in" / "mono 8k.wav", make_music(1.0, rate=8000, channels=1), 8000)
    out = tmp_path / "out"
    proc = separate(tiny_model_dir, str(tmp_path / "in"), str(tmp_path / "missing.wav"), "-o", str(out))
    assert_no_traceback(proc)
    assert proc.returncode == 1
    errors = error_lines(proc)
    assert len(errors) == 2
    assert any("missing.wav" in e for e in errors) and any("notes.mp3" in e for e in errors)
    written = sorted(p.name for p in out.iterdir())
    assert written == ["mono 8k_Instruments.wav", "mono 8k_Vocals.wav",
                       "Ünïcode song_Instruments.wav", "Ünïcode song_Vocals.wav"]
    mono, rate = sf.read(out / "mono 8k_Vocals.wav")
    assert rate == 8000 and mono.shape == (8000,)


def test_bad_inputs_give_one_line_errors(tiny_model_dir, tmp_path):
    (tmp_path / "empty dir").mkdir()
    sf.write(tmp_path / "zero.wav", np.zeros((0, 2), np.float32), 44100)
    cases = {
        str(tmp_path / "nope.flac"): "nope.flac",
        str(tmp_path / "empty dir"): "empty dir",
        str(tmp_path / "zero.wav"): "zero.wav",
    }
    for path, name in cases.items():
        proc = separate(tiny_model_dir, path, "-o", str(tmp_path / "out"))
        assert_no_traceback(proc)
        assert proc.returncode == 1, (path, proc.stderr)
        errors = error_lines(proc)
        assert len(errors) == 1 and name in errors[0], proc.stderr
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_truncated_files_do_not_crash(tiny_model_dir, tmp_path):
    sf.write(tmp_path / "full.wav", make_music(2.0), 44100, subtype="PCM_16")
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    sf.write(tmp_path / "full.mp3", make_music(2.0), 44100)
    data = (tmp_path / "full.mp3").read_bytes()
    (tmp_path / "cut.mp3").write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    # Both in one run (one bad input does not stop the other), with notes.
    proc = run("separate", "-m", str(tiny_model_dir), "--allow-untrained", str(tmp_path / "cut.wav"),
               str(tmp_path / "cut.mp3"), "-o", str(out))
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    written = [Path(p) for p in proc.stdout.split("\n") if p]
    for name in ("cut.wav", "cut.mp3"):
        outs = [p for p in written if p.name.startswith(name.replace(".", "_"))]
        # Either a clear error, or the decodable part separated with outputs of that length and a note.
        if outs:
            assert len(outs) == 2 and all(0 < sf.info(p).frames < 88200 for p in outs)
            assert any(name in line and "truncated" in line for line in proc.stderr.splitlines()), proc.stderr
        else:
            assert proc.returncode == 1 and any(name in line for line in error_lines(proc)), proc.stderr
    assert leftovers(out) == [] if out.exists() else True


def test_edge_signals(tiny_model_dir, tmp_path):
    sf.write(tmp_path / "ten ms.wav", make_music(0.01), 44100)
    sf.write(tmp_path / "silence.wav", np.zeros((44100, 2), np.float32), 44100)
    sf.write(tmp_path / "hi-res.wav", make_music(1.0, rate=96000), 96000, subtype="FLOAT")
    sf.write(tmp_path / "surround.wav", make_music(1.0, channels=6), 44100)
    proc = separate(tiny_model_dir, str(tmp_path), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    assert sf.info(out / "ten ms_Vocals.wav").frames == 441
    silence, _ = sf.read(out / "silence_Vocals.wav")
    assert np.isfinite(silence).all() and np.abs(silence).max() == 0
    hires = sf.info(out / "hi-res_Instruments.wav")
    assert hires.samplerate == 96000 and hires.frames == 96000
    surround = sf.info(out / "surround_Vocals.wav")
    assert surround.channels == 2 and surround.frames == 44100


def test_surround_downmix_is_reported(tiny_model_dir, tmp_path):
    sf.write(tmp_path / "surround.wav", make_music(0.5, channels=6), 44100)
    proc = run("separate", "-m", str(tiny_model_dir), "--allow-untrained", str(tmp_path / "surround.wav"),
               "-o", str(tmp_path))
    assert proc.returncode == 0
    assert "downmixed" in proc.stderr


def test_unwritable_output_folder(tiny_model_dir, tmp_path):
    src = tmp_path / "song.wav"
    sf.write(src, make_music(0.5), 44100)
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    proc = separate(tiny_model_dir, str(src), "-o", str(blocker / "out"))
    assert_no_traceback(proc)
    assert proc.returncode == 1 and error_lines(proc)


def test_skip_existing_and_overwrite(tiny_model_dir, tmp_path):
    src = tmp_path / "song.wav"
    sf.write(src, make_music(0.5), 44100)
    assert separate(tiny_model_dir, str(src), "-o", str(tmp_path)).returncode == 0
    before = (tmp_path / "song_Vocals.wav").stat().st_mtime_ns
    proc = separate(tiny_model_dir, str(src), "-o", str(tmp_path), "--skip-existing")
    assert proc.returncode == 0 and proc.stdout == ""
    assert (tmp_path / "song_Vocals.wav").stat().st_mtime_ns == before
    proc = separate(tiny_model_dir, str(src), "-o", str(tmp_path), "--overwrite")
    assert proc.stdout.split() == [str(tmp_path / "song_Instruments.wav"), str(tmp_path / "song_Vocals.wav")]


def test_json_progress(tiny_model_dir, tmp_path):
    src = tmp_path / "song.wav"
    sf.write(src, make_music(3.0), 44100)  # three windows of the tiny model: progress in steps
    proc = run("separate", "-m", str(tiny_model_dir), "--allow-untrained", str(src), "-o", str(tmp_path),
               "--progress", "json")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert events[0]["stage"] == "start" and events[-1]["stage"] == "done"
    done = [e["done"] for e in events if e["stage"] == "separate"]
    assert len(done) >= 2 and done == sorted(done) and abs(done[-1] - 3.0) < 0.01
    assert all(set(e) == {"file", "stage", "done", "total"} for e in events)


def test_output_images(tiny_model_dir, tmp_path):
    src = tmp_path / "song.wav"
    sf.write(src, make_music(3.0), 44100)
    proc = separate(tiny_model_dir, str(src), "-o", str(tmp_path), "--output-image")
    assert proc.returncode == 0, proc.stderr
    from vocal_remover.images import MARGINS, PLOT_HEIGHT, PLOT_WIDTH

    for name in ("Input", "Instruments", "Vocals"):
        png = tmp_path / f"song_{name}.png"
        img, text = parse_png(png)
        assert text == {"Title": f"song {name}"}
        assert img.shape == (MARGINS["top"] + PLOT_HEIGHT + MARGINS["bottom"],
                             MARGINS["left"] + PLOT_WIDTH + MARGINS["right"], 3)
    assert [Path(p).name for p in proc.stdout.split()] == [
        "song_Instruments.wav", "song_Vocals.wav", "song_Input.png", "song_Instruments.png", "song_Vocals.png"]


def test_model_problems_are_clear(tiny_model_dir, tmp_path):
    src = tmp_path / "song.wav"
    sf.write(src, make_music(0.5), 44100)
    proc = run("separate", str(src), "-o", str(tmp_path / "default"))  # the packaged default model
    assert_no_traceback(proc)
    assert proc.returncode == 0 and (tmp_path / "default" / "song_Vocals.wav").exists(), proc.stderr
    proc = run("separate", "-m", str(tiny_model_dir), str(src), "-o", str(tmp_path))
    assert proc.returncode == 1 and "untrained" in error_lines(proc)[0] and "--allow-untrained" in proc.stderr
    proc = run("separate", "-m", str(tmp_path / "no-model"), str(src), "-o", str(tmp_path))
    assert proc.returncode == 1 and len(error_lines(proc)) == 1
    assert not (tmp_path / "song_Vocals.wav").exists()


def test_usage_errors_exit_2(tiny_model_dir, tmp_path):
    src = tmp_path / "song.wav"
    sf.write(src, make_music(0.5), 44100)
    assert separate(tiny_model_dir, str(src), "--format", "aiff").returncode == 2
    proc = separate(tiny_model_dir, str(src), "--window", "100000")
    assert proc.returncode == 2 and "window" in error_lines(proc)[0]
    proc = separate(tiny_model_dir, str(src), "--device", "tpu")
    assert proc.returncode == 2 and "device" in error_lines(proc)[0]


def test_models_init_and_list(tmp_path):
    proc = run("models", "init", "tiny", "-o", str(tmp_path / "m"))
    assert proc.returncode == 0 and Path(proc.stdout.strip()) == tmp_path / "m"
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    assert meta["trained"] is False and meta["model"]["depth"] == 3
    proc = run("models", "init", "tiny", "-o", str(tmp_path / "m"))
    assert proc.returncode == 1 and "already exists" in error_lines(proc)[0]
    proc = run("models", "init", "huge", "-o", str(tmp_path / "x"))
    assert proc.returncode == 2 and "huge" in error_lines(proc)[0]


def test_separate_with_a_model_from_the_hub(hub, tiny_model_dir, tmp_path):
    """A real model folder served by the loopback Hub: download at a pinned commit, then offline reuse."""
    files = {p.name: p.read_bytes() for p in tiny_model_dir.iterdir()}
    first = hub.commit("acme/tiny", files)
    hub.commit("acme/tiny", {"README.md": "# moved on\n"})
    src = tmp_path / "song.wav"
    sf.write(src, make_music(1.0), 44100)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "vocal_remover", "separate", "-q", "--allow-untrained", str(src),
            "-o", str(tmp_path / "out")]
    proc = subprocess.run([*args, "-m", f"acme/tiny@{first}"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.split("\n")) == 3
    hub.reset_requests()
    proc = subprocess.run([*args, "-m", f"acme/tiny@{first}", "--offline", "--overwrite"], capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert hub.count() == 0
    proc = subprocess.run([*args, "-m", "acme/missing", "--offline"], capture_output=True, text=True, env=env)
    assert proc.returncode == 1 and "not in the local cache" in error_lines(proc)[0]
    proc = subprocess.run([sys.executable, "-m", "vocal_remover", "models", "download", "acme/tiny"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip(), "config.json").is_file()


def test_filename_template_and_per_track_folders(tiny_model_dir, tmp_path):
    sf.write(tmp_path / "song.wav", make_music(1.0), 44100)
    sf.write(tmp_path / "other.flac", make_music(1.5, seed=1), 44100)
    out = tmp_path / "out"
    proc = separate(tiny_model_dir, str(tmp_path / "song.wav"), str(tmp_path / "other.flac"), "-o", str(out),
                    "--filename", "{track}/{stem}.{trackext}.{ext}")
    assert proc.returncode == 0, proc.stderr
    written = [Path(p).relative_to(out).as_posix() for p in proc.stdout.split("\n") if p]
    assert written == ["song/Instruments.wav.wav", "song/Vocals.wav.wav",
                       "other/Instruments.flac.wav", "other/Vocals.flac.wav"]
    assert sf.info(out / "other" / "Vocals.flac.wav").frames == 66150
    # Templates that would overwrite or escape are usage errors, before anything is written.
    for template, why in [("{stem}.{ext}", "put {track} in the template"), ("{track}_{name}.{ext}", "unknown field"),
                          ("{track}.{ext}", "{stem}"), ("../{track}_{stem}.{ext}", "relative")]:
        proc = separate(tiny_model_dir, str(tmp_path / "song.wav"), str(tmp_path / "other.flac"),
                        "-o", str(tmp_path / "bad"), "--filename", template)
        assert_no_traceback(proc)
        assert proc.returncode == 2 and len(error_lines(proc)) == 1 and why in error_lines(proc)[0], proc.stderr
        assert not (tmp_path / "bad").exists()


def test_vocals_gain_writes_a_remix(tiny_model_dir, real_mix, tmp_path):
    proc = separate(tiny_model_dir, str(real_mix), "-o", str(tmp_path), "--vocals-gain", "-12",
                    "--stems", "instrumental")
    assert proc.returncode == 0, proc.stderr
    assert [Path(p).name for p in proc.stdout.split("\n") if p] == ["real mix_Instruments.wav", "real mix_Remix.wav"]
    mix, rate = sf.read(real_mix, dtype="float32")
    inst, r1 = sf.read(tmp_path / "real mix_Instruments.wav", dtype="float32")
    remix, r2 = sf.read(tmp_path / "real mix_Remix.wav", dtype="float32")
    assert r1 == r2 == rate and remix.shape == mix.shape
    gain = 10 ** (-12 / 20)
    assert np.abs(remix - (inst + gain * (mix - inst))).max() < 1e-5  # vocals = mix - instrumental
    proc = separate(tiny_model_dir, str(real_mix), "-o", str(tmp_path / "x"), "--vocals-gain", "60")
    assert proc.returncode == 2 and "--vocals-gain 60" in error_lines(proc)[0]
    assert not (tmp_path / "x").exists()


def test_mp3_from_a_96k_input_and_bitrates(tiny_model_dir, tmp_path):
    src = tmp_path / "hires.wav"
    sf.write(src, make_music(4.0, rate=96000), 96000, subtype="FLOAT")
    sizes = {}
    for kbps in ("128", "320"):
        out = tmp_path / kbps
        proc = run("separate", "-m", str(tiny_model_dir), "--allow-untrained", str(src), "-o", str(out),
                   "-f", "mp3", "--mp3-bitrate", kbps, "--stems", "vocals")
        assert proc.returncode == 0, proc.stderr
        assert "resampled from 96000 to 48000 Hz" in proc.stderr
        info = sf.info(out / "hires_Vocals.mp3")
        assert info.samplerate == 48000 and abs(info.frames - 4 * 48000) < 3000
        sizes[kbps] = (out / "hires_Vocals.mp3").stat().st_size
    for kbps, size in sizes.items():  # constant bitrate: size = kbps x duration
        assert abs(size * 8 / 4.0 / 1000 - int(kbps)) < 0.05 * int(kbps), (kbps, size)
    proc = separate(tiny_model_dir, str(src), "-o", str(tmp_path / "y"), "-f", "mp3", "--mp3-bitrate", "100")
    assert proc.returncode == 2 and "--mp3-bitrate 100" in error_lines(proc)[0]


def test_engines_and_shifts(tiny_model_dir, real_mix, tmp_path):
    outs = {}
    for engine in ("torch", "onnx"):
        proc = separate(tiny_model_dir, str(real_mix), "-o", str(tmp_path / engine), "--engine", engine,
                        "--precision", "fp32", "--stems", "vocals")
        assert proc.returncode == 0, proc.stderr
        outs[engine], _ = sf.read(Path(proc.stdout.strip()), dtype="float32")
    assert np.abs(outs["torch"] - outs["onnx"]).max() < 1e-4
    proc = separate(tiny_model_dir, str(real_mix), "-o", str(tmp_path / "shifted"), "--shifts", "2",
                    "--stems", "vocals", "--engine", "onnx")
    assert proc.returncode == 0, proc.stderr
    shifted, _ = sf.read(Path(proc.stdout.strip()), dtype="float32")
    assert shifted.shape == outs["onnx"].shape and not np.array_equal(shifted, outs["onnx"])
    proc = separate(tiny_model_dir, str(real_mix), "--engine", "onnx", "--precision", "bf16")
    assert proc.returncode == 2 and "fp32" in error_lines(proc)[0]


# ------------------------------------------------------------------------------ first-hour issues (issue 9)


def test_option_validation_errors_are_one_line(tiny_model_dir, tmp_path):
    src = tmp_path / "song.wav"
    sf.write(src, make_music(0.5), 44100)
    cases = [(["separate", str(src), "--overlap", "1.5"], "--overlap 1.5"),
             (["separate", str(src), "--window=3"], "--window 3"),
             (["separate", str(src), "-b", "0"], "--batch-size 0"),
             (["separate", str(src), "--format", "aiff"], "--format aiff"),
             (["separate", str(src), "--no-such-option"], "--no-such-option"),
             (["export", str(tiny_model_dir), "-o", str(tmp_path / "x"), "--format", "foo"], "--format foo"),
             (["cache", str(tmp_path)], "--output")]
    for args, what in cases:
        proc = run(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("Error: "), (args, proc.stderr)
        assert what in proc.stderr, (args, proc.stderr)
    assert not (tmp_path / "x").exists() and not (tmp_path / "separated").exists()


def test_models_list_is_a_result_on_stdout():
    proc = run("models", "list")
    assert proc.returncode == 0 and proc.stderr == ""
    assert "default" in proc.stdout and "org/name[@revision]" in proc.stdout


def _commands():
    from vocal_remover.cli import app
    from typer.main import get_command

    root = get_command(app)
    for name, command in root.commands.items():
        if hasattr(command, "commands"):
            for sub, leaf in command.commands.items():
                yield [name, sub], leaf
        else:
            yield [name], command


def test_help_is_complete_and_readable_at_80_columns():
    env = {**ENV, "COLUMNS": "80"}
    for path, command in _commands():
        undescribed = [p.name for p in command.params if not (p.help or "").strip()]
        assert not undescribed, (path, undescribed)
        proc = subprocess.run([sys.executable, "-m", "vocal_remover", *path, "--help"], capture_output=True,
                              text=True, env=env, timeout=HANG)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert all(len(line) <= 80 for line in lines), (path, [ln for ln in lines if len(ln) > 80])
        assert "…" not in proc.stdout and "{" not in lines[0] and "<list" not in proc.stdout, (path, proc.stdout)
        if path == ["separate"]:
            assert lines[0].endswith("separate [OPTIONS] INPUT...")
            assert "<track>_Instruments.<ext>" in proc.stdout and "org/name[@revision]" in proc.stdout
    for group in ([], ["models"]):  # command summaries are not cut short with "..."
        proc = subprocess.run([sys.executable, "-m", "vocal_remover", *group, "--help"], capture_output=True,
                              text=True, env=env, timeout=HANG)
        assert proc.returncode == 0 and not [ln for ln in proc.stdout.splitlines()[1:] if ln.endswith("...")], \
            proc.stdout


def _blocking(tmp_path: Path, *modules: str) -> dict:
    """An environment in which `import MODULE` fails as if the package were not installed."""
    shim = tmp_path / "not-installed"
    shim.mkdir(exist_ok=True)
    for module in modules:
        (shim / f"{module}.py").write_text(f"raise ImportError('No module named {module}')\n")
    return {**ENV, "PYTHONPATH": f"{shim}{os.pathsep}{REPO}"}


def test_install_hints_keep_their_square_brackets(tiny_model_dir, real_track, tmp_path):
    env = _blocking(tmp_path, "av", "museval", "onnx")
    (tmp_path / "song.m4a").write_bytes(b"\0" * 4096)
    cases = [
        (["separate", "-m", str(tiny_model_dir), "--allow-untrained", str(tmp_path / "song.m4a"), "-o",
          str(tmp_path / "out")], "pip install 'vocal-remover[m4a]'"),
        (["evaluate", str(real_track), "-m", str(tiny_model_dir), "--allow-untrained", "--bss", "on"],
         "pip install 'vocal-remover[eval]'"),
        (["export", str(tiny_model_dir), "-o", str(tmp_path / "x.onnx")], "pip install 'vocal-remover[export]'"),
        (["separate", str(tmp_path / "[bold]no[/bold].wav")], "[bold]no[/bold].wav"),
    ]
    for args, literal in cases:
        proc = subprocess.run([sys.executable, "-m", "vocal_remover", *args], capture_output=True, text=True,
                              env=env, timeout=HANG)
        assert proc.returncode in (1, 2), (args, proc.stderr)
        assert literal in error_lines(proc)[0], (args, proc.stderr)


def test_written_paths_and_the_progress_bar_share_a_terminal(tiny_model_dir, tmp_path):
    """On a terminal the live bars (stderr) redraw in place: the paths are printed through them, each on
    a line of its own, never glued to a bar line or overwritten."""
    import fcntl
    import pty
    import re
    import struct
    import termios

    for name in ("one", "two"):
        sf.write(tmp_path / f"{name}.wav", make_music(3.0, seed=len(name)), 44100)
    out = tmp_path / "out"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "vocal_remover", "separate", "-m", str(tiny_model_dir),
                             "--allow-untrained", "--progress", "bar", str(tmp_path / "one.wav"),
                             str(tmp_path / "two.wav"), "-o", str(out)],
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            env={**ENV, "TERM": "xterm", "COLUMNS": "100"})
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=HANG) == 0
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))
    segments = [s.strip() for s in re.split(r"[\r\n]+", screen)]
    for name in ("one", "two"):
        for stem in ("Instruments", "Vocals"):
            assert str(out / f"{name}_{stem}.wav") in segments, screen


@pytest.fixture(scope="module")
def long_song(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("long") / "long.wav"
    sf.write(path, make_music(240.0), 44100)
    return path


@pytest.mark.parametrize("sig,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_leave_nothing_half_written(tiny_model_dir, long_song, tmp_path, sig, status):
    out = tmp_path / "out"
    # fp32 and --tta keep the 4-minute separation slow enough to be interrupted half-way on any CPU
    proc = subprocess.Popen([sys.executable, "-m", "vocal_remover", "separate", "-m", str(tiny_model_dir),
                             "--allow-untrained", "--precision", "fp32", "--engine", "torch", "--tta",
                             "--progress", "json",
                             str(long_song), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            # as from a terminal: a runner that started us in the background (bash `&`)
                            # passes SIGINT down ignored, and Python then never raises KeyboardInterrupt
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # Wait until separation has started writing, then interrupt.
    for line in proc.stderr:
        if '"separate"' in line:
            break
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=HANG)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    assert not out.exists() or list(out.iterdir()) == []


def test_stale_temporary_files_of_the_same_outputs_are_removed(tiny_model_dir, tmp_path):
    """What a killed run left (`kill -9`: no cleanup possible) goes on the next run of the same outputs;
    a temporary file a live writer still holds, and those of other outputs, stay."""
    import fcntl

    src = tmp_path / "song.wav"
    sf.write(src, make_music(0.5), 44100)
    out = tmp_path / "out"
    out.mkdir()
    stale = [out / ".song_Vocals.wav.partial-deadbeef", out / ".song_Instruments.wav.partial-0000beef"]
    for path in stale:
        path.write_bytes(b"RIFF" + bytes(1000))
    other = out / ".other_Vocals.wav.partial-deadbeef"
    other.write_bytes(b"x")
    live = out / ".song_Vocals.wav.partial-1ive1ive"
    fd = os.open(live, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        proc = separate(tiny_model_dir, str(src), "-o", str(out))
    finally:
        os.close(fd)
    assert proc.returncode == 0, proc.stderr
    assert leftovers(out) == sorted([live.name, other.name])
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["song_Instruments.wav",
                                                                                   "song_Vocals.wav"]


def test_separating_a_folder_again_leaves_out_its_own_outputs(tiny_model_dir, tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    sf.write(music / "song.wav", make_music(0.5), 44100)
    expected = ["separated/song_Instruments.wav", "separated/song_Vocals.wav"]
    for attempt in range(2):  # `separate .` twice: the second run must not see separated/ nor its files
        proc = run("separate", "-m", str(tiny_model_dir), "--allow-untrained", ".", cwd=music)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == expected
        assert ("left out 2 file(s)" in proc.stderr) == (attempt == 1), proc.stderr
    # Outputs written next to the inputs are recognised by name.
    for attempt in range(2):
        proc = run("separate", "-m", str(tiny_model_dir), "--allow-untrained", ".", "-o", ".", cwd=music)
        assert proc.returncode == 0 and proc.stdout.split() == ["song_Instruments.wav", "song_Vocals.wav"]
    assert sorted(p.name for p in music.iterdir()) == ["separated", "song.wav", "song_Instruments.wav",
                                                       "song_Vocals.wav"]
    # Named explicitly, an output is separated like any file.
    proc = separate(tiny_model_dir, str(music / "song_Vocals.wav"), "-o", str(tmp_path / "again"))
    assert proc.returncode == 0 and proc.stdout.split()[1].endswith("song_Vocals_Vocals.wav")


def test_sample_type_for_lossy_formats_and_refused_rates_leave_nothing(tiny_model_dir, tmp_path):
    src = tmp_path / "song.wav"
    sf.write(src, make_music(0.5), 44100)
    proc = run("separate", "-m", str(tiny_model_dir), "--allow-untrained", str(src), "-o", str(tmp_path / "mp3"),
               "-f", "mp3", "--sample-type", "pcm16")
    assert proc.returncode == 0, proc.stderr
    assert any(line.startswith("Note: --sample-type pcm16 does not apply to mp3") for line in
               proc.stderr.splitlines()), proc.stderr
    hires = tmp_path / "hires.wav"  # (MP3 from 96 kHz is now written at 48 kHz: test_mp3_from_a_96k_input...)
    sf.write(hires, make_music(0.1, rate=700_000), 700_000)
    proc = separate(tiny_model_dir, str(hires), "-o", str(tmp_path / "new" / "folder"), "-f", "flac")
    assert proc.returncode == 1 and "FLAC does not support 700000 Hz" in error_lines(proc)[0]
    assert not (tmp_path / "new").exists()
