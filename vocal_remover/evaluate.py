"""Evaluation: separate the tracks of a stems dataset and score the results with SDR.

Metrics (per track, per stem: vocals and instrumental):

* **global SDR** (the MDX/SDX challenge convention):
  `10 log10((sum ref^2 + d) / (sum (ref - est)^2 + d))` over all samples and channels, d = 1e-7.
* **BSS-eval v4 SDR** (with the `[eval]` extra): museval's `bss_eval` in v4 mode (images, one set of
  512-tap distortion filters for the whole track, no permutation), over 1-second windows, the track's
  value being the median over its windows (silent windows, NaN, are ignored), as in SiSEC/MUSDB.
  museval's own metrics module is used; when `import museval` fails (its package imports `musdb`,
  which wants ffmpeg at import time) the module is loaded from museval's installed files directly.

A model is scored on a track by the same streaming code path as `vocal-remover separate`
(`Separator.separate_array`). Summaries are the median and mean over tracks, and the wall time per
second of audio. Several candidates are compared in one run on the same tracks: each track is read
once and given to every candidate in turn, so memory holds one track at a time.

Dataset layout ("stems"): one folder per track holding `vocals.<ext>` and `accompaniment.<ext>` (or
`instrumental.<ext>`), any format `vocal_remover.audio` reads; the mixture is `mixture.<ext>` when
present, else the sum of the two stems (the convention of ../shared/data).

The library never prints: progress goes to an optional callback.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from vocal_remover.errors import DataError, ModelError

STEMS = ("vocals", "instrumental")
STEM_FILES = {"vocals": ("vocals",), "instrumental": ("accompaniment", "instrumental", "instrumentals")}
MIXTURE_FILES = ("mixture", "mix")
SDR_DELTA = 1e-7  # MDX 2021's `sdr`: keeps silent references and perfect estimates finite
BSS_WINDOW_SECONDS = 1.0
EVAL_HINT = "pip install 'vocal-remover[eval]'"


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def global_sdr(reference: np.ndarray, estimate: np.ndarray, delta: float = SDR_DELTA) -> float:
    """Global SDR in dB over all samples and channels (MDX/SDX convention), computed in float64."""
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    if ref.shape != est.shape:
        raise ValueError(f"reference {ref.shape} and estimate {est.shape} differ in shape")
    num = float(np.sum(np.square(ref))) + delta
    den = float(np.sum(np.square(ref - est))) + delta
    return 10.0 * math.log10(num / den)


@functools.lru_cache(maxsize=1)
def _museval_metrics():
    """museval's `metrics` module, or None when museval is not installed."""
    try:
        return importlib.import_module("museval").metrics
    except Exception:  # noqa: BLE001 - not installed, or e.g. stempeg's RuntimeError when ffmpeg is missing
        pass
    try:
        spec = importlib.util.find_spec("museval")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "metrics.py"
    if not path.is_file():
        return None
    module_spec = importlib.util.spec_from_file_location("_vocal_remover_museval_metrics", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def bss_available() -> bool:
    """Whether BSS-eval v4 can be computed (museval installed: the `[eval]` extra)."""
    return _museval_metrics() is not None


def bss_eval_sdr(references: Mapping[str, np.ndarray], estimates: Mapping[str, np.ndarray], rate: int,
                 window_seconds: float = BSS_WINDOW_SECONDS) -> dict[str, float]:
    """BSS-eval v4 SDR per stem: museval's v4 over windows of `window_seconds`, median over windows.

    references/estimates: stem -> (n, channels) arrays of one track (all stems are evaluated together,
    as museval.evaluate does). A stem whose windows are all silent gets NaN; all stems get NaN when a
    reference or an estimate is silent over the whole track (museval refuses such input).
    """
    metrics = _museval_metrics()
    if metrics is None:
        raise ModelError("BSS-eval", f"museval is not installed: {EVAL_HINT}")
    names = list(references)
    refs = np.stack([np.asarray(references[s], dtype=np.float64) for s in names])
    ests = np.stack([np.asarray(estimates[s], dtype=np.float64) for s in names])
    if refs.ndim == 2:
        refs, ests = refs[..., None], ests[..., None]
    if not (np.any(refs, axis=(1, 2)).all() and np.any(ests, axis=(1, 2)).all()):
        # museval refuses a source that is silent over the whole track (undefined); NaN, like a silent window.
        return {name: float("nan") for name in names}
    win = int(round(window_seconds * rate))
    sdr, _isr, _sir, _sar, _perm = metrics.bss_eval(refs, ests, compute_permutation=False, window=win, hop=win,
                                                   framewise_filters=False, bsseval_sources_version=False)
    out = {}
    for name, row in zip(names, np.atleast_2d(sdr)):
        valid = row[~np.isnan(row)]  # museval's aggregation: nanmedian over windows
        out[name] = float(np.median(valid)) if valid.size else float("nan")
    return out


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Track:
    name: str
    folder: Path
    stems: dict[str, Path]  # "vocals", "instrumental" -> file
    mixture: Path | None = None  # None: the sum of the stems


@dataclass
class TrackAudio:
    """One track in memory: (n, channels) float32 arrays at `rate`."""

    name: str
    rate: int
    mixture: np.ndarray
    stems: dict[str, np.ndarray]

    @property
    def seconds(self) -> float:
        return len(self.mixture) / self.rate


def _find_file(folder: Path, stems: Sequence[str]) -> Path | None:
    from vocal_remover.audio import INPUT_EXTENSIONS

    for stem in stems:
        for path in sorted(folder.glob(f"{stem}.*")):
            if path.is_file() and path.suffix.lower() in INPUT_EXTENSIONS:
                return path
    return None


def _track(folder: Path) -> Track | None:
    stems = {name: _find_file(folder, files) for name, files in STEM_FILES.items()}
    if any(path is None for path in stems.values()):
        return None
    return Track(folder.name, folder, stems, _find_file(folder, MIXTURE_FILES))


def find_tracks(data: str | Path, limit: int | None = None) -> list[Track]:
    """The tracks of a stems dataset folder (sorted by name; hidden folders skipped), or the one track
    `data` is itself. DataError when there is none."""
    data = Path(data).expanduser()
    if not data.is_dir():
        raise DataError(str(data), "no such folder")
    own = _track(data)
    if own is not None:
        tracks = [own]
    else:
        tracks = [t for f in sorted(data.iterdir()) if f.is_dir() and not f.name.startswith(".")
                  if (t := _track(f)) is not None]
    if not tracks:
        raise DataError(str(data), "no tracks in the stems layout (<track>/vocals.<ext> and "
                                   "<track>/accompaniment.<ext> or instrumental.<ext>)")
    return tracks[:limit] if limit else tracks


def load_track(track: Track) -> TrackAudio:
    """Decode a track at its native rate; stems (and the mixture) are cut to the shortest length,
    and to stereo when their channel counts differ."""
    from vocal_remover.audio import read_audio, to_stereo

    parts = {name: read_audio(path, samplerate=None) for name, path in track.stems.items()}
    if track.mixture is not None:
        parts["mixture"] = read_audio(track.mixture, samplerate=None)
    rates = {rate for _, rate in parts.values()}
    if len(rates) > 1:
        raise DataError(str(track.folder), f"stems have different sample rates ({', '.join(map(str, sorted(rates)))})")
    arrays = {name: audio for name, (audio, _) in parts.items()}
    if len({a.shape[1] for a in arrays.values()}) > 1:
        arrays = {name: to_stereo(a) for name, a in arrays.items()}
    n = min(len(a) for a in arrays.values())
    if n == 0:
        raise DataError(str(track.folder), "a stem holds no audio")
    arrays = {name: np.ascontiguousarray(a[:n], dtype=np.float32) for name, a in arrays.items()}
    mixture = arrays.pop("mixture", None)
    if mixture is None:
        mixture = arrays["vocals"] + arrays["instrumental"]
    return TrackAudio(track.name, rates.pop(), mixture, {s: arrays[s] for s in STEMS})


# --------------------------------------------------------------------------------------------
# Candidates: what is evaluated
# --------------------------------------------------------------------------------------------


SeparateFn = Callable[[TrackAudio], Mapping[str, np.ndarray]]


@dataclass
class Candidate:
    """A named separation function. It receives the whole `TrackAudio`; a real separator must use only
    `mixture` and `rate` (oracles, e.g. the ideal mask, also look at the stems). It returns
    {"vocals", "instrumental"} arrays shaped like the mixture."""

    name: str
    separate: SeparateFn
    info: dict[str, Any] = field(default_factory=dict)


def separator_candidate(separator, name: str | None = None) -> Candidate:
    """A `vocal_remover.separator.Separator`, through `separate_array` (the path of `separate`)."""
    loaded = separator.loaded
    info = {"trained": loaded.trained, "path": str(loaded.path) if loaded.path else None,
            "arch": separator.config.arch, "backend": separator.engine,
            "window": separator.window, "overlap": separator.overlap,
            "swap_channels": separator.swap_channels, "tta": separator.tta,
            "shifts": separator.shifts}
    return Candidate(name or str(loaded.path or "model"),
                     lambda track: separator.separate_array(track.mixture, track.rate), info)


def mixture_candidate() -> Candidate:
    """Baseline: the mixture as both estimates."""
    return Candidate("mixture", lambda t: {"vocals": t.mixture, "instrumental": t.mixture}, {"oracle": False})


def ideal_mask_candidate(n_fft: int = 2048, hop_length: int = 1024) -> Candidate:
    """Oracle ceiling of a magnitude mask: instrumental = clip(|A| / |X|, 0, 1) x X with the mixture's
    phase, vocals = mixture - instrumental (the convention of the separator)."""

    def separate(t: TrackAudio) -> dict[str, np.ndarray]:
        import torch

        from vocal_remover.spec import istft, stft

        def spec(a: np.ndarray):
            return stft(torch.from_numpy(np.ascontiguousarray(a.T)), n_fft, hop_length)

        x, inst = spec(t.mixture), spec(t.stems["instrumental"])
        mask = (inst.abs() / x.abs().clamp_min(1e-12)).clamp(0, 1)
        est = istft(x * mask, n_fft, hop_length, len(t.mixture)).numpy().T
        return {"instrumental": est, "vocals": t.mixture - est}

    return Candidate("ideal ratio mask", separate, {"oracle": True, "n_fft": n_fft, "hop_length": hop_length})


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class TrackScore:
    track: str
    seconds: float
    wall_seconds: float
    sdr: dict[str, float]
    bss_sdr: dict[str, float] | None = None


def _stats(values: Sequence[float]) -> dict[str, float | None]:
    arr = np.array([v for v in values if v is not None and not math.isnan(v)], dtype=np.float64)
    if arr.size == 0:
        return {"median": None, "mean": None}
    return {"median": float(np.median(arr)), "mean": float(np.mean(arr))}


def _clean(value):
    """JSON-safe: NaN/inf -> None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


@dataclass
class ModelReport:
    name: str
    info: dict[str, Any] = field(default_factory=dict)
    tracks: list[TrackScore] = field(default_factory=list)

    @property
    def audio_seconds(self) -> float:
        return sum(t.seconds for t in self.tracks)

    @property
    def wall_seconds(self) -> float:
        return sum(t.wall_seconds for t in self.tracks)

    @property
    def seconds_per_audio_second(self) -> float:
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else float("nan")

    @property
    def median_seconds_per_audio_second(self) -> float:
        """Median over tracks of wall / audio seconds: robust to other load on a shared machine."""
        ratios = [t.wall_seconds / t.seconds for t in self.tracks if t.seconds > 0]
        return float(np.median(ratios)) if ratios else float("nan")

    def stats(self, metric: str = "sdr") -> dict[str, dict[str, float | None]] | None:
        """{stem: {"median", "mean"}} over tracks for "sdr" or "bss_sdr" (None if not computed)."""
        if metric == "bss_sdr" and any(t.bss_sdr is None for t in self.tracks):
            return None
        return {stem: _stats([getattr(t, metric)[stem] for t in self.tracks]) for stem in STEMS}

    def to_dict(self) -> dict[str, Any]:
        return _clean({
            "name": self.name,
            "info": self.info,
            "tracks": len(self.tracks),
            "audio_seconds": self.audio_seconds,
            "wall_seconds": self.wall_seconds,
            "seconds_per_audio_second": self.seconds_per_audio_second,
            "median_seconds_per_audio_second": self.median_seconds_per_audio_second,
            "sdr": self.stats("sdr"),
            "bss_sdr": self.stats("bss_sdr"),
            "per_track": [{"track": t.track, "seconds": t.seconds, "wall_seconds": t.wall_seconds, "sdr": t.sdr,
                           "bss_sdr": t.bss_sdr} for t in self.tracks],
        })


PAIRED_MIN_TRACKS = 5  # below this a bootstrap interval of the mean says nothing


def _sign_test(wins: int, losses: int) -> float | None:
    """Two-sided exact sign test: the chance of a split at least this uneven if either model were
    as likely to be better on a track (ties are left out)."""
    n = wins + losses
    if n == 0:
        return None
    tail = sum(math.comb(n, k) for k in range(min(wins, losses) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def _value(score: TrackScore, metric: str, stem: str) -> float:
    value = (getattr(score, metric) or {}).get(stem)
    return math.nan if value is None else float(value)


def paired_comparison(baseline: ModelReport, other: ModelReport, *, metric: str = "sdr", resamples: int = 10000,
                      seed: int = 0) -> dict[str, dict[str, Any]]:
    """How `other` differs from `baseline` track by track, per stem: the mean and median of the per-track
    differences (other - baseline, dB), on how many tracks it is better / worse, a percentile bootstrap 95%
    interval of the mean difference (None under PAIRED_MIN_TRACKS tracks) and the sign test's p.

    Medians of two models over a dozen tracks move by tenths of a dB with the tracks drawn; the paired view
    says whether a difference is larger than that noise. Tracks are matched by name."""
    theirs = {t.track: t for t in other.tracks}
    pairs = [(t, theirs[t.track]) for t in baseline.tracks if t.track in theirs]
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, Any]] = {}
    for stem in STEMS:
        values = [_value(o, metric, stem) - _value(b, metric, stem) for b, o in pairs]
        d = np.array([v for v in values if math.isfinite(v)], dtype=np.float64)
        wins, losses = int(np.sum(d > 1e-9)), int(np.sum(d < -1e-9))
        interval = None
        if d.size >= PAIRED_MIN_TRACKS:
            means = d[rng.integers(0, d.size, size=(resamples, d.size))].mean(axis=1)
            interval = [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]
        out[stem] = {
            "tracks": int(d.size),
            "mean_difference": float(d.mean()) if d.size else None,
            "median_difference": float(np.median(d)) if d.size else None,
            "better": wins,
            "worse": losses,
            "mean_difference_95": interval,
            "sign_test_p": _sign_test(wins, losses),
        }
    return out


@dataclass(frozen=True)
class EvalProgress:
    """`done` of `total` (track, candidate) pairs are scored; the last was `model` on `track`."""

    model: str
    track: str
    done: int
    total: int


# --------------------------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------------------------


def _check_estimates(audio: TrackAudio, estimates: Mapping[str, np.ndarray], name: str) -> None:
    for stem in STEMS:
        if stem not in estimates:
            raise ModelError(name, f"returned no '{stem}' estimate")
        shape = np.shape(estimates[stem])
        if shape != audio.stems[stem].shape:
            raise ModelError(name, f"{stem} estimate has shape {shape}, the track {audio.stems[stem].shape}")


def score(audio: TrackAudio, estimates: Mapping[str, np.ndarray], *, bss: bool = False,
          name: str = "estimate") -> tuple[dict[str, float], dict[str, float] | None]:
    """(global SDR per stem, BSS-eval v4 SDR per stem or None) of estimates for one track."""
    _check_estimates(audio, estimates, name)
    sdr = {stem: global_sdr(audio.stems[stem], estimates[stem]) for stem in STEMS}
    bss_sdr = bss_eval_sdr(audio.stems, {s: estimates[s] for s in STEMS}, audio.rate) if bss else None
    return sdr, bss_sdr


SILENT_SEGMENT_DBFS = -60.0  # a segment's stem quieter than this (RMS) has no meaningful SDR


def segments_of(audio: TrackAudio, seconds: float) -> list[tuple[slice, TrackAudio]]:
    """The track cut into consecutive `seconds`-long pieces, each (its sample slice, the piece named
    "<track> [start-end s]"); a last piece shorter than half a segment joins the one before, so every sample
    is scored once."""
    size = max(1, int(round(seconds * audio.rate)))
    edges = list(range(0, len(audio.mixture), size)) + [len(audio.mixture)]
    if len(edges) > 2 and edges[-1] - edges[-2] < size / 2:
        del edges[-2]
    out = []
    for start, end in zip(edges[:-1], edges[1:]):
        part = slice(start, end)
        name = f"{audio.name} [{start / audio.rate:.0f}-{end / audio.rate:.0f} s]"
        out.append((part, TrackAudio(name, audio.rate, audio.mixture[part],
                                     {stem: audio.stems[stem][part] for stem in STEMS})))
    return out


def _blank_silent_stems(audio: TrackAudio, sdr: dict[str, float]) -> dict[str, float]:
    """NaN for a stem whose reference is silent in this piece (as museval leaves silent windows out)."""
    floor = 10 ** (SILENT_SEGMENT_DBFS / 10)
    return {stem: (math.nan if float(np.mean(np.square(audio.stems[stem], dtype=np.float64))) < floor else value)
            for stem, value in sdr.items()}


def _silence_like(audio: TrackAudio, seconds: float = 1.0) -> TrackAudio:
    n = int(audio.rate * seconds)
    zeros = np.zeros((n, audio.mixture.shape[1]), dtype=np.float32)
    return TrackAudio("warm-up", audio.rate, zeros, {s: zeros.copy() for s in STEMS})


def evaluate(data: str | Path | Sequence[Track], candidates: Sequence[Candidate], *, bss: bool = False,
             limit: int | None = None, warmup: bool = True, segment_seconds: float | None = None,
             progress: Callable[[EvalProgress], None] | None = None) -> list[ModelReport]:
    """Score every candidate on every track of `data` (a stems folder or a list of `Track`s).

    Each track is decoded once and given to the candidates in turn. `warmup` runs each candidate once
    on a second of silence first, so one-time costs (allocation, lazy initialisation) are not timed.
    `segment_seconds`: each track is still separated whole, but scored piece by piece (`segments_of`), each
    piece a row of the report (its wall time the track's, pro rata; silent stems NaN): many paired
    observations from a few long songs. Returns one `ModelReport` per candidate, in order.
    """
    if segment_seconds is not None and not segment_seconds > 0:
        raise ValueError("segment_seconds must be positive")
    if not candidates:
        raise ValueError("no candidates to evaluate")
    names = [c.name for c in candidates]
    if len(set(names)) != len(names):
        raise ModelError("evaluate", f"two candidates share a name ({', '.join(names)}); names must be unique")
    if bss and not bss_available():
        raise ModelError("BSS-eval", f"museval is not installed: {EVAL_HINT}")
    tracks = find_tracks(data, limit) if isinstance(data, (str, Path)) else list(data)[:limit or None]
    reports = [ModelReport(c.name, dict(c.info)) for c in candidates]
    total = len(tracks) * len(candidates)
    done = 0
    for index, track in enumerate(tracks):
        audio = load_track(track)
        if index == 0 and warmup:
            quiet = _silence_like(audio)
            for candidate in candidates:
                candidate.separate(quiet)
        pieces = segments_of(audio, segment_seconds) if segment_seconds is not None else None
        for candidate, report in zip(candidates, reports):
            started = time.perf_counter()
            estimates = candidate.separate(audio)
            wall = time.perf_counter() - started
            if pieces is None:
                sdr, bss_sdr = score(audio, estimates, bss=bss, name=candidate.name)
                report.tracks.append(TrackScore(audio.name, audio.seconds, wall, sdr, bss_sdr))
            else:
                _check_estimates(audio, estimates, candidate.name)  # whole track: a slice hides a wrong length
                for part, piece in pieces:
                    sdr, bss_sdr = score(piece, {stem: estimates[stem][part] for stem in STEMS}, bss=bss,
                                         name=candidate.name)
                    report.tracks.append(TrackScore(piece.name, piece.seconds, wall * piece.seconds / audio.seconds,
                                                    _blank_silent_stems(piece, sdr), bss_sdr))
            done += 1
            if progress is not None:
                progress(EvalProgress(candidate.name, audio.name, done, total))
    return reports
