"""What `--swap-channels` buys: SDR and time of one pass against the two-pass average (left/right swapped), in one run.

Both candidates share one loaded network; each is a `Separator` scored by `vocal_remover.evaluate` (the code path
of `vocal-remover evaluate`: global SDR per track or per `--segment-seconds` piece, each track decoded once and
given to both in turn). Prints medians / means, the swap's paired difference over tracks with a bootstrap 95%
interval, and seconds per audio second of each (the time ratio is the cost).

    python benchmarks/swap_channels.py                                  # default model, musdb7/valid
    python benchmarks/swap_channels.py DATA --segment-seconds 10 --json benchmarks/results-swap-channels-X.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "musdb7" / "valid"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("-m", "--model", default="default")
    parser.add_argument("--segment-seconds", type=float, default=None)
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--engine", default="torch")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from vocal_remover.artifacts import LoadedModel
    from vocal_remover.evaluate import evaluate, find_tracks, paired_comparison, separator_candidate
    from vocal_remover.separator import Separator

    tracks = find_tracks(args.data)
    base = Separator(args.model, precision=args.precision, engine=args.engine)
    loaded = LoadedModel(model=base.loaded.model, config=base.config, metadata=base.loaded.metadata,
                         path=base.loaded.path)
    variants = [("one pass", False), ("swap-channels", True)]
    candidates = [separator_candidate(Separator(loaded, precision=args.precision, engine=base.engine,
                                                swap_channels=swap), name=name) for name, swap in variants]
    reports = evaluate(tracks, candidates, bss=False, segment_seconds=args.segment_seconds)
    paired = paired_comparison(reports[0], reports[1])
    unit = f"{args.segment_seconds:g}-s pieces" if args.segment_seconds else "tracks"
    print(f"{len(tracks)} tracks ({len(reports[0].tracks)} {unit}); model {args.model}, engine {base.engine}, "
          f"precision {args.precision}; global SDR in dB\n")
    print("| separation | vocals median / mean | instrumental median / mean | s per audio s |")
    print("|---|---|---|---|")
    rows = []
    for (name, _), report in zip(variants, reports):
        sdr = report.stats("sdr")
        rows.append({"name": name, "sdr": sdr, "seconds_per_audio_second": report.seconds_per_audio_second})
        print(f"| {name} | {sdr['vocals']['median']:.2f} / {sdr['vocals']['mean']:.2f} | "
              f"{sdr['instrumental']['median']:.2f} / {sdr['instrumental']['mean']:.2f} | "
              f"{report.seconds_per_audio_second:.3f} |")
    for stem, p in paired.items():
        low, high = p["mean_difference_95"] or (float("nan"), float("nan"))
        print(f"\nswap - one pass, {stem}: mean {p['mean_difference']:+.3f} dB [{low:+.3f}, {high:+.3f}], "
              f"better on {p['better']} of {p['tracks']} {unit}, worse on {p['worse']}", end="")
    ratio = reports[1].seconds_per_audio_second / reports[0].seconds_per_audio_second
    print(f"\ntime: {ratio:.2f}x one pass")
    if args.json:
        args.json.write_text(json.dumps({"data": str(args.data), "model": args.model, "engine": base.engine,
                                         "precision": args.precision, "segment_seconds": args.segment_seconds,
                                         "rows": rows, "paired_swap_minus_one_pass": paired, "time_ratio": ratio,
                                         "models": [r.to_dict() for r in reports]}, indent=2) + "\n")


if __name__ == "__main__":
    main()
