#!/usr/bin/env python
"""Track-by-track comparison of the models in saved `vocal-remover evaluate --json` results.

    python recipes/paired_results.py recipes/results/session9-evaluate-valid.json [--baseline NAME]

`evaluate` prints this for new runs; this script recomputes it from results saved before it did, or
against another baseline than the first model. Results of the same set from several sessions (the same data, pieces
and tracks) are joined into one comparison, so a candidate can be paired with another session's (a model named in
both is kept once, and said where its scores differ):

    python recipes/paired_results.py recipes/results/session4[89]-evaluate-valid.json --baseline /work/runs/v48/s48-r-tail
 Every other model is compared with the baseline: mean
per-track difference (dB) with a bootstrap 95% interval, tracks better / worse, sign test p; and where a stem is
silent in some tracks (10-second pieces), the same split by what sounds in them (`pieces_by_content`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from vocal_remover.evaluate import ModelReport, TrackScore, paired_comparison


def mean_with_interval(paired_stem: dict) -> str:
    """One stem of `paired_comparison` as "+0.12 [+0.06, +0.18]": the mean difference and its bootstrap 95% interval
    (just the mean where there are too few tracks for an interval, "-" where there are none)."""
    if paired_stem["mean_difference"] is None:
        return "-"
    interval = paired_stem["mean_difference_95"]
    ci = f" [{interval[0]:+.2f}, {interval[1]:+.2f}]" if interval else ""
    return f"{paired_stem['mean_difference']:+.2f}{ci}"


def reports_from_json(result: dict) -> list[ModelReport]:
    return [ModelReport(m["name"], m.get("info") or {},
                        [TrackScore(t["track"], t["seconds"], t["wall_seconds"],
                                    {k: (float("nan") if v is None else v) for k, v in t["sdr"].items()},
                                    t.get("bss_sdr"))
                         for t in m["per_track"]])
            for m in result["models"]]


def power_mean_level(levels_db: list[float]) -> float:
    """Levels in dB below a reference, averaged as powers: what the pieces leak together (the loudest leak counts
    most, a near-silent one hardly at all), where a mean of dB would let one 50 dB piece outweigh the rest."""
    return float(-10 * np.log10(np.mean(np.power(10.0, -np.asarray(levels_db) / 10))))


def pieces_by_content(base: ModelReport, other: ModelReport) -> str:
    """One line: `other` against `base` on 10-second pieces split by which stems sound (a stem with no SDR in `base`,
    None or NaN, is silent there). Both sounding: the paired vocal difference with its interval. One silent: the other
    stem's SDR there is how many dB the estimate of the silent stem stays below the mixture; those levels averaged as
    powers, `base` -> `other`."""
    def only(report: ModelReport, tracks: set[str]) -> ModelReport:
        return ModelReport(report.name, report.info, [t for t in report.tracks if t.track in tracks])

    def scored(value: float | None) -> bool:
        return value is not None and math.isfinite(value)

    sounding = {"both": set(), "vocals": set(), "instrumental": set()}
    for t in base.tracks:
        present = [s for s in ("vocals", "instrumental") if scored(t.sdr.get(s))]
        if len(present) == 2:
            sounding["both"].add(t.track)
        elif len(present) == 1:
            sounding[present[0]].add(t.track)
    parts = []
    if sounding["both"]:
        paired = paired_comparison(only(base, sounding["both"]), only(other, sounding["both"]))["vocals"]
        parts.append(f"both stems ({len(sounding['both'])}) paired {mean_with_interval(paired)}")
    for heard, silent, label in (("instrumental", "vocals", "no voice"), ("vocals", "instrumental", "no instrument")):
        if sounding[heard]:
            levels = [power_mean_level([t.sdr[heard] for t in only(m, sounding[heard]).tracks
                                        if scored(t.sdr.get(heard))]) for m in (base, other)]
            parts.append(f"{label} ({len(sounding[heard])}) the {silent} estimate {levels[0]:.1f} -> {levels[1]:.1f} dB "
                         f"below the mix")
    return "; ".join(parts)


def join_sets(loaded: list[tuple[Path, dict]]) -> list[tuple[str, list[ModelReport], list[str]]]:
    """(path, evaluate --json result) pairs -> one (label, reports, notes) per set, in the order first seen: results
    of the same data, piece length and tracks joined, each model once (the first file's scores; a note where another
    file's scores of the same name differ, by how much at most)."""
    groups: dict[tuple, tuple[list[Path], list[ModelReport], list[str]]] = {}
    for path, result in loaded:
        key = (result.get("data"), result.get("segment_seconds"), tuple(result.get("tracks") or ()))
        paths, reports, notes = groups.setdefault(key, ([], [], []))
        paths.append(path)
        known = {r.name: r for r in reports}
        for report in reports_from_json(result):
            first = known.get(report.name)
            if first is None:
                reports.append(report)
                continue
            scores = {(t.track, stem): v for t in first.tracks for stem, v in t.sdr.items()}
            gaps = [abs(v - scores[(t.track, stem)]) for t in report.tracks for stem, v in t.sdr.items()
                    if math.isfinite(v) and math.isfinite(scores.get((t.track, stem), math.nan))]
            if gaps and max(gaps) > 0:
                notes.append(f"{report.name} in {path} differs from {paths[0]} by up to {max(gaps):.3f} dB: "
                             f"{paths[0]}'s kept")
    return [(" + ".join(str(p) for p in paths), reports, notes) for paths, reports, notes in groups.values()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="evaluate --json outputs")
    parser.add_argument("--baseline", help="model name to compare against (default: the first)")
    args = parser.parse_args(argv)
    loaded = []
    for path in args.results:
        try:
            result = json.loads(path.read_text())
            reports_from_json(result)
        except (OSError, ValueError, KeyError, TypeError) as error:
            print(f"Error: {path}: not an evaluate --json result ({error})", file=sys.stderr)
            return 1
        loaded.append((path, result))
    for path, reports, notes in join_sets(loaded):
        for note in notes:
            print(f"note: {note}")
        names = [r.name for r in reports]
        base_name = args.baseline or names[0]
        if base_name not in names:
            print(f"Error: {path}: no model named {base_name} (models: {', '.join(names)})", file=sys.stderr)
            return 1
        base = reports[names.index(base_name)]
        print(f"{path} (against {base.name}, {len(base.tracks)} tracks)")
        for report in reports:
            if report is base:
                continue
            cells = []
            for stem, s in paired_comparison(base, report).items():
                p = "-" if s["sign_test_p"] is None else f"{s['sign_test_p']:.2f}"
                cells.append(f"{stem} {mean_with_interval(s)}, better on {s['better']}/{s['tracks']}, p {p}")
            print(f"  {report.name}: " + "; ".join(cells))
            if any(not math.isfinite(v) for t in base.tracks for v in t.sdr.values()):
                print(f"    by content: {pieces_by_content(base, report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
