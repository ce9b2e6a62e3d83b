"""The tone of a cache's vocals: each crop's energy around the stem equaliser's anchors, against its whole.

    python recipes/vocal_balance.py CACHE/musdb7-train CACHE/ssvd [--crops 400] [--json FILE]

For every cache, `--crops` crops of 6 s are drawn (seed 0) from the active regions of its vocal stems (tracks drawn
by length, as training draws them); each crop's balance is `vocal_remover.data.augment.band_balance` (dB per band
around 63, 160, 400, 1000, 2500, 6300 and 16000 Hz, edges at the geometric midpoints). Printed: the median over crops
per band, with the interquartile range. musdb7/train's median is MIXED_VOCAL_BALANCE_DB, the target of the tone match
(`vocal_match_prob`). Crops quieter than -60 dBFS are skipped.

Beside it, how dynamic the voice is: each crop's `level_spread` (the 90th less the 10th percentile of its 100-ms levels,
over the windows within 20 dB of its loudest: the sung notes; and within 40 dB: breaths, decays and reverb tails as
well), the median over crops.

And how much of the voice's highs is noise: each crop's `silent_highs`, the share of its energy above 11 kHz that lies
in frames 40 dB or more below its loudest in the voice's band (200 Hz-4 kHz), the mean over crops. A phone's hiss
between the notes would be labelled voice when the crop is remixed (session 45 asked whether it taught the model to
take accompaniment's highs for voice).
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
from vocal_remover.errors import DataError, VocalRemoverError  # noqa: E402

SECONDS = 6.0


def level_spread(audio: np.ndarray, rate: int, within_db: float) -> float:
    """(channels, n) audio -> P90 - P10 of its 100-ms levels (dB, both channels together), over the windows within
    `within_db` of the loudest."""
    window = rate // 10
    count = audio.shape[1] // window
    power = np.mean(audio[:, :count * window].astype(np.float64) ** 2, axis=0).reshape(count, window).mean(axis=1)
    level = 10.0 * np.log10(power + 1e-12)
    kept = level[level > level.max() - within_db]
    return float(np.percentile(kept, 90) - np.percentile(kept, 10))


def silent_highs(audio: np.ndarray, rate: int, below_db: float = 40.0) -> float:
    """(channels, n) audio -> the share (0-1) of its energy above 11 kHz in the 2048-sample frames (hop 512) whose
    200 Hz-4 kHz energy is `below_db` or more under the loudest frame's; 0 where it has no highs or is too short."""
    size, hop = 2048, 512
    mono = audio.astype(np.float64).mean(axis=0)
    if len(mono) < size:
        return 0.0
    frames = np.lib.stride_tricks.sliding_window_view(mono, size)[::hop] * np.hanning(size)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    voice = power[:, (freqs >= 200.0) & (freqs < 4000.0)].sum(axis=1)
    highs = power[:, freqs >= 11000.0].sum(axis=1)
    if highs.sum() <= 0.0:
        return 0.0
    silent = voice < voice.max() * 10.0 ** (-below_db / 10.0)
    return float(highs[silent].sum() / highs.sum())


def measure(cache: AudioCache, crops: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(crops, anchors) balances and (crops, 3) level spreads (within 20 and 40 dB) and silent highs of a cache's
    vocals."""
    pool = _Pool([e for e in _track_weights([cache], None) if "vocals" in e[1].stored], active_only=True)
    if not len(pool):
        raise DataError(str(cache.path), "has no vocal stems with audible vocals")
    rng = np.random.default_rng(seed)
    length = int(SECONDS * cache.sample_rate)
    out, levels = [], []
    for _ in range(50 * crops):  # bounded: a cache whose voices are all nearly silent must not loop forever
        if len(out) == crops:
            break
        c, t = pool.pick(rng)
        x = c.read_planar(t.id, ("vocals",), pool.start(rng, t, length), length)["vocals"]
        if np.mean(x.astype(np.float64) ** 2) < 1e-6:
            continue
        out.append(band_balance(x, c.sample_rate))
        levels.append([level_spread(x, c.sample_rate, 20.0), level_spread(x, c.sample_rate, 40.0),
                        silent_highs(x, c.sample_rate)])
    if len(out) < crops:
        raise DataError(str(cache.path), f"gave {len(out)} audible crops of {crops} in {50 * crops} draws")
    return np.array(out), np.array(levels)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("caches", nargs="+", type=Path)
    parser.add_argument("--crops", type=int, default=400)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    try:
        caches = [AudioCache.open(path) for path in args.caches]  # all checked before any is measured
    except VocalRemoverError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    print(f"{'cache':<16}" + "".join(f"{int(f):>20}" for f in EQ_ANCHORS_HZ)
          + "   spread 20 / 40 dB   silent highs")
    print(f"{'(target)':<16}" + "".join(f"{v:>20.1f}" for v in MIXED_VOCAL_BALANCE_DB))
    report = {"anchors_hz": list(EQ_ANCHORS_HZ), "crops": args.crops, "seconds": SECONDS, "caches": {}}
    for path, cache in zip(args.caches, caches):
        try:
            b, levels = measure(cache, args.crops)
        except VocalRemoverError as error:
            print(f"Error: {error}", file=sys.stderr)
            return 1
        q1, median, q3 = np.percentile(b, [25, 50, 75], axis=0)
        cells = "".join(f"{m:.1f} [{lo:.1f}, {hi:.1f}]".rjust(20) for m, lo, hi in zip(median, q1, q3))
        spread20, spread40 = np.median(levels[:, :2], axis=0)
        highs = 100.0 * float(np.mean(levels[:, 2]))
        print(f"{path.name:<16}{cells}   {spread20:.1f} / {spread40:.1f}   {highs:.2f}%")
        report["caches"][path.name] = {"median_db": [round(float(v), 2) for v in median],
                                       "q1_db": [round(float(v), 2) for v in q1],
                                       "q3_db": [round(float(v), 2) for v in q3],
                                       "level_spread_db": {"within_20_db": round(float(spread20), 2),
                                                           "within_40_db": round(float(spread40), 2)},
                                       "silent_highs_percent": round(highs, 3)}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
