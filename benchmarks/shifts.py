"""What `--shifts N` buys: SDR on a stems dataset against the number of shifted passes, in one run.

Each N is a `Separator(model, shifts=N)` scored by `vocal_remover.evaluate` (the code path of
`vocal-remover evaluate`: global SDR per track, median and mean over tracks; each track decoded once and
given to every candidate in turn), with its wall seconds per audio second. `--tta` rows can be added for
comparison (the fixed two-grid augmentation).

    python benchmarks/shifts.py                              # default model, musdb7/valid, N = 1, 2, 4, 8
    python benchmarks/shifts.py -m default --shifts 1,2,4 --tta --json benchmarks/results-shifts-cpu.json
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
    parser.add_argument("--shifts", default="1,2,4,8")
    parser.add_argument("--tta", action="store_true", help="also --tta (alone)")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from vocal_remover.artifacts import LoadedModel
    from vocal_remover.evaluate import evaluate, find_tracks, separator_candidate
    from vocal_remover.separator import Separator

    tracks = find_tracks(args.data)
    base = Separator(args.model, precision=args.precision, engine=args.engine)
    # One loaded network for every candidate (the same weights and engine).
    loaded = LoadedModel(model=base.loaded.model, config=base.config, metadata=base.loaded.metadata,
                         path=base.loaded.path)
    engine = base.engine
    variants = [(f"shifts={n}", {"shifts": int(n)}) for n in args.shifts.split(",") if n]
    if args.tta:
        variants.append(("tta", {"tta": True}))
    candidates = [separator_candidate(Separator(loaded, precision=args.precision, engine=engine, **kw), name=name)
                  for name, kw in variants]
    reports = evaluate(tracks, candidates, bss=False)
    seconds = sum(t.seconds for t in reports[0].tracks)
    print(f"{len(tracks)} tracks, {seconds:.0f} s of audio; model {args.model}, engine {engine}, precision "
          f"{args.precision}; global SDR in dB, median / mean over tracks\n")
    print("| passes | vocals median / mean | instrumental median / mean | s per audio s |")
    print("|---|---|---|---|")
    rows = []
    for (name, _), report in zip(variants, reports):
        sdr = report.stats("sdr")
        rows.append({"name": name, "sdr": sdr, "seconds_per_audio_second": report.seconds_per_audio_second})
        print(f"| {name} | {sdr['vocals']['median']:.2f} / {sdr['vocals']['mean']:.2f} | "
              f"{sdr['instrumental']['median']:.2f} / {sdr['instrumental']['mean']:.2f} | "
              f"{report.seconds_per_audio_second:.3f} |")
    if args.json:
        args.json.write_text(json.dumps({"data": str(args.data), "model": args.model, "engine": engine,
                                         "precision": args.precision, "rows": rows,
                                         "models": [r.to_dict() for r in reports]}, indent=2) + "\n")


if __name__ == "__main__":
    main()
