"""An evaluation set of instrumental music: pieces of a folder of instrumentals as `stems` tracks whose vocals are
silence, so that `vocal-remover evaluate` scores how much of the music a model takes for voice. The vocal SDR means
nothing there (its reference is silence); the instrumental SDR is the mixture's energy over the vocal estimate's, in
dB, so higher means less music lost to the vocal track.

    python recipes/data/instrumental_set.py data/debian-screened/instrumentals/wesnoth-1.16-music \
        -o data/heldout-instrumental --seconds 15 --count 60 --exclude nunc_dimittis

Files are taken in name order, `count` of them evenly spread over the folder, one piece from each file's
start; files shorter than `seconds` are skipped. Written as OUT/<file stem>/{accompaniment,vocals}.flac.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import soundfile as sf

AUDIO = (".flac", ".ogg", ".opus", ".wav", ".mp3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a folder of instrumental audio files")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each piece")
    parser.add_argument("--count", type=int, default=60, help="at most this many pieces")
    parser.add_argument("--exclude", default="", help="comma-separated name parts of files to leave out (sung pieces)")
    args = parser.parse_args()
    files = sorted(p for p in Path(args.folder).rglob("*") if p.suffix.lower() in AUDIO)
    excluded = [part for part in args.exclude.split(",") if part]
    files = [f for f in files if not any(part in f.name for part in excluded)]
    long_enough = [(f, info) for f in files if (info := sf.info(f)).duration >= args.seconds]
    if not long_enough:
        raise SystemExit(f"Error: no audio file of {args.seconds} s or more in {args.folder}")
    picks = np.unique(np.linspace(0, len(long_enough) - 1, min(args.count, len(long_enough))).round().astype(int))
    chosen = [long_enough[i] for i in picks]
    for f, info in chosen:
        audio, rate = sf.read(f, frames=int(args.seconds * info.samplerate), dtype="float32", always_2d=True)
        track = Path(args.output) / f.stem
        track.mkdir(parents=True, exist_ok=True)
        for stem, data in (("accompaniment", audio), ("vocals", np.zeros_like(audio))):
            tmp = track / f".{stem}.partial.flac"
            sf.write(tmp, data, rate, subtype="PCM_16")
            os.replace(tmp, track / f"{stem}.flac")
    print(f"{len(chosen)} pieces of {args.seconds:g} s in {args.output}")


if __name__ == "__main__":
    main()
