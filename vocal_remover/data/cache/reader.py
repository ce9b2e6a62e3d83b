"""Reading a cache: `AudioCache` opens and checks the manifest and serves random crops through memory maps;
`TrackRecord` is one track's entry."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import numpy as np

from vocal_remover.atomic import sha256_file
from vocal_remover.data.cache.format import CACHE_FORMAT, CACHE_VERSION, MANIFEST, SHARDS
from vocal_remover.data.layouts import ROLES
from vocal_remover.errors import DataError


def is_cache(path: str | Path) -> bool:
    """True for a complete cache (its manifest is written last)."""
    return (Path(path) / MANIFEST).is_file()


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
        audio = [[t.stored, t.num_samples, t.shard_sha256, t.scales, t.active, t.offsets] for t in self.tracks]

        def digest(tracks: list) -> str:
            blob = json.dumps({"format": CACHE_FORMAT, "version": CACHE_VERSION, "params": self.params,
                               "tracks": tracks}, sort_keys=True)
            return hashlib.sha256(blob.encode()).hexdigest()

        self.fingerprint: str = digest([[t.id, *row] for t, row in zip(self.tracks, audio)])
        # Without the track ids, which hash the source folder's path: equal for the same audio, in the same
        # order, cached from another place (a moved dataset).
        self.content_fingerprint: str = digest(audio)

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
