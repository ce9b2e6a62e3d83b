#!/usr/bin/env python
"""Which clips finetuning moves the same way every time, across many sessions' saved `evaluate --json` results.

    python recipes/clip_trends.py recipes/results/session3[3-9]-evaluate-valid.json \
        recipes/results/session4[0-7]-evaluate-valid.json --skip=alpha-

Every model after the first in each file (the packaged model of that session) is one candidate; its paired SDR
difference from that file's first model is taken per clip. Printed per clip, from the most lost to the most gained:
the mean difference over the candidates, on how many it lost / gained, the smallest and largest, and the clip's SDR
under the first file's packaged model with its rank (1 = lowest). A clip whose rank sits at the middle sets the median
that session 14's rule protects, so a clip at the middle that nearly every candidate loses blocks the rule whatever
else moves (session 48). `--skip` drops candidates whose name contains the text (e.g. the halfway-back points, which
repeat their tails). Global SDR makes the vocal and instrumental differences of a clip equal (the two errors are one
signal), so one stem is enough: `--stem` [vocals].
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocal_remover.evaluate import ModelReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired_results import reports_from_json  # noqa: E402


@dataclass(frozen=True)
class ClipTrend:
    track: str
    differences: tuple[float, ...]
    first_sdr: float
    rank: int  # of first_sdr among the first packaged model's clips, 1 = lowest

    @property
    def mean(self) -> float:
        return float(np.mean(self.differences))

    @property
    def lost(self) -> int:
        return sum(d < -1e-9 for d in self.differences)

    @property
    def gained(self) -> int:
        return sum(d > 1e-9 for d in self.differences)


def clip_trends(sessions: list[list[ModelReport]], stem: str = "vocals", skip: str | None = None) -> list[ClipTrend]:
    """Per clip of the first session's packaged model, the paired differences of every candidate in `sessions` (each
    a list of reports, the packaged model first), sorted by their mean, most lost first. Clips a candidate lacks, or
    scores as silent (NaN), are left out of that candidate's count."""
    differences: dict[str, list[float]] = {}
    for reports in sessions:
        base = {t.track: t.sdr[stem] for t in reports[0].tracks}
        for report in reports[1:]:
            if skip and skip in report.name:
                continue
            for t in report.tracks:
                d = t.sdr[stem] - base.get(t.track, math.nan)
                if math.isfinite(d):
                    differences.setdefault(t.track, []).append(d)
    first = {t.track: t.sdr[stem] for t in sessions[0][0].tracks if math.isfinite(t.sdr[stem])}
    ranks = {track: r + 1 for r, track in enumerate(sorted(first, key=first.get))}
    trends = [ClipTrend(track, tuple(d), first[track], ranks[track]) for track, d in differences.items() if track in first]
    return sorted(trends, key=lambda c: c.mean)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="evaluate --json outputs, one per session")
    parser.add_argument("--stem", default="vocals", choices=("vocals", "instrumental"))
    parser.add_argument("--skip", help="leave out candidates whose name contains this text")
    args = parser.parse_args(argv)
    sessions = []
    for path in args.results:
        try:
            sessions.append(reports_from_json(json.loads(path.read_text())))
        except (OSError, ValueError, KeyError, TypeError) as error:
            print(f"Error: {path}: not an evaluate --json result ({error})", file=sys.stderr)
            return 1
    trends = clip_trends(sessions, args.stem, args.skip)
    if not trends:
        print("Error: no candidate shares a clip with the first packaged model", file=sys.stderr)
        return 1
    print(f"{max(len(c.differences) for c in trends)} candidates from {len(sessions)} results, {args.stem}, "
          f"paired against each result's first model; rank (1 = lowest) under the first result's first model")
    print("| clip | mean | lost / gained | range | packaged SDR (rank) |")
    print("|---|---|---|---|---|")
    for c in trends:
        print(f"| {c.track} | {c.mean:+.2f} | {c.lost} / {c.gained} | {min(c.differences):+.2f} to "
              f"{max(c.differences):+.2f} | {c.first_sdr:.2f} ({c.rank}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
