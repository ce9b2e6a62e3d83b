"""The tone of a cache's vocals: each crop's energy around the stem equaliser's anchors, against its whole.

    python recipes/vocal_balance.py CACHE/musdb7-train CACHE/ssvd [--crops 400] [--json FILE]

For every cache, `--crops` crops of 6 s are drawn (seed 0) from the active regions of its vocal stems (tracks drawn
by length, as training draws them); each crop's balance is `vocal_remover.data.augment.band_balance` (dB per band
around 63, 160, 400, 1000, 2500, 6300 and 16000 Hz, edges at the geometric midpoints). Printed: the median over crops
per band, with the interquartile range. musdb7/train's median is MIXED_VOCAL_BALANCE_DB, the target of the tone match
(`vocal_match_prob`). Crops quieter than -60 dBFS are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vocal_remover.data import AudioCache  # noqa: E402
from vocal_remover.data.augment import EQ_ANCHORS_HZ, MIXED_VOCAL_BALANCE_DB, band_balance  # noqa: E402
from vocal_remover.data.datasets import _Pool, _track_weights  # noqa: E402

SECONDS = 6.0


def balances(cache: AudioCache, crops: int, seed: int = 0) -> np.ndarray:
    pool = _Pool([e for e in _track_weights([cache], None) if "vocals" in e[1].stored], active_only=True)
    if not len(pool):
        raise SystemExit(f"Error: {cache.root} has no vocal stems with audible vocals")
    rng = np.random.default_rng(seed)
    length = int(SECONDS * cache.sample_rate)
    out = []
    while len(out) < crops:
        c, t = pool.pick(rng)
        x = c.read_planar(t.id, ("vocals",), pool.start(rng, t, length), length)["vocals"]
        if np.mean(x.astype(np.float64) ** 2) < 1e-6:
            continue
        out.append(band_balance(x, c.sample_rate))
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("caches", nargs="+", type=Path)
    parser.add_argument("--crops", type=int, default=400)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(f"{'cache':<16}" + "".join(f"{int(f):>20}" for f in EQ_ANCHORS_HZ))
    print(f"{'(target)':<16}" + "".join(f"{v:>20.1f}" for v in MIXED_VOCAL_BALANCE_DB))
    report = {"anchors_hz": list(EQ_ANCHORS_HZ), "crops": args.crops, "seconds": SECONDS, "caches": {}}
    for path in args.caches:
        b = balances(AudioCache.open(path), args.crops)
        q1, median, q3 = np.percentile(b, [25, 50, 75], axis=0)
        cells = "".join(f"{m:.1f} [{lo:.1f}, {hi:.1f}]".rjust(20) for m, lo, hi in zip(median, q1, q3))
        print(f"{path.name:<16}{cells}")
        report["caches"][path.name] = {"median_db": [round(float(v), 2) for v in median],
                                       "q1_db": [round(float(v), 2) for v in q1],
                                       "q3_db": [round(float(v), 2) for v in q3]}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
