"""Dataset layouts: detecting how a folder of music is organised and listing its tracks.

Four layouts (see docs/training.md, "Datasets and the cache"):

* ``stems``  one folder per track, one file per stem: ``vocals.*`` plus ``accompaniment.*`` /
  ``instrumental.*`` (or several non-vocal stems such as ``drums``, ``bass``, ``other`` that are summed);
  ``mixture.*`` is used as the mixture when present, otherwise the mixture is the sum of the stems.
* ``pairs``  tsurumeso's ``mixtures/`` + ``instruments/``, matched by file name (never by sort order).
* ``pools``  a folder of vocal stems and/or a folder of instrumentals, combined at random in training
  (either may be alone: a vocals-only pool such as solo singing, or an instrumental-only pool).
* ``mixes``  any folder of unlabeled music (pretraining).

Discovery only looks at names; nothing is decoded here. Every file that is not used is reported
with a reason (`Problem`), never silently dropped.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vocal_remover.audio import INPUT_EXTENSIONS
from vocal_remover.audio.discovery import walk_folders
from vocal_remover.errors import ConfigError

LAYOUTS = ("stems", "pairs", "pools", "mixes")
ROLES = ("mixture", "vocals", "instrumental")

# File stems (lower case) inside a `stems` track folder.
VOCAL_STEMS = ("vocals", "vocal", "voice", "voices", "vox")
INSTRUMENTAL_STEMS = ("accompaniment", "instrumental", "instrumentals", "instruments", "instrument", "inst",
                      "karaoke", "backing", "no_vocals", "novocals")
MIXTURE_STEMS = ("mixture", "mix")
# Folder names (lower case) for `pairs` and `pools`.
PAIR_MIX_DIRS = ("mixtures", "mixture")
PAIR_INST_DIRS = ("instruments", "instrumentals", "instrumental")
POOL_VOCAL_DIRS = ("vocals", "vocal", "voice", "voices", "acapella", "acapellas", "acappella", "a_cappella")
POOL_INST_DIRS = ("instrumentals", "instrumental", "instruments", "accompaniment", "accompaniments", "karaoke")
# When a stem exists in several formats, the first extension here wins (lossless first).
EXTENSION_PREFERENCE = (".wav", ".flac", ".aiff", ".aif", ".w64", ".rf64", ".caf", ".wave", ".aifc", ".au",
                        ".ogg", ".oga", ".opus", ".m4a", ".mp3")
# Suffixes that tell a mixture from its instrumental in `pairs` file names (song_mix.wav / song_inst.wav).
_PAIR_SUFFIX = re.compile(
    r"[\s_.-]*(?:mixture|mix|instrumentals?|instruments?|inst|karaoke|off[\s_.-]*vocals?|no[\s_.-]*vocals?)$",
    re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """A file or folder that was not used: `kind` is "error" (unreadable, broken) or "ignored"."""

    path: str
    reason: str
    kind: str = "ignored"


@dataclass(frozen=True)
class TrackSpec:
    """One track to cache: which files make which role (several files of a role are summed)."""

    id: str
    name: str
    layout: str
    group: str
    source: str  # the SRC it was found under (absolute)
    inputs: tuple[tuple[str, tuple[str, ...]], ...]  # ((role, (absolute paths...)), ...)

    def files(self) -> list[tuple[str, str]]:
        return [(role, p) for role, paths in self.inputs for p in paths]


@dataclass
class Discovery:
    tracks: list[TrackSpec] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    layouts: list[tuple[str, str]] = field(default_factory=list)  # (source, layout used)


def track_id(name: str, key: str) -> str:
    """Readable and unique: a slug of the name plus a hash of the track's identity."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")[:48] or "track"
    return f"{slug}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:10]}"


def _is_audio(p: Path) -> bool:
    return p.suffix.lower() in INPUT_EXTENSIONS and not p.name.startswith(".")


def _audio_files(root: Path) -> list[Path]:
    """Audio files under `root` (recursive, sorted, hidden skipped; symlinked folders followed, as `evaluate`
    reads them: datasets are often assembled from links)."""
    out: list[Path] = []
    for folder, filenames in walk_folders(root):
        out.extend(Path(folder) / n for n in filenames if _is_audio(Path(folder) / n))
    return sorted(out)


def _child_dir(root: Path, names: Sequence[str]) -> Path | None:
    try:
        children = {c.name.lower(): c for c in sorted(root.iterdir()) if c.is_dir()}
    except OSError:
        return None
    for n in names:
        if n in children:
            return children[n]
    return None


def _group(source: Path, folder: Path) -> str:
    rel = folder.relative_to(source) if folder != source and source in folder.parents else Path()
    parts = [source.name or str(source)] + [p for p in rel.parts if p]
    return "/".join(parts)


def detect_layout(path: str | Path) -> str | None:
    """The layout of a folder (or "mixes" for a single file); None when it holds no audio."""
    p = Path(path)
    if p.is_file():
        return "mixes"
    if not p.is_dir():
        return None
    if _child_dir(p, PAIR_MIX_DIRS) and _child_dir(p, PAIR_INST_DIRS):
        return "pairs"
    if _child_dir(p, POOL_VOCAL_DIRS) and _child_dir(p, POOL_INST_DIRS):
        return "pools"
    files = _audio_files(p)
    # A vocals/ or instrumentals/ folder holding every audio file: a one-sided pool.
    for names in (POOL_VOCAL_DIRS, POOL_INST_DIRS):
        only = _child_dir(p, names)
        if only is not None and files and all(only in f.parents for f in files):
            return "pools"
    if any(f.stem.lower() in VOCAL_STEMS for f in files):
        return "stems"
    return "mixes" if files else None


def discover(sources: Sequence[str | Path], layout: str = "auto") -> Discovery:
    """List the tracks of every source (each detected on its own with layout "auto")."""
    if layout != "auto" and layout not in LAYOUTS:
        raise ConfigError(f"--layout {layout}", f"must be auto or one of {', '.join(LAYOUTS)}")
    out = Discovery()
    seen: set[str] = set()
    for src in sources:
        src_path = Path(src)
        if not src_path.exists():
            out.problems.append(Problem(str(src_path), "no such file or folder", "error"))
            continue
        src_path = Path(os.path.abspath(src_path))
        kind = detect_layout(src_path) if layout == "auto" else layout
        if kind is None:
            out.problems.append(Problem(str(src_path), "no audio files found", "error"))
            continue
        out.layouts.append((str(src_path), kind))
        before = len(out.tracks)
        {"stems": _stems, "pairs": _pairs, "pools": _pools, "mixes": _mixes}[kind](src_path, out)
        # The same track reached through two sources is cached once.
        fresh = []
        for t in out.tracks[before:]:
            if t.id not in seen:
                seen.add(t.id)
                fresh.append(t)
        out.tracks[before:] = fresh
        if len(out.tracks) == before and not any(p.path.startswith(str(src_path)) for p in out.problems):
            out.problems.append(Problem(str(src_path), f"no {kind} tracks found", "error"))
    return out


# --------------------------------------------------------------------------- stems


def _pick(files: list[Path]) -> tuple[Path, list[Path]]:
    """The preferred file among several of the same stem (e.g. vocals.wav and vocals.mp3)."""
    def rank(f: Path) -> tuple[int, str]:
        ext = f.suffix.lower()
        return (EXTENSION_PREFERENCE.index(ext) if ext in EXTENSION_PREFERENCE else 99, f.name)

    ordered = sorted(files, key=rank)
    return ordered[0], ordered[1:]


def _stems(source: Path, out: Discovery) -> None:
    if source.is_file():
        out.problems.append(Problem(str(source), "a single file cannot be a stems track (use a track folder)", "error"))
        return
    files = _audio_files(source)
    by_folder: dict[Path, list[Path]] = {}
    for f in files:
        by_folder.setdefault(f.parent, []).append(f)
    for folder in sorted(by_folder):
        members = by_folder[folder]
        named: dict[str, list[Path]] = {}
        for f in members:
            named.setdefault(f.stem.lower(), []).append(f)
        if not any(n in named for n in VOCAL_STEMS):
            for f in members:
                out.problems.append(Problem(str(f), "not in a stems track folder (no vocals.* beside it)"))
            continue
        chosen: dict[str, Path] = {}
        for stem, group in named.items():
            best, rest = _pick(group)
            chosen[stem] = best
            for r in rest:
                out.problems.append(Problem(str(r), f"duplicate of {best.name} (the {best.suffix} file is used)"))
        vocals = [chosen[n] for n in VOCAL_STEMS if n in chosen]
        vocals += [f for s, f in sorted(chosen.items()) if s not in VOCAL_STEMS and s not in INSTRUMENTAL_STEMS
                   and s not in MIXTURE_STEMS and ("vocal" in s or s.endswith("vox"))]  # backing_vocals, ...
        insts = [chosen[n] for n in INSTRUMENTAL_STEMS if n in chosen]
        mixes = [chosen[n] for n in MIXTURE_STEMS if n in chosen]
        others = [f for s, f in sorted(chosen.items())
                  if f not in vocals and f not in insts and f not in mixes]
        inputs: list[tuple[str, tuple[str, ...]]] = [("vocals", tuple(str(f) for f in vocals))]
        if insts:
            inputs.append(("instrumental", (str(insts[0]),)))
            for extra in insts[1:] + others:  # MUSDB: accompaniment = drums + bass + other, not needed
                out.problems.append(Problem(str(extra), f"not needed: {insts[0].name} is the instrumental"))
        elif others:
            inputs.append(("instrumental", tuple(str(f) for f in others)))  # drums + bass + other + ...
        if mixes:
            inputs.append(("mixture", (str(mixes[0]),)))
            for extra in mixes[1:]:
                out.problems.append(Problem(str(extra), f"not needed: {mixes[0].name} is the mixture"))
        if len(inputs) < 2:
            out.problems.append(Problem(str(folder), "only vocals: no accompaniment, instrumental, other stems "
                                        "or mixture beside them"))
            continue
        name = folder.name
        out.tracks.append(TrackSpec(id=track_id(name, f"stems:{folder}"), name=name, layout="stems",
                                    group=_group(source, folder.parent), source=str(source),
                                    inputs=tuple(inputs)))


# --------------------------------------------------------------------------- pairs


def pair_key(path: Path, root: Path) -> str:
    """The name a mixture and its instrumental share: relative folder + file stem without a
    mix/inst suffix, lower case (``a/Song_mix.wav`` and ``a/song_inst.flac`` -> ``a/song``)."""
    rel = path.relative_to(root)
    stem = _PAIR_SUFFIX.sub("", rel.stem) or rel.stem
    return "/".join([*rel.parent.parts, stem]).lower()


def match_pairs(mix_root: Path, inst_root: Path) -> tuple[list[tuple[Path, Path]], list[Problem]]:
    """Mixtures matched to instrumentals by name (exact relative stem first, then without the
    mix/inst suffix). Unmatched and ambiguous files are returned as problems."""
    mixes, insts = _audio_files(mix_root), _audio_files(inst_root)
    problems: list[Problem] = []

    def exact(p: Path, root: Path) -> str:
        return str(p.relative_to(root).with_suffix("")).lower()

    pairs: list[tuple[Path, Path]] = []
    inst_exact: dict[str, list[Path]] = {}
    for f in insts:
        inst_exact.setdefault(exact(f, inst_root), []).append(f)
    used: set[Path] = set()
    rest: list[Path] = []
    for m in mixes:
        cands = inst_exact.get(exact(m, mix_root), [])
        if len(cands) == 1:
            pairs.append((m, cands[0]))
            used.add(cands[0])
        else:
            rest.append(m)
    inst_loose: dict[str, list[Path]] = {}
    for f in insts:
        if f not in used:
            inst_loose.setdefault(pair_key(f, inst_root), []).append(f)
    mix_loose: dict[str, list[Path]] = {}
    for m in rest:
        mix_loose.setdefault(pair_key(m, mix_root), []).append(m)
    for key, ms in mix_loose.items():
        cands = inst_loose.get(key, [])
        if len(ms) == 1 and len(cands) == 1:
            pairs.append((ms[0], cands[0]))
            used.add(cands[0])
        elif not cands:
            for m in ms:
                problems.append(Problem(str(m), f"no instrumental with a matching name in {inst_root.name}/"))
        else:
            names = ", ".join(c.name for c in ms + cands)
            for m in ms:
                problems.append(Problem(str(m), f"ambiguous match by name ({names})"))
            used.update(cands)
    for f in insts:
        if f not in used:
            problems.append(Problem(str(f), f"no mixture with a matching name in {mix_root.name}/"))
    pairs.sort()
    return pairs, problems


def _pairs(source: Path, out: Discovery) -> None:
    mix_root = _child_dir(source, PAIR_MIX_DIRS) if source.is_dir() else None
    inst_root = _child_dir(source, PAIR_INST_DIRS) if source.is_dir() else None
    if mix_root is None or inst_root is None:
        out.problems.append(Problem(str(source), "pairs layout needs mixtures/ and instruments/ folders", "error"))
        return
    pairs, problems = match_pairs(mix_root, inst_root)
    out.problems.extend(problems)
    for mix, inst in pairs:
        name = _PAIR_SUFFIX.sub("", mix.stem) or mix.stem
        out.tracks.append(TrackSpec(id=track_id(name, f"pairs:{mix}"), name=name, layout="pairs",
                                    group=_group(source, source), source=str(source),
                                    inputs=(("mixture", (str(mix),)), ("instrumental", (str(inst),)))))


# --------------------------------------------------------------------------- pools and mixes


def _pools(source: Path, out: Discovery) -> None:
    voc_root = _child_dir(source, POOL_VOCAL_DIRS) if source.is_dir() else None
    inst_root = _child_dir(source, POOL_INST_DIRS) if source.is_dir() else None
    if voc_root is None and inst_root is None:
        out.problems.append(Problem(str(source), "pools layout needs a vocals/ or an instrumentals/ folder", "error"))
        return
    for role, root in (("vocals", voc_root), ("instrumental", inst_root)):
        if root is None:
            continue
        files = _audio_files(root)
        if not files:
            out.problems.append(Problem(str(root), "no audio files in this folder", "error"))
        for f in files:
            out.tracks.append(TrackSpec(id=track_id(f.stem, f"pools:{role}:{f}"), name=f.stem, layout="pools",
                                        group=_group(source, f.parent), source=str(source),
                                        inputs=((role, (str(f),)),)))


def _mixes(source: Path, out: Discovery) -> None:
    files = [source] if source.is_file() else _audio_files(source)
    base = source.parent if source.is_file() else source
    for f in files:
        out.tracks.append(TrackSpec(id=track_id(f.stem, f"mixes:{f}"), name=f.stem, layout="mixes",
                                    group=_group(base, f.parent), source=str(source),
                                    inputs=(("mixture", (str(f),)),)))
