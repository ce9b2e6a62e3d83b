"""Building one track: decode its inputs to 44.1 kHz stereo, align a `pairs` instrumental to its mixture
or drop the silences of a `pools` vocal, then write its shard (int16, one scale per stem) and, after it,
its record. Runs in worker processes."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vocal_remover.atomic import atomic_path, sha256_file, write_json_atomic
from vocal_remover.audio import MODEL_RATE, Resampler, open_audio, to_stereo
from vocal_remover.data.cache.analysis import CHUNK, SummedInputs, activity_intervals, block_rms, estimate_offset
from vocal_remover.data.cache.format import PARAMS, SHARDS, params_hash
from vocal_remover.data.layouts import ROLES, Problem, TrackSpec
from vocal_remover.errors import AudioError

_READ_BLOCK = 1 << 16


class _NotCached(Exception):
    """A track left out of the cache, with the problem to report."""

    def __init__(self, problem: Problem):
        super().__init__(problem.reason)
        self.problem = problem


def _decode(path: str, scratch: Path) -> tuple[np.ndarray, dict[str, Any], list[str]]:
    """Decode a file to 44.1 kHz stereo float32 in a scratch file on disk (bounded memory)."""
    raw = scratch / f"{secrets.token_hex(6)}.f32"
    with open_audio(path) as reader, open(raw, "wb") as out:
        info = reader.info
        resampler = Resampler(info.samplerate, MODEL_RATE, 2)
        n = 0
        for block in reader.blocks(_READ_BLOCK):
            y = resampler.process(to_stereo(block))
            out.write(np.ascontiguousarray(y, np.float32).tobytes())
            n += len(y)
        y = resampler.process(np.zeros((0, 2), np.float32), last=True)
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


def source_stat(path: str) -> dict[str, Any]:
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
        return {"record": _build_track(spec, shard_dir, scratch)}
    except _NotCached as skipped:
        return {"problem": skipped.problem}
    except AudioError as exc:
        return {"problem": Problem(exc.what, exc.why, "error")}
    except OSError as exc:  # writing the cache failed (disk full, permissions): fatal for the build
        return {"fatal": (str(out), f"cannot write the cache ({exc.strerror or exc})")}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _build_track(spec: TrackSpec, shard_dir: Path, scratch: Path) -> dict[str, Any]:
    rate = PARAMS["sample_rate"]
    inputs, notes, role_audio = _decode_inputs(spec, scratch, rate)
    first_path = inputs[0]["path"]
    n = max(audio.length for audio in role_audio.values())
    segments = [(0, n)]  # (start, length) of the inputs' timeline kept in the shard
    offsets: dict[str, int] = {}
    if spec.layout == "pairs":
        n, offset = _align_pair(role_audio["mixture"], role_audio["instrumental"], rate, first_path, notes)
        segments = [(0, n)]
        offsets = {"instrumental": offset}
    elif spec.layout == "pools" and "vocals" in role_audio:
        segments = _voiced_segments(role_audio["vocals"], n, rate, first_path, notes)
        n = sum(length for _, length in segments)

    stored = [role for role in ROLES if role in role_audio]
    stems = [role_audio[role] for role in stored]
    scales = _stem_scales(stems, segments)
    vocals_index = stored.index("vocals") if "vocals" in stored else None
    size, digest, active = _write_shard(shard_dir / f"{spec.id}.npy", stems, scales, segments, n, vocals_index)

    record = {
        "id": spec.id, "name": spec.name, "layout": spec.layout, "group": spec.group, "source": spec.source,
        "roles": list(ROLES) if len(stored) >= 2 else stored, "stored": stored, "num_samples": n,
        "sample_rate": rate, "duration": n / rate, "shard": f"{SHARDS}/{spec.id}.npy", "shard_bytes": size,
        "shard_sha256": digest, "scales": scales, "offsets": offsets, "active": active, "inputs": inputs,
        "notes": notes, "params_hash": params_hash(),
    }
    write_json_atomic(shard_dir / f"{spec.id}.json", record)
    return record


def _decode_inputs(spec: TrackSpec, scratch: Path,
                   rate: int) -> tuple[list[dict[str, Any]], list[str], dict[str, SummedInputs]]:
    """Decode every input file of the track. Returns their record entries (source fingerprints and what
    was decoded), notes for the user, and the summed audio of each role."""
    inputs: list[dict[str, Any]] = []
    notes: list[str] = []
    role_audio: dict[str, SummedInputs] = {}
    for role, paths in spec.inputs:
        parts = []
        for path in paths:
            try:
                stat = source_stat(path)
            except OSError as exc:
                raise AudioError(path, f"cannot read ({exc.strerror or exc})") from None
            audio, meta, warnings = _decode(path, scratch)
            try:
                digest = sha256_file(path)
            except OSError as exc:
                raise AudioError(path, f"cannot read ({exc.strerror or exc})") from None
            parts.append(audio)
            notes.extend(f"{Path(path).name}: {w}" for w in warnings)
            inputs.append({"role": role, "path": path, **stat, "sha256": digest, **meta})
        role_audio[role] = SummedInputs(parts)
        lengths = [len(part) for part in parts]
        if max(lengths) - min(lengths) > rate // 10:
            notes.append(f"{role} stems differ in length ({min(lengths) / rate:.2f} to {max(lengths) / rate:.2f} s);"
                         " padded with silence")
    return inputs, notes, role_audio


def _align_pair(mix: SummedInputs, inst: SummedInputs, rate: int, path: str, notes: list[str]) -> tuple[int, int]:
    """Find the instrumental's offset against the mixture by cross-correlating mono excerpts from their
    middle, and set both streams' offsets so that position 0 starts their overlap. Returns (overlap length,
    offset); _NotCached when they do not match or do not overlap."""
    alignment = PARAMS["alignment"]
    max_lag = int(alignment["max_offset_s"] * rate)
    excerpt = min(int(alignment["excerpt_s"] * rate), mix.length)
    a = max(0, min(mix.length, inst.length) // 2 - excerpt // 2)
    mix_mono = mix.get(a, a + excerpt).mean(axis=1)
    inst_mono = inst.get(a - max_lag, a + excerpt + max_lag).mean(axis=1)
    offset, coef = estimate_offset(mix_mono, inst_mono, max_lag)
    if coef < alignment["min_correlation"]:
        raise _NotCached(Problem(path, f"mixture and instrumental do not match (best correlation {coef:.2f} "
                                 f"within ±{alignment['max_offset_s']:g} s): not cached", "error"))
    start, end = max(0, -offset), min(mix.length, inst.length - offset)
    if end <= start:
        raise _NotCached(Problem(path, "no overlap between mixture and instrumental", "error"))
    mix.offset, inst.offset = start, start + offset
    inst_aligned = inst_mono[max_lag + offset:max_lag + offset + excerpt]
    gain_db = 20 * np.log10(max(float(np.dot(mix_mono, inst_aligned)), 1e-20)
                            / max(float(np.dot(inst_aligned, inst_aligned)), 1e-20))
    if abs(gain_db) > 1.0:  # least squares: vocals are uncorrelated with the instrumental
        notes.append(f"the instrumental's level differs: {-gain_db:+.1f} dB against the mixture (not corrected)")
    if offset:
        notes.append(f"instrumental aligned: it was {abs(offset)} samples ({abs(offset) / rate * 1000:.1f} ms) "
                     f"{'late' if offset > 0 else 'early'} against the mixture (correlation {coef:.2f})")
    if abs(mix.length - inst.length) > rate:
        notes.append(f"mixture and instrumental differ in length by {abs(mix.length - inst.length) / rate:.1f} s;"
                     " only their overlap is cached")
    return end - start, offset


def _voiced_segments(vocals: SummedInputs, n: int, rate: int, path: str, notes: list[str]) -> list[tuple[int, int]]:
    """(start, length) of the parts of a vocal stem to keep: its activity, without long silences.
    _NotCached when it is silent throughout."""
    keep = _vocal_activity(vocals.get, vocals.length)
    kept = sum(e - s for s, e in keep)
    if kept == 0:
        raise _NotCached(Problem(path, "the vocal stem is silent: not cached"))
    if kept < n:
        notes.append(f"dropped {(n - kept) / rate:.1f} s of silence from the vocal stem")
    return [(s, e - s) for s, e in keep]


def _vocal_activity(get: Callable[[int, int], np.ndarray], n: int) -> list[list[int]]:
    """[start, end) intervals where the signal `get(a, b)` of `n` samples is active (PARAMS["silence"])."""
    silence, rate = PARAMS["silence"], PARAMS["sample_rate"]
    block = silence["block"]
    min_gap = round(silence["min_gap_s"] * rate / block)
    pad = round(silence["pad_s"] * rate / block)
    return activity_intervals(block_rms(get, n, block), n, block, silence["threshold_db"], min_gap, pad)


def _stem_scales(stems: list[SummedInputs], segments: list[tuple[int, int]]) -> list[float]:
    """One quantisation scale per stem: its peak over the kept segments / 32767, so nothing clips."""
    scales = []
    for stem in stems:
        peak = 0.0
        for start, length in segments:
            for a in range(0, length, CHUNK):
                x = stem.get(start + a, start + min(a + CHUNK, length))
                if len(x):
                    peak = max(peak, float(np.abs(x).max()))
        scales.append(max(peak, 1e-9) / 32767.0)
    return scales


def _write_shard(path: Path, stems: list[SummedInputs], scales: list[float], segments: list[tuple[int, int]],
                 n: int, vocals_index: int | None) -> tuple[int, str, list[list[int]]]:
    """Quantise the kept segments of `stems` into an int16 (stems, 2, n) .npy at `path`, crash-safely.
    Returns its size, its sha256 and the activity of its vocal stem (none without one)."""
    with atomic_path(path) as tmp:
        shard = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.int16, shape=(len(stems), 2, n))
        pos = 0
        for start, length in segments:
            for a in range(0, length, CHUNK):
                b = min(a + CHUNK, length)
                for k, stem in enumerate(stems):
                    x = stem.get(start + a, start + b)
                    shard[k, :, pos + a:pos + b] = np.clip(np.rint(x / scales[k]), -32767, 32767).astype(np.int16).T
            pos += length
        shard.flush()
        active: list[list[int]] = []
        if vocals_index is not None:
            voc, gain = shard[vocals_index], np.float32(scales[vocals_index])
            active = _vocal_activity(lambda a, b: voc[:, a:b].T.astype(np.float32) * gain, n)
            del voc
        del shard  # unmap before hashing and renaming
        digest = sha256_file(tmp)
        size = tmp.stat().st_size
    return size, digest, active
