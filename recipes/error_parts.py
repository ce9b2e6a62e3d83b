#!/usr/bin/env python
"""Where a model's vocal error comes from, track by track: vocals kept, accompaniment leaked in, artefacts.

    python recipes/error_parts.py ../shared/data/musdb7/valid -m vocal_remover/models/default -m runs/v20/s20-AB

The vocal estimate v^ of each track is split by least squares (both channels, the whole track) into
v^ = a s + b x + e, with s the true vocals, x the true accompaniment and e what neither explains:
  kept     a, the share of the true vocals in the estimate (1: all of it; below 1: vocals left in the instrumental)
  leak     10 log10(|b x|^2 / |a s|^2) dB: accompaniment in the vocal estimate, against the vocals kept
  art      10 log10(|e|^2 / |a s|^2) dB: artefacts, against the vocals kept
  sdr      global SDR of the vocals (as `evaluate` scores them)
A simplified BSS-eval (no distortion filters, one gain per source), read beside SDR to see why a candidate moves a
track: session 18 found the packaged model mostly leaves vocals behind (kept 0.14-0.79).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from vocal_remover import evaluate as ev
from vocal_remover.errors import VocalRemoverError
from vocal_remover.separator import Separator


def error_parts(vocals: np.ndarray, accompaniment: np.ndarray, estimate: np.ndarray) -> dict[str, float]:
    """The split above for (n, channels) arrays."""
    basis = np.stack([vocals.ravel(), accompaniment.ravel()], axis=1).astype(np.float64)
    target = estimate.ravel().astype(np.float64)
    (a, b), *_ = np.linalg.lstsq(basis, target, rcond=None)
    kept_part, leak_part = a * basis[:, 0], b * basis[:, 1]
    rest = target - kept_part - leak_part
    kept_energy = max(float(kept_part @ kept_part), 1e-12)
    return {"kept": float(a),
            "leak": 10 * np.log10(max(float(leak_part @ leak_part), 1e-12) / kept_energy),
            "art": 10 * np.log10(max(float(rest @ rest), 1e-12) / kept_energy),
            "sdr": ev.global_sdr(vocals, estimate)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a folder of tracks with vocals and accompaniment stems")
    parser.add_argument("-m", "--model", action="append", required=True, help="model (repeat; the first is the base)")
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args(argv)
    try:
        tracks = ev.find_tracks(args.data)  # before any model loads: a wrong folder fails at once
        separators = [Separator(m, precision=args.precision, engine="torch") for m in args.model]
        print("track | " + " | ".join(f"model {i}: kept, leak, art, sdr" for i in range(len(separators))))
        rows = [report_track(ev.load_track(track), separators) for track in tracks]
    except VocalRemoverError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    for i, model in enumerate(args.model):
        kept = np.median([r[i]["kept"] for r in rows])
        leak = np.median([r[i]["leak"] for r in rows])
        art = np.median([r[i]["art"] for r in rows])
        print(f"median, model {i} ({model}): kept {kept:.2f}, leak {leak:+.1f} dB, art {art:+.1f} dB")
    return 0


def report_track(audio: ev.TrackAudio, separators: list[Separator]) -> list[dict[str, float]]:
    """Every model's error parts on one track, printed as a row."""
    parts = [error_parts(audio.stems["vocals"], audio.stems["instrumental"],
                         s.separate_array(audio.mixture, audio.rate)["vocals"]) for s in separators]
    print(f"{audio.name[:34]:34s} | " + " | ".join(
        f"{p['kept']:.2f} {p['leak']:+6.1f} {p['art']:+6.1f} {p['sdr']:5.2f}" for p in parts), flush=True)
    return parts


if __name__ == "__main__":
    raise SystemExit(main())
