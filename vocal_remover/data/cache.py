"""The dataset cache: decode, resample and align once; read random crops cheaply forever after.

Layout of a cache folder::

    CACHE/manifest.json        the entry point; exists only when the cache is complete
    CACHE/shards/<id>.npy      one per track: int16 (stems, 2, samples) at 44.1 kHz (NumPy .npy, memory-mapped)
    CACHE/shards/<id>.json     the track's record (the resume journal), written after its shard
    CACHE/.lock                held while a build runs (a second build into the same folder is refused)

Why audio and not spectrograms: see the README ("Datasets and the cache") and `benchmarks/cache.py`.
int16 PCM with one scale per stem (peak / 32767, so nothing clips, not even summed stems over full scale)
is 4.0x smaller than the seed's complex64 STFT patches and the STFT costs milliseconds on the training
device.

Crash safety (kill -9 at any instant): a shard is written under a hidden temporary name, flushed, fsynced,
hashed and renamed into place; its record (size + sha256 + source fingerprints) is written atomically
after it; `manifest.json` is deleted before a build changes anything and rewritten (atomically) only at
the end. So a reader never trusts an incomplete shard, and a re-run redoes only tracks without a valid
record. Every open checks each shard's size against the manifest; `verify=True` also checks the sha256.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import numpy as np

from vocal_remover import __version__
from vocal_remover.audio import MODEL_RATE, Resampler, open_audio, to_stereo
from vocal_remover.data.layouts import ROLES, Discovery, Problem, TrackSpec, discover
from vocal_remover.errors import AudioError, ConfigError, DataError

CACHE_FORMAT = "vocal-remover-audio-cache"
CACHE_VERSION = 1
MANIFEST = "manifest.json"
SHARDS = "shards"

# Everything that changes what a shard contains. A record made with other parameters is rebuilt.
PARAMS: dict[str, Any] = {
    "sample_rate": MODEL_RATE,
    "channels": 2,
    "dtype": "int16",
    "shard_shape": "(stems, channels, samples)",  # planar: a crop of one stem is two contiguous runs
    "quantization": "per-stem scale = peak / 32767, round to nearest",
    "resampler": "soxr HQ (streaming)",
    "downmix": "mono duplicated; >2 channels folded to stereo (ITU-R BS.775 gains)",
    # Vocal activity: a block is active when its RMS (both channels) is above the threshold. Silences
    # longer than min_gap_s are dropped from `pools` vocal files and excluded from voxaug crops of
    # `stems` vocals; pad_s of context is kept around active audio.
    "silence": {"block": 1024, "threshold_db": -50.0, "min_gap_s": 1.0, "pad_s": 0.1},
    # `pairs`: offset of the instrumental against the mixture by cross-correlation of a mono excerpt.
    "alignment": {"excerpt_s": 30.0, "max_offset_s": 2.0, "min_correlation": 0.3},
}
_READ_BLOCK = 1 << 16
_CHUNK = 1 << 18  # samples per processing chunk (bounded memory for any track length)


def params_hash(params: dict[str, Any] | None = None) -> str:
    blob = json.dumps({"version": CACHE_VERSION, "params": params or PARAMS}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- events and summary


@dataclass(frozen=True)
class CacheEvent:
    """Progress of `build_cache`, for the CLI to render.

    kind: "plan" (total known; `detail` says how many are up to date), "track" (one track finished:
    built, or `reused` when up to date), "skip" (a file or track not cached; `detail` is why),
    "note" (something the user should know, e.g. an alignment), "done".
    """

    kind: str
    name: str = ""
    done: int = 0
    total: int = 0
    seconds: float = 0.0
    detail: str = ""
    reused: bool = False
    error: bool = False  # for "skip": an input failed (unreadable, mismatched), not just unused


@dataclass
class CacheSummary:
    path: Path
    tracks: int = 0  # in the cache now
    built: int = 0
    reused: int = 0
    seconds: float = 0.0  # audio in the cache
    bytes: int = 0  # shard bytes
    skipped: list[Problem] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    layouts: list[tuple[str, str]] = field(default_factory=list)
    roles: dict[str, int] = field(default_factory=dict)  # tracks per layout

    @property
    def hours(self) -> float:
        return self.seconds / 3600.0

    @property
    def errors(self) -> int:
        return sum(1 for p in self.skipped if p.kind == "error")


ProgressCallback = Callable[[CacheEvent], None]


# --------------------------------------------------------------------------- small helpers


def sha256_file(path: str | Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.parent / f".{path.name}.partial-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # ordinary permissions (umask applies)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _build_lock(out_dir: Path, wait: bool = False) -> Iterator[None]:
    """An exclusive lock on the cache folder (released by the kernel even after kill -9). `wait` blocks
    until another build finishes instead of refusing (training ranks and parallel jobs share caches)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no locking
        yield
        return
    fd = os.open(out_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DataError(str(out_dir), "another `vocal-remover cache` is writing to this folder") from None
        yield
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- signal helpers


class _Stream:
    """The sum of decoded inputs of one role (float32 (n, 2) memmaps), read as `get(a, b)` with zero
    padding outside and an `offset` (position p of this stream is sample p + offset of the inputs)."""

    def __init__(self, parts: list[np.ndarray], offset: int = 0):
        self.parts = parts
        self.offset = offset
        self.length = max((len(p) for p in parts), default=0)

    def get(self, a: int, b: int) -> np.ndarray:
        out = np.zeros((b - a, 2), np.float32)
        a2, b2 = a + self.offset, b + self.offset
        for p in self.parts:
            lo, hi = max(a2, 0), min(b2, len(p))
            if hi > lo:
                out[lo - a2:hi - a2] += p[lo:hi]
        return out


def estimate_offset(mix: np.ndarray, inst: np.ndarray, max_lag: int) -> tuple[int, float]:
    """Offset d with mix[t] ~ inst[t + d] by FFT cross-correlation, and the normalised correlation there.

    mix: (L,) mono excerpt; inst: (L + 2 * max_lag,) mono excerpt starting max_lag samples earlier
    (zero-padded where the file has no audio). Returns (d in [-max_lag, max_lag], coefficient in [-1, 1]);
    the coefficient is 0 for a silent excerpt.
    """
    mix = np.asarray(mix, np.float64)
    inst = np.asarray(inst, np.float64)
    L = len(mix)
    if L == 0 or len(inst) != L + 2 * max_lag:
        raise ValueError("inst must be the mix excerpt's length + 2 * max_lag")
    n = 1 << int(np.ceil(np.log2(len(inst) + L)))
    corr = np.fft.irfft(np.fft.rfft(inst, n) * np.conj(np.fft.rfft(mix, n)), n)[: 2 * max_lag + 1]
    csum = np.concatenate(([0.0], np.cumsum(inst * inst)))
    energy = csum[L:L + 2 * max_lag + 1] - csum[: 2 * max_lag + 1]  # inst energy under each lag
    mix_energy = float(np.dot(mix, mix))
    if mix_energy <= 1e-12 or energy.max() <= 1e-12:
        return 0, 0.0
    valid = energy > 1e-3 * energy.max()
    coef = np.where(valid, corr / np.sqrt(mix_energy * np.maximum(energy, 1e-30)), -np.inf)
    k = int(np.argmax(coef))
    return k - max_lag, float(coef[k])


def activity_intervals(rms: np.ndarray, n: int, block: int, threshold_db: float, min_gap: int,
                       pad: int) -> list[list[int]]:
    """[start, end) sample intervals of activity from per-block RMS values: blocks above the threshold,
    widened by `pad` blocks, with gaps shorter than `min_gap` blocks filled."""
    active = rms > 10.0 ** (threshold_db / 20.0)
    if not active.any():
        return []
    if pad > 0:
        active = np.convolve(active.astype(np.int32), np.ones(2 * pad + 1, np.int32), mode="same") > 0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], active.astype(np.int8), [0]))))
    runs = edges.reshape(-1, 2).tolist()  # [start_block, end_block)
    merged = [runs[0]]
    for s, e in runs[1:]:
        if s - merged[-1][1] < min_gap:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    return [[s * block, min(e * block, n)] for s, e in merged if s * block < n]


def _block_rms(get: Callable[[int, int], np.ndarray], n: int, block: int) -> np.ndarray:
    out = np.zeros((n + block - 1) // block, np.float64)
    step = (_CHUNK // block) * block
    for a in range(0, n, step):
        x = get(a, min(a + step, n)).astype(np.float64)
        nb = (len(x) + block - 1) // block
        pad = np.zeros((nb * block - len(x), 2))
        sq = np.concatenate((x, pad)).reshape(nb, block, 2) ** 2
        out[a // block:a // block + nb] = np.sqrt(sq.mean(axis=(1, 2)))
    return out


# --------------------------------------------------------------------------- building one track


def _decode(path: str, scratch: Path) -> tuple[np.ndarray, dict[str, Any], list[str]]:
    """Decode a file to 44.1 kHz stereo float32 in a scratch file on disk (bounded memory)."""
    raw = scratch / f"{secrets.token_hex(6)}.f32"
    with open_audio(path) as reader, open(raw, "wb") as out:
        info = reader.info
        res = Resampler(info.samplerate, MODEL_RATE, 2)
        n = 0
        for block in reader.blocks(_READ_BLOCK):
            y = res.process(to_stereo(block))
            out.write(np.ascontiguousarray(y, np.float32).tobytes())
            n += len(y)
        y = res.process(np.zeros((0, 2), np.float32), last=True)
        out.write(np.ascontiguousarray(y, np.float32).tobytes())
        n += len(y)
        warnings = list(reader.warnings)
        decoded = reader.frames_read
    if n == 0:
        raise AudioError(path, "contains no audio samples")
    if info.channels > 2:
        warnings.append(f"{info.channels} channels downmixed to stereo")
    meta = {"sample_rate": info.samplerate, "channels": info.channels, "frames": decoded, "format": info.format}
    return np.memmap(raw, np.float32, "r", shape=(n, 2)), meta, warnings


def _source_stat(path: str) -> dict[str, Any]:
    st = os.stat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def build_track(spec: TrackSpec, out_dir: str) -> dict[str, Any]:
    """Decode and write one track's shard and record. Returns {"record": ...} or {"problem": ...}.

    Runs in a worker process; everything it needs travels in the arguments.
    """
    out = Path(out_dir)
    shard_dir = out / SHARDS
    scratch = Path(tempfile.mkdtemp(prefix=".scratch-", dir=shard_dir))
    try:
        return _build_track(spec, out, shard_dir, scratch)
    except AudioError as exc:
        return {"problem": Problem(exc.what, exc.why, "error")}
    except OSError as exc:  # writing the cache failed (disk full, permissions): fatal for the build
        return {"fatal": (str(out), f"cannot write the cache ({exc.strerror or exc})")}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _build_track(spec: TrackSpec, out: Path, shard_dir: Path, scratch: Path) -> dict[str, Any]:
    p = PARAMS
    rate = p["sample_rate"]
    inputs: list[dict[str, Any]] = []
    notes: list[str] = []
    streams: dict[str, _Stream] = {}
    for role, paths in spec.inputs:
        parts = []
        for path in paths:
            try:
                stat = _source_stat(path)
            except OSError as exc:
                raise AudioError(path, f"cannot read ({exc.strerror or exc})") from None
            arr, meta, warnings = _decode(path, scratch)
            try:
                digest = sha256_file(path)
            except OSError as exc:
                raise AudioError(path, f"cannot read ({exc.strerror or exc})") from None
            parts.append(arr)
            notes.extend(f"{Path(path).name}: {w}" for w in warnings)
            inputs.append({"role": role, "path": path, **stat, "sha256": digest, **meta})
        streams[role] = _Stream(parts)
        lengths = [len(a) for a in parts]
        if max(lengths) - min(lengths) > rate // 10:
            notes.append(f"{role} stems differ in length ({min(lengths) / rate:.2f} to {max(lengths) / rate:.2f} s);"
                         " padded with silence")

    n = max(s.length for s in streams.values())
    segments = [(0, n)]  # (start, length) of the inputs' timeline kept in the shard
    offsets: dict[str, int] = {}
    sil = p["silence"]
    block = sil["block"]
    min_gap = round(sil["min_gap_s"] * rate / block)
    pad = round(sil["pad_s"] * rate / block)

    if spec.layout == "pairs":
        al = p["alignment"]
        mix, inst = streams["mixture"], streams["instrumental"]
        max_lag = int(al["max_offset_s"] * rate)
        short = min(mix.length, inst.length)
        L = min(int(al["excerpt_s"] * rate), mix.length)
        a = max(0, min(short, mix.length) // 2 - L // 2)
        m = mix.get(a, a + L).mean(axis=1)
        x = inst.get(a - max_lag, a + L + max_lag).mean(axis=1)
        d, coef = estimate_offset(m, x, max_lag)
        if coef < al["min_correlation"]:
            return {"problem": Problem(
                inputs[0]["path"], f"mixture and instrumental do not match (best correlation {coef:.2f} within "
                f"±{al['max_offset_s']:g} s): not cached", "error")}
        start, end = max(0, -d), min(mix.length, inst.length - d)
        if end <= start:
            return {"problem": Problem(inputs[0]["path"], "no overlap between mixture and instrumental", "error")}
        mix.offset, inst.offset = start, start + d
        n = end - start
        segments = [(0, n)]
        offsets = {"instrumental": d}
        xs = x[max_lag + d:max_lag + d + L]
        gain_db = 20 * np.log10(max(float(np.dot(m, xs)), 1e-20) / max(float(np.dot(xs, xs)), 1e-20))
        if abs(gain_db) > 1.0:  # least squares: vocals are uncorrelated with the instrumental
            notes.append(f"the instrumental's level differs: {-gain_db:+.1f} dB against the mixture (not corrected)")
        if d:
            notes.append(f"instrumental aligned: it was {abs(d)} samples ({abs(d) / rate * 1000:.1f} ms) "
                         f"{'late' if d > 0 else 'early'} against the mixture (correlation {coef:.2f})")
        if abs(mix.length - inst.length) > rate:
            notes.append(f"mixture and instrumental differ in length by {abs(mix.length - inst.length) / rate:.1f} s;"
                         " only their overlap is cached")
    elif spec.layout == "pools" and "vocals" in streams:
        voc = streams["vocals"]
        rms = _block_rms(voc.get, voc.length, block)
        keep = activity_intervals(rms, voc.length, block, sil["threshold_db"], min_gap, pad)
        kept = sum(e - s for s, e in keep)
        if kept == 0:
            return {"problem": Problem(inputs[0]["path"], "the vocal stem is silent: not cached")}
        segments = [(s, e - s) for s, e in keep]
        if kept < n:
            notes.append(f"dropped {(n - kept) / rate:.1f} s of silence from the vocal stem")
        n = kept

    stored = [r for r in ROLES if r in streams]
    # Pass 1: peaks (one scale per stem). Pass 2: quantise into the shard.
    peaks = dict.fromkeys(stored, 0.0)
    for role in stored:
        for s0, length in segments:
            for a in range(0, length, _CHUNK):
                x = streams[role].get(s0 + a, s0 + min(a + _CHUNK, length))
                if len(x):
                    peaks[role] = max(peaks[role], float(np.abs(x).max()))
    scales = [max(peaks[r], 1e-9) / 32767.0 for r in stored]

    token = secrets.token_hex(4)
    tmp = shard_dir / f".{spec.id}.npy.partial-{token}"
    final = shard_dir / f"{spec.id}.npy"
    try:
        mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.int16, shape=(len(stored), 2, n))
        pos = 0
        for s0, length in segments:
            for a in range(0, length, _CHUNK):
                b = min(a + _CHUNK, length)
                for k, role in enumerate(stored):
                    x = streams[role].get(s0 + a, s0 + b)
                    mm[k, :, pos + a:pos + b] = np.clip(np.rint(x / scales[k]), -32767, 32767).astype(np.int16).T
            pos += length
        mm.flush()
        active: list[list[int]] = []
        if "vocals" in stored:
            voc, gain = mm[stored.index("vocals")], np.float32(scales[stored.index("vocals")])
            rms = _block_rms(lambda a, b: voc[:, a:b].T.astype(np.float32) * gain, n, block)
            active = activity_intervals(rms, n, block, sil["threshold_db"], min_gap, pad)
            del voc
        del mm  # unmap before hashing and renaming
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        digest = sha256_file(tmp)
        size = tmp.stat().st_size
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    _fsync_dir(shard_dir)

    roles = list(ROLES) if len(stored) >= 2 else stored
    record = {
        "id": spec.id, "name": spec.name, "layout": spec.layout, "group": spec.group, "source": spec.source,
        "roles": roles, "stored": stored, "num_samples": n, "sample_rate": rate, "duration": n / rate,
        "shard": f"{SHARDS}/{spec.id}.npy", "shard_bytes": size, "shard_sha256": digest, "scales": scales,
        "offsets": offsets, "active": active, "inputs": inputs, "notes": notes, "params_hash": params_hash(),
    }
    _write_json_atomic(shard_dir / f"{spec.id}.json", record)
    return {"record": record}


# --------------------------------------------------------------------------- building a cache


def _load_record(shard_dir: Path, spec: TrackSpec) -> dict[str, Any] | None:
    path = shard_dir / f"{spec.id}.json"
    try:
        with open(path, encoding="utf-8") as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and rec.get("id") == spec.id else None


def _record_status(rec: dict[str, Any] | None, spec: TrackSpec, out: Path, verify: bool) -> tuple[str, str]:
    """("ok" | "stale" | "corrupt" | "missing", why) for an existing record against the current sources."""
    if rec is None:
        return "missing", ""
    if rec.get("params_hash") != params_hash():
        return "stale", "made with other cache parameters"
    if [(i["role"], i["path"]) for i in rec.get("inputs", [])] != spec.files():
        return "stale", "its source files changed"
    changed = False
    for item in rec["inputs"]:
        try:
            stat = _source_stat(item["path"])
        except OSError:
            return "stale", f"{item['path']} is gone"
        if stat != {"size": item["size"], "mtime_ns": item["mtime_ns"]}:
            if sha256_file(item["path"]) != item["sha256"]:
                return "stale", f"{Path(item['path']).name} changed"
            item.update(stat)  # touched but identical: keep, remember the new time
            changed = True
    shard = out / rec["shard"]
    try:
        size = shard.stat().st_size
    except OSError:
        return "corrupt", "its shard is missing"
    if size != rec["shard_bytes"]:
        return "corrupt", f"its shard has {size} of {rec['shard_bytes']} bytes"
    if verify and sha256_file(shard) != rec["shard_sha256"]:
        return "corrupt", "its shard's content hash does not match"
    if changed:
        _write_json_atomic(out / SHARDS / f"{spec.id}.json", rec)
    return "ok", ""


def _clean_partials(shard_dir: Path) -> None:
    """Leftovers of an interrupted build (only ever our own hidden names)."""
    for p in shard_dir.iterdir():
        if p.name.startswith(".scratch-") and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(".") and ".partial-" in p.name:
            with contextlib.suppress(OSError):
                p.unlink()
    for p in shard_dir.parent.glob(f".{MANIFEST}.partial-*"):
        with contextlib.suppress(OSError):
            p.unlink()


def build_cache(sources: Sequence[str | Path], out_dir: str | Path, *, layout: str = "auto", workers: int = 1,
                progress: ProgressCallback | None = None, verify: bool = False,
                wait: bool = False) -> CacheSummary:
    """Cache `sources` into `out_dir`: idempotent (up-to-date tracks are kept), resumable (an
    interrupted build redoes only unfinished tracks), parallel over `workers` processes.

    The cache holds exactly the tracks of `sources`: records of tracks no longer found are removed.
    `verify` also re-hashes the shards of up-to-date tracks (rebuilding corrupt ones); without it
    only their sizes are checked. Raises DataError when no track at all could be cached. A build already
    writing to `out_dir` makes this one fail at once, or with `wait` wait for it and then reuse its work.
    """
    if workers < 1:
        raise ConfigError(f"--workers {workers}", "must be at least 1")
    emit = progress or (lambda e: None)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataError(str(out), "exists and is not a folder")
    manifest_path = out / MANIFEST
    if manifest_path.is_file():
        try:  # refuse to write into something that is not our cache; any version of ours is updated
            fmt = json.loads(manifest_path.read_text(encoding="utf-8")).get("format")
        except (OSError, ValueError, AttributeError):
            fmt = None
        if fmt != CACHE_FORMAT and not (out / SHARDS).is_dir():
            raise DataError(str(out), "has a manifest.json that is not a vocal-remover cache's")
    elif out.is_dir() and any(p.name not in (SHARDS, ".lock") and ".partial-" not in p.name for p in out.iterdir()):
        raise DataError(str(out), "not empty and not a vocal-remover cache (choose an empty or new folder)")
    shard_dir = out / SHARDS
    created = [p for p in (*reversed(shard_dir.parents), shard_dir) if not p.exists()]  # outermost first
    try:
        shard_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(str(out), f"cannot create the cache folder ({exc.strerror or exc})") from None
    try:
        return _build(sources, out, shard_dir, layout, workers, emit, verify, wait)
    except BaseException:
        _remove_unused(out, shard_dir, created)
        raise


def _remove_unused(out: Path, shard_dir: Path, created: list[Path]) -> None:
    """After a failed build: remove the folders this build created (and its lock) if it wrote nothing
    there, so that a failed first run leaves no half-made cache behind."""
    if shard_dir not in created or any(shard_dir.iterdir()):
        return
    with contextlib.suppress(OSError):
        shard_dir.rmdir()
        (out / ".lock").unlink(missing_ok=True)
        for folder in reversed(created[:-1]):
            folder.rmdir()


def _build(sources, out: Path, shard_dir: Path, layout: str, workers: int, emit, verify: bool,
           wait: bool) -> CacheSummary:
    manifest_path = out / MANIFEST
    summary = CacheSummary(path=out)
    with _build_lock(out, wait=wait):
        _clean_partials(shard_dir)
        found: Discovery = discover(sources, layout)
        summary.layouts = found.layouts
        for prob in found.problems:
            summary.skipped.append(prob)
            emit(CacheEvent("skip", prob.path, detail=prob.reason, error=prob.kind == "error"))

        records: dict[str, dict[str, Any]] = {}
        todo: list[TrackSpec] = []
        for spec in found.tracks:
            rec = _load_record(shard_dir, spec)
            status, why = _record_status(rec, spec, out, verify)
            if status == "ok":
                records[spec.id] = rec  # type: ignore[assignment]
            else:
                todo.append(spec)
                if status == "corrupt":
                    summary.notes.append((spec.name, f"rebuilt: {why}"))
                    emit(CacheEvent("note", spec.name, detail=f"rebuilding: {why}"))
        total = len(found.tracks)
        emit(CacheEvent("plan", total=total, done=len(records), detail=f"{len(records)} up to date"))
        done = 0
        for spec in found.tracks:
            if spec.id in records:
                done += 1
                emit(CacheEvent("track", spec.name, done, total, records[spec.id]["duration"], reused=True))
        summary.reused = len(records)

        # Records and shards of tracks no longer among the sources (or a shard whose record was never written).
        stale = ({p.stem for p in shard_dir.glob("*.json")} | {p.stem for p in shard_dir.glob("*.npy")}) - set(records)
        stale -= {t.id for t in todo}
        if (todo or stale) and manifest_path.exists():
            manifest_path.unlink()  # the manifest reappears only when the cache is complete again
            _fsync_dir(out)

        def finished(spec: TrackSpec, result: dict[str, Any]) -> None:
            nonlocal done
            done += 1
            if "record" in result:
                rec = result["record"]
                records[spec.id] = rec
                summary.built += 1
                for note in rec["notes"]:
                    summary.notes.append((spec.name, note))
                    emit(CacheEvent("note", spec.name, detail=note))
                emit(CacheEvent("track", spec.name, done, total, rec["duration"]))
            elif "fatal" in result:
                raise DataError(*result["fatal"])
            else:
                prob: Problem = result["problem"]
                summary.skipped.append(prob)
                emit(CacheEvent("skip", prob.path, done, total, detail=prob.reason, error=prob.kind == "error"))

        if workers == 1 or len(todo) <= 1:
            for spec in todo:
                finished(spec, build_track(spec, str(out)))
        else:
            import concurrent.futures as cf
            import multiprocessing as mp

            # spawn, not fork: the caller may run threads (a progress bar) that fork would copy mid-lock.
            from vocal_remover.interrupts import die_with_parent

            with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                        initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
                futures = {pool.submit(build_track, spec, str(out)): spec for spec in todo}
                try:
                    for fut in cf.as_completed(futures):
                        finished(futures[fut], fut.result())
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise

        for stem in stale:  # tracks whose sources are gone: the cache mirrors the current sources
            for suffix in (".npy", ".json"):
                with contextlib.suppress(OSError):
                    (shard_dir / f"{stem}{suffix}").unlink()

        ordered = [records[t.id] for t in found.tracks if t.id in records]
        if not ordered:
            reasons = "; ".join(f"{p.path}: {p.reason}" for p in summary.skipped[:3]) or "no audio found"
            raise DataError(", ".join(str(s) for s in sources), f"nothing could be cached ({reasons})")
        manifest = {
            "format": CACHE_FORMAT, "version": CACHE_VERSION, "package_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "params": PARAMS, "params_hash": params_hash(),
            "sources": [{"path": s, "layout": lay} for s, lay in found.layouts],
            "tracks": ordered,
            "skipped": [{"path": p.path, "reason": p.reason, "kind": p.kind} for p in summary.skipped],
        }
        _write_json_atomic(manifest_path, manifest)

    summary.tracks = len(ordered)
    summary.seconds = sum(r["duration"] for r in ordered)
    summary.bytes = sum(r["shard_bytes"] for r in ordered)
    for r in ordered:
        summary.roles[r["layout"]] = summary.roles.get(r["layout"], 0) + 1
    emit(CacheEvent("done", done=done, total=total, seconds=summary.seconds))
    return summary


def default_cache_root() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("vocal-remover")) / "datasets"


def is_cache(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def ensure_cache(data: str | Path, *, layout: str = "auto", workers: int = 1,
                 progress: ProgressCallback | None = None) -> Path:
    """A cache folder for `data`: a cache as is (validated: manifest and shard sizes), or a raw folder
    cached under the user cache directory (platformdirs) on first use and reused (and brought up to
    date) afterwards."""
    data = Path(data)
    if is_cache(data):
        AudioCache.open(data)
        return data
    if not data.exists():
        raise DataError(str(data), "no such file or folder")
    if (data / SHARDS).is_dir():
        raise DataError(str(data), "an incomplete cache (no manifest.json: its build was interrupted); "
                        "re-run `vocal-remover cache` with the same sources to finish it")
    key = hashlib.sha256(f"{os.path.abspath(data)}|{layout}".encode()).hexdigest()[:16]
    target = default_cache_root() / key
    build_cache([data], target, layout=layout, workers=workers, progress=progress, wait=True)
    return target


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class TrackRecord:
    """One cached track. `roles` are what `AudioCache.read` can return (a missing third role is derived:
    mixture = vocals + instrumental, vocals = mixture - instrumental, instrumental = mixture - vocals);
    `stored` are the stems in the shard. `active`: vocal activity intervals [start, end) in samples."""

    id: str
    name: str
    layout: str
    group: str
    source: str
    roles: tuple[str, ...]
    stored: tuple[str, ...]
    num_samples: int
    sample_rate: int
    shard: str
    shard_bytes: int
    shard_sha256: str
    scales: tuple[float, ...]
    active: tuple[tuple[int, int], ...]
    offsets: dict[str, int]
    inputs: tuple[dict[str, Any], ...]
    notes: tuple[str, ...]

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate

    def has(self, role: str) -> bool:
        return role in self.roles

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrackRecord":
        return cls(id=d["id"], name=d["name"], layout=d["layout"], group=d["group"], source=d["source"],
                   roles=tuple(d["roles"]), stored=tuple(d["stored"]), num_samples=int(d["num_samples"]),
                   sample_rate=int(d["sample_rate"]), shard=d["shard"], shard_bytes=int(d["shard_bytes"]),
                   shard_sha256=d["shard_sha256"], scales=tuple(float(s) for s in d["scales"]),
                   active=tuple((int(s), int(e)) for s, e in d.get("active", [])),
                   offsets=dict(d.get("offsets", {})), inputs=tuple(d.get("inputs", [])),
                   notes=tuple(d.get("notes", [])))


def _read_manifest(path: Path) -> dict[str, Any]:
    mpath = path / MANIFEST
    try:
        with open(mpath, encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        if (path / SHARDS).is_dir():
            raise DataError(str(path), "incomplete cache: no manifest.json (its build was interrupted); re-run "
                            "`vocal-remover cache` with the same sources to finish it") from None
        raise DataError(str(path), "not a dataset cache (no manifest.json)") from None
    except (OSError, ValueError) as exc:
        raise DataError(str(mpath), f"unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != CACHE_FORMAT:
        raise DataError(str(mpath), "not a vocal-remover dataset cache manifest")
    if manifest.get("version") != CACHE_VERSION:
        raise DataError(str(mpath), f"cache format version {manifest.get('version')} is not supported (this "
                        f"vocal-remover reads version {CACHE_VERSION}); re-run `vocal-remover cache`")
    return manifest


class AudioCache:
    """Read side of a cache: random crops as float32 through memory maps (never whole files).

    Safe to hand to DataLoader workers: open memory maps are not pickled; each process opens its own
    (at most `max_open` at a time, least recently used closed first).
    """

    max_open = 64

    def __init__(self, path: Path, manifest: dict[str, Any], tracks: Sequence[TrackRecord]):
        self.path = Path(path)
        self.manifest = manifest
        self.params: dict[str, Any] = manifest["params"]
        self.sample_rate = int(self.params["sample_rate"])
        self.tracks: list[TrackRecord] = list(tracks)
        self._by_id = {t.id: t for t in self.tracks}
        self._maps: OrderedDict[str, np.ndarray] = OrderedDict()
        blob = json.dumps({"format": CACHE_FORMAT, "version": CACHE_VERSION, "params": self.params,
                           "tracks": [[t.id, t.stored, t.num_samples, t.shard_sha256, t.scales, t.active, t.offsets]
                                      for t in self.tracks]}, sort_keys=True)
        self.fingerprint: str = hashlib.sha256(blob.encode()).hexdigest()

    @classmethod
    def open(cls, path: str | Path, *, verify: bool = False) -> "AudioCache":
        """Open a cache: the manifest is checked and every shard's size (a truncated or missing shard
        raises DataError); `verify=True` also checks every shard's sha256."""
        path = Path(path)
        manifest = _read_manifest(path)
        tracks = [TrackRecord.from_dict(t) for t in manifest["tracks"]]
        bad: list[str] = []
        for t in tracks:
            shard = path / t.shard
            try:
                size = shard.stat().st_size
            except OSError:
                bad.append(f"{t.shard} is missing")
                continue
            if size != t.shard_bytes:
                bad.append(f"{t.shard} has {size} of {t.shard_bytes} bytes (truncated or replaced)")
            elif verify and sha256_file(shard) != t.shard_sha256:
                bad.append(f"{t.shard} is corrupt (sha256 mismatch)")
        if bad:
            more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
            raise DataError(str(path), f"{bad[0]}{more}; re-run `vocal-remover cache` with the same sources "
                            "(add --verify for content errors) to rebuild")
        return cls(path, manifest, tracks)

    def __len__(self) -> int:
        return len(self.tracks)

    @property
    def seconds(self) -> float:
        return sum(t.duration for t in self.tracks)

    def track(self, track_id: str) -> TrackRecord:
        try:
            return self._by_id[track_id]
        except KeyError:
            raise DataError(str(self.path), f"no track with id {track_id!r}") from None

    def select(self, groups: Sequence[str] | str | None = None, layouts: Sequence[str] | None = None,
               roles: Sequence[str] | None = None) -> "AudioCache":
        """A view on some tracks: `groups` are fnmatch patterns on the group ("musdb7/valid", "*mir1k*"),
        `layouts` layout names, `roles` roles every selected track must have. Shares nothing mutable."""
        pats = [groups] if isinstance(groups, str) else list(groups or [])
        chosen = [t for t in self.tracks
                  if (not pats or any(fnmatch(t.group, p) for p in pats))
                  and (not layouts or t.layout in layouts)
                  and (not roles or all(t.has(r) for r in roles))]
        return AudioCache(self.path, self.manifest, chosen)

    def verify(self) -> list[str]:
        """Ids of tracks whose shard does not match its recorded size and sha256."""
        bad = []
        for t in self.tracks:
            shard = self.path / t.shard
            if not shard.is_file() or shard.stat().st_size != t.shard_bytes or sha256_file(shard) != t.shard_sha256:
                bad.append(t.id)
        return bad

    def _map(self, t: TrackRecord) -> np.ndarray:
        mm = self._maps.get(t.id)
        if mm is not None:
            self._maps.move_to_end(t.id)
            return mm
        try:
            mm = np.load(self.path / t.shard, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise DataError(str(self.path / t.shard), f"unreadable shard ({exc})") from None
        if mm.dtype != np.int16 or mm.shape != (len(t.stored), 2, t.num_samples):
            raise DataError(str(self.path / t.shard), f"shard shape {mm.shape} {mm.dtype} does not match the "
                            "manifest; re-run `vocal-remover cache` to rebuild it")
        self._maps[t.id] = mm
        while len(self._maps) > self.max_open:
            self._maps.popitem(last=False)
        return mm

    def read_planar(self, track_id: str, stems: Sequence[str], start: int, length: int) -> dict[str, np.ndarray]:
        """Several stems of one crop as {stem: (2, length) float32} (channels first, contiguous): samples
        [start, start + length), zero-padded outside the track (start may be negative). Only the stored stems
        that are needed are read (memory-map slices, never the whole file); a missing role is derived."""
        t = self.track(track_id)
        need: list[str] = []
        for stem in stems:
            if stem not in ROLES:
                raise ValueError(f"stem must be one of {ROLES}, got {stem!r}")
            if stem in t.stored:
                parts = [stem]
            elif stem in t.roles:
                parts = [r for r in t.stored if r != stem]
            else:
                raise DataError(t.name, f"has no {stem} (it has {', '.join(t.roles)})")
            need.extend(p for p in parts if p not in need)
        a, b = max(start, 0), min(start + length, t.num_samples)
        mm = self._map(t) if b > a else None
        have: dict[str, np.ndarray] = {}
        for stem in need:
            out = np.zeros((2, length), np.float32)
            if mm is not None:
                k = t.stored.index(stem)
                np.multiply(mm[k, :, a:b], np.float32(t.scales[k]), out=out[:, a - start:b - start], dtype=np.float32)
            have[stem] = out
        result = {}
        for stem in stems:
            if stem in have:
                result[stem] = have[stem]
            elif stem == "mixture":
                result[stem] = have["vocals"] + have["instrumental"]
            elif stem == "vocals":
                result[stem] = have["mixture"] - have["instrumental"]
            else:
                result[stem] = have["mixture"] - have["vocals"]
        return result

    def read_stems(self, track_id: str, stems: Sequence[str], start: int, length: int) -> dict[str, np.ndarray]:
        """As `read_planar`, each stem as (length, 2) (a transposed view)."""
        return {k: v.T for k, v in self.read_planar(track_id, stems, start, length).items()}

    def read(self, track_id: str, stem: str, start: int, length: int) -> np.ndarray:
        """(length, 2) float32 samples [start, start + length) of a stem (derived if not stored),
        zero-padded outside the track (start may be negative). A memory-map slice: no whole-file load."""
        return self.read_stems(track_id, (stem,), start, length)[stem]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_maps"] = OrderedDict()  # each process maps the shards itself
        return state

    def __repr__(self) -> str:
        return f"AudioCache({str(self.path)!r}, {len(self.tracks)} tracks, {self.seconds / 3600:.2f} h)"
