"""Building a cache: `build_cache` (idempotent, resumable, parallel over worker processes, one build per
folder at a time) and `ensure_cache` (a raw folder cached once under the user cache directory)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vocal_remover import __version__
from vocal_remover.atomic import fsync_dir, sha256_file, write_json_atomic
from vocal_remover.data.cache.format import CACHE_FORMAT, CACHE_VERSION, MANIFEST, PARAMS, SHARDS, params_hash
from vocal_remover.data.cache.reader import AudioCache, is_cache
from vocal_remover.data.cache.track import build_track, source_stat
from vocal_remover.data.layouts import Discovery, Problem, TrackSpec, discover
from vocal_remover.errors import ConfigError, DataError


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
            stat = source_stat(item["path"])
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
        write_json_atomic(out / SHARDS / f"{spec.id}.json", rec)
    return "ok", ""


def _clean_partials(shard_dir: Path) -> None:
    """Leftovers of an interrupted build (only ever our own hidden names)."""
    for entry in shard_dir.iterdir():
        if entry.name.startswith(".scratch-") and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(".") and ".partial-" in entry.name:
            with contextlib.suppress(OSError):
                entry.unlink()
    for manifest_tmp in shard_dir.parent.glob(f".{MANIFEST}.partial-*"):
        with contextlib.suppress(OSError):
            manifest_tmp.unlink()


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
        replacing = False  # a track the manifest lists gets rebuilt
        for spec in found.tracks:
            rec = _load_record(shard_dir, spec)
            status, why = _record_status(rec, spec, out, verify)
            if status == "ok":
                records[spec.id] = rec  # type: ignore[assignment]
            else:
                todo.append(spec)
                replacing = replacing or status != "missing"
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
        # Shards about to be replaced (changed or corrupt tracks): the manifest goes until the cache is
        # complete again. Tracks never cached (new, or skipped every time such as a silent vocal) and stale
        # leftovers keep it: readers of the finished cache (a training rank that waited on the lock before
        # us) must never find it missing; it is replaced atomically below.
        replacing = [t for t in todo
                     if (shard_dir / f"{t.id}.npy").exists() or (shard_dir / f"{t.id}.json").exists()]
        if replacing and manifest_path.exists():
            manifest_path.unlink()
            fsync_dir(out)

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
        write_json_atomic(manifest_path, manifest)

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
