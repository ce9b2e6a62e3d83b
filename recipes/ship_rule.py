#!/usr/bin/env python
"""Session 14's rule for replacing the packaged model, applied to saved `evaluate --json` results.

    python recipes/ship_rule.py recipes/results/session19-evaluate-

The argument is a prefix: PREFIX{valid,eir-valid,mir1k-probe,eir-valid-pieces}.json, as `evaluate_sets` and
`evaluate_pieces` in recipes/default-model-v2.sh write them, with the packaged model first in each. A candidate ships
only if all hold (recipes/README.md, session 14):

1. musdb7/valid: the paired vocal mean difference is above zero with its bootstrap 95% interval at or above zero, and
   neither median (vocals, instrumental) is below the packaged model's;
2. 7.Francium in 10-second pieces: neither stem's paired interval lies wholly below zero;
3. the MIR-1K probe: the paired vocal mean difference is at or above zero.

Among those that pass, the one with the highest paired musdb7/valid vocal mean. Prints one block per candidate and
the choice; exits 0 whether or not one passes (1 on unreadable input). Beside the rule, not part of it: how often both
musdb7/valid medians hold when its clips are drawn again with replacement (the same draw for both models), in draws
as large as the set and of 50 clips (the issue's held-out count), as a guide to whether a median verdict is noise; and
the paired mean over the middle half of the clips, ranked by the packaged model's SDR per stem (session 37), what a
median stands for measured on half the clips instead of one or two; and 7.Francium's pieces split by what sounds in
them (session 48): where both stems sound, one paired difference (the vocal and instrumental errors are the same signal
there, so their differences are equal); where no voice sounds, the instrumental SDR is only how far the vocal estimate
stays below the mixture, which reaches 50 dB on a silent estimate and so can move a mean over the pieces by a dB on its
own; where no instrument sounds, likewise for the instrumental estimate.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocal_remover.evaluate import ModelReport, paired_comparison

sys.path.insert(0, str(Path(__file__).resolve().parent))
from paired_results import mean_with_interval, pieces_by_content, reports_from_json  # noqa: E402

SETS = ("valid", "eir-valid", "mir1k-probe", "eir-valid-pieces")


@dataclass(frozen=True)
class Verdict:
    name: str
    musdb_paired_vocals: float
    conditions: tuple[bool, bool, bool]
    summary: str

    @property
    def passes(self) -> bool:
        return all(self.conditions)


def medians_hold_share(base: ModelReport, other: ModelReport, clips: int, draws: int = 20000,
                       seed: int = 0) -> float:
    """The share of `draws` resamplings of `clips` tracks (with replacement, the same tracks for both models) in which
    neither median of `other` (vocals, instrumental) is below `base`'s."""
    stems = ("vocals", "instrumental")
    theirs = {t.track: t.sdr for t in other.tracks}
    shared = [t for t in base.tracks if t.track in theirs]
    ours = np.array([[t.sdr[s] for s in stems] for t in shared])
    them = np.array([[theirs[t.track][s] for s in stems] for t in shared])
    index = np.random.default_rng(seed).integers(0, len(shared), size=(draws, clips))
    differences = np.median(them[index], axis=1) - np.median(ours[index], axis=1)
    return float(np.mean(np.all(differences >= 0, axis=1)))


def middle_half_gain(base: ModelReport, other: ModelReport, stem: str) -> tuple[float, int]:
    """The mean of `other`'s paired SDR difference from `base` on `stem` over the clips in the middle half of `base`'s
    ranking on that stem (ranks n/4 <= r < 3n/4), and how many clips that is. A median is set by the one or two clips
    at the middle; a gain there is estimated from seven of fourteen clips here."""
    theirs = {t.track: t.sdr[stem] for t in other.tracks}
    ranked = sorted((t.sdr[stem], t.track) for t in base.tracks if t.track in theirs)
    n = len(ranked)
    middle = [(sdr, track) for r, (sdr, track) in enumerate(ranked) if n / 4 <= r < 3 * n / 4]
    return float(np.mean([theirs[track] - sdr for sdr, track in middle])), len(middle)


def judge(musdb: list[ModelReport], pieces: list[ModelReport], mir: list[ModelReport],
          francium: list[ModelReport] | None = None) -> list[Verdict]:
    """Every model after the first (the packaged one) against the first, by the rule above. The lists hold the same
    models in the same order; `francium` (the whole song) is only reported."""
    base = musdb[0].stats()
    verdicts = []
    for i in range(1, len(musdb)):
        stats = musdb[i].stats()
        paired = paired_comparison(musdb[0], musdb[i])["vocals"]
        low = paired["mean_difference_95"][0] if paired["mean_difference_95"] else float("-inf")
        medians_hold = all(stats[s]["median"] >= base[s]["median"] for s in ("vocals", "instrumental"))
        rule1 = paired["mean_difference"] > 0 and low >= 0 and medians_hold
        by_piece = paired_comparison(pieces[0], pieces[i])
        rule2 = all(by_piece[s]["mean_difference_95"] is None or by_piece[s]["mean_difference_95"][1] >= 0
                    for s in ("vocals", "instrumental"))
        on_mir = paired_comparison(mir[0], mir[i])["vocals"]
        rule3 = on_mir["mean_difference"] >= 0
        lines = [
            f"{musdb[i].name}",
            f"  musdb7/valid medians {stats['vocals']['median']:.2f} / {stats['instrumental']['median']:.2f} "
            f"(packaged {base['vocals']['median']:.2f} / {base['instrumental']['median']:.2f}), "
            f"paired vocals {mean_with_interval(paired)}; both medians hold in "
            f"{medians_hold_share(musdb[0], musdb[i], len(musdb[0].tracks)):.0%} of {len(musdb[0].tracks)}-clip and "
            f"{medians_hold_share(musdb[0], musdb[i], 50):.0%} of 50-clip redraws",
            "  middle half, paired: " + ", ".join(
                "{} {:+.2f} ({} clips)".format(s, *middle_half_gain(musdb[0], musdb[i], s))
                for s in ("vocals", "instrumental")),
            f"  7.Francium pieces: vocals {mean_with_interval(by_piece['vocals'])}, "
            f"instrumental {mean_with_interval(by_piece['instrumental'])}",
            f"    by content: {pieces_by_content(pieces[0], pieces[i])}",
            f"  MIR-1K probe: median {mir[i].stats()['vocals']['median']:.2f}, "
            f"paired vocals {mean_with_interval(on_mir)}",
        ]
        if francium is not None:
            whole = francium[i].stats()
            lines.append(f"  7.Francium whole: {whole['vocals']['median']:.2f} / {whole['instrumental']['median']:.2f}")
        marks = " ".join(f"{n} {'pass' if ok else 'FAIL'}" for n, ok in zip((1, 2, 3), (rule1, rule2, rule3)))
        lines.append(f"  rule: {marks}")
        verdicts.append(Verdict(musdb[i].name, paired["mean_difference"], (rule1, rule2, rule3), "\n".join(lines)))
    return verdicts


def choice(verdicts: list[Verdict]) -> Verdict | None:
    passing = [v for v in verdicts if v.passes]
    return max(passing, key=lambda v: v.musdb_paired_vocals) if passing else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefix", help="path prefix of the four evaluate --json results")
    args = parser.parse_args(argv)
    reports = {}
    for name in SETS:
        path = Path(f"{args.prefix}{name}.json")
        try:
            reports[name] = reports_from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as error:
            print(f"Error: {path}: not an evaluate --json result ({error})", file=sys.stderr)
            return 1
    names = [[r.name for r in reports[n]] for n in SETS]
    if any(n != names[0] for n in names):
        print(f"Error: {args.prefix}*: the four results do not hold the same models in the same order", file=sys.stderr)
        return 1
    verdicts = judge(reports["valid"], reports["eir-valid-pieces"], reports["mir1k-probe"], reports["eir-valid"])
    for verdict in verdicts:
        print(verdict.summary)
    chosen = choice(verdicts)
    print(f"ship: {chosen.name}" if chosen else "ship: none (the packaged model stays)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
