#!/usr/bin/env python
"""How much a kind of input costs each model, and whether it widens the gap between two models, paired by track.

    python recipes/degradation_gap.py recipes/results/session29-degraded-full-vs-spleeter.json \\
        recipes/results/session29-degraded-16k-vs-spleeter.json recipes/results/session30-vocals+4db-vs-spleeter.json

Inputs are `benchmarks/compare_spleeter.py --json` (or `evaluate --json`) results on copies of one stems set (as
`recipes/data/degrade_stems.py` writes them): the first is the reference input, each further one a degraded copy. For
each copy and stem it prints each model's paired change from the reference (copy - reference, the mean over tracks with
its bootstrap 95% interval) and the change of the gap `--model` minus `--against`. Medians of 14 clips move by tenths
of a dB between inputs on their own; a change of the gap is real only where its interval excludes zero (session 30
read a wider median gap with the voice 4 dB louder that the paired means did not bear out).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vocal_remover.evaluate import STEMS, ModelReport, TrackScore, paired_comparison

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired_results import mean_with_interval, reports_from_json  # noqa: E402


def pick(reports: list[ModelReport], prefix: str, path: Path) -> ModelReport:
    found = [r for r in reports if r.name.startswith(prefix)]
    if len(found) != 1:
        names = ", ".join(r.name for r in reports)
        raise ValueError(f"{path}: {len(found)} models named {prefix}* (models: {names})")
    return found[0]


def gap_report(model: ModelReport, against: ModelReport) -> ModelReport:
    """A report whose per-track score is `model`'s minus `against`'s, on the tracks both have."""
    theirs = {t.track: t for t in against.tracks}
    return ModelReport(f"{model.name} - {against.name}", {}, [
        TrackScore(t.track, t.seconds, t.wall_seconds, {s: t.sdr[s] - theirs[t.track].sdr[s] for s in STEMS})
        for t in model.tracks if t.track in theirs])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reference", type=Path, help="results on the reference input")
    parser.add_argument("degraded", nargs="+", type=Path, help="results on degraded copies of it")
    parser.add_argument("--model", default="default", help="the model whose gap is measured (a name prefix)")
    parser.add_argument("--against", default="spleeter", help="the model it is measured against (a name prefix)")
    args = parser.parse_args(argv)
    try:
        loaded = {}
        for path in (args.reference, *args.degraded):
            reports = reports_from_json(json.loads(path.read_text()))
            loaded[path] = (pick(reports, args.model, path), pick(reports, args.against, path))
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    ref_model, ref_against = loaded[args.reference]
    ref_gap = gap_report(ref_model, ref_against)
    gap_before = ref_gap.stats()
    print(f"paired mean change from {args.reference.name}, dB [bootstrap 95%]; gap = {ref_model.name} - "
          f"{ref_against.name}")
    print(f"| input | stem | gap before | gap change | {ref_model.name} change | {ref_against.name} change |")
    print("|---|---|---|---|---|---|")
    for path in args.degraded:
        model, against = loaded[path]
        changes = [paired_comparison(ref_gap, gap_report(model, against)), paired_comparison(ref_model, model),
                   paired_comparison(ref_against, against)]
        for stem in STEMS:
            print(f"| {path.name} | {stem} | {gap_before[stem]['mean']:+.2f} | "
                  + " | ".join(mean_with_interval(c[stem]) for c in changes) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
