"""Plain helpers the test files share (fixtures live in conftest.py): paths, generated music, the
environment of `vocal-remover` subprocesses, and checks of their results."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
MUSDB_VALID = DATA / "musdb7" / "valid"
# Timeout of subprocesses: a bound only a hang reaches (never a timing assertion: a 2-core machine shared
# with other jobs can run a test many times slower than a quiet one).
HANG = 1800
# The environment of `python -m vocal_remover` subprocesses: this checkout's package.
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def musdb_tracks(split: str = "valid") -> list[Path]:
    root = DATA / "musdb7" / split
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def make_music(seconds: float, rate: int = 44100, channels: int = 2, seed: int = 0) -> np.ndarray:
    """A deterministic music-like signal: a few decaying tones plus a little noise, in (-1, 1)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    out = np.zeros((n, channels), dtype=np.float64)
    for _ in range(6):
        freq = rng.uniform(80, min(4000, rate / 3))
        onset = rng.uniform(0, 0.5)
        env = np.exp(-3 * ((t - onset) % 1.0))
        for c in range(channels):
            out[:, c] += 0.1 * env * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.28))
    out += 0.01 * rng.standard_normal(out.shape)
    return out.astype(np.float32)


def assert_no_traceback(proc):
    assert "Traceback" not in proc.stderr, proc.stderr


def leftovers(folder: Path) -> list[str]:
    """Hidden files in `folder`: what an interrupted write would leave behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def parse_png(path: Path) -> tuple[np.ndarray, dict[str, str]]:
    """Decode an 8-bit RGB, non-interlaced PNG with filter type 0 rows; check every CRC."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    w, h, depth, ctype, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, ctype, comp, filt, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(raw) == h * (1 + 3 * w)
    rows = np.frombuffer(raw, np.uint8).reshape(h, 1 + 3 * w)
    assert np.all(rows[:, 0] == 0)
    text = {}
    for kind, body in chunks:
        if kind == b"iTXt":
            key, rest = body.split(b"\x00", 1)
            assert rest[:4] == b"\x00\x00\x00\x00"  # uncompressed, no language/translated key
            text[key.decode("latin-1")] = rest[4:].decode("utf-8")
    return rows[:, 1:].reshape(h, w, 3), text
