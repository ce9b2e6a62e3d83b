"""The one crash-safe write helper: complete under the final name, or not there at all."""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from vocal_remover.atomic import atomic_dir, atomic_file, atomic_path, sha256_file, write_json_atomic


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_atomic_file_writes_and_replaces(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_file(target) as f:
        f.write(b"new contents")
        assert target.read_bytes() == b"old"  # not visible before the end
    assert target.read_bytes() == b"new contents"
    assert _names(tmp_path) == ["out.bin"]
    assert sha256_file(target) == hashlib.sha256(b"new contents").hexdigest()


def test_atomic_file_leaves_old_file_on_error(tmp_path):
    target = tmp_path / "out.json"
    write_json_atomic(target, {"a": 1})
    with pytest.raises(KeyboardInterrupt):
        with atomic_file(target, "w", encoding="utf-8") as f:
            f.write("{half")
            raise KeyboardInterrupt
    assert target.read_text() == '{\n "a": 1\n}\n'
    assert _names(tmp_path) == ["out.json"]


def test_atomic_path_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "w.pt") as tmp:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)  # a library that creates private files
            os.write(fd, b"x" * 10)
            os.close(fd)
    finally:
        os.umask(old)
    assert (tmp_path / "w.pt").stat().st_mode & 0o777 == 0o644


def test_atomic_dir_overwrite_and_refusal(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1")
    with pytest.raises(FileExistsError):
        with atomic_dir(target):
            pass
    with pytest.raises(RuntimeError):
        with atomic_dir(target, overwrite=True) as tmp:
            (tmp / "b.txt").write_text("2")
            raise RuntimeError("writer failed")
    assert _names(target) == ["a.txt"]
    with atomic_dir(target, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("2")
    assert _names(target) == ["b.txt"]
    assert _names(tmp_path) == ["model"]


def test_kill_9_mid_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"complete old file")
    script = textwrap.dedent(f"""
        import os, signal, sys
        from vocal_remover.atomic import atomic_file
        with atomic_file({str(target)!r}) as f:
            f.write(b"x" * 1_000_000)
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == b"complete old file"
    leftovers = [n for n in _names(tmp_path) if n != "data.bin"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".data.bin.partial-")
