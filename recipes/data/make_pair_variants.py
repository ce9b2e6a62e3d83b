"""Write pitch-shifted / time-stretched copies of whole tracks (every stem moved by the same amounts) as new
stems folders: more real pairs whose vocal and accompaniment still agree in key and tempo.

    python recipes/data/make_pair_variants.py ../shared/data/musdb7/train data/eir-train -o data/pair-variants \
        --variants 2 --semitones=-2,-1,1,2 --stretches 0.9,1,1.1

Sources are folders of tracks (<track>/vocals.* and the track's other stems, e.g. accompaniment.*). Each track
gets `--variants` different (semitones, stretch) choices, picked by a hash of its path (reproducible). Output:
OUT/<source>__<track>__p<semitones>_s<stretch>/<stem>.flac, each folder written whole into a temporary folder
and renamed; folders already there are skipped, so the script resumes. Then `vocal-remover cache OUT -o CACHE`.
`--engine torch --device cuda --format wav` makes the same variants without librosa, with the phase vocoder on a
GPU and no FLAC encoding (recipes/gpu_session.sh does this on a lent GPU machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import soundfile as sf

from vocal_remover.audio import read_audio
from vocal_remover.data.vocal_variants import pick_variant, stems_variant

from make_vocal_variants import AUDIO, float_list  # this folder (the script's own) is on sys.path


def track_folders(source: Path) -> list[Path]:
    """Folders under `source` that hold a vocals stem and at least one other stem."""
    found = []
    for root, _, names in os.walk(source, followlinks=True):  # track folders are often symlinks
        stems = [n for n in names if Path(n).suffix.lower() in AUDIO]
        if len(stems) >= 2 and any(Path(n).stem.lower() == "vocals" for n in stems):
            found.append(Path(root))
    return sorted(found)


def choices(name: str, semitones: list[float], stretches: list[float], count: int, seed: int) -> list[tuple]:
    """`count` distinct (semitones, stretch) picks for one track (fewer if the lists have fewer pairs)."""
    picked: list[tuple] = []
    attempt = 0
    while len(picked) < min(count, len(semitones) * len(stretches)):
        pick = pick_variant(name, semitones, stretches, seed + 1000 * attempt)
        attempt += 1
        if pick not in picked:
            picked.append(pick)
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", type=Path)
    parser.add_argument("-o", "--output", required=True, type=Path)
    parser.add_argument("--variants", type=int, default=2, help="copies per track")
    parser.add_argument("--semitones", type=float_list, default="-2,-1,1,2")
    parser.add_argument("--stretches", type=float_list, default="0.9,1,1.1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", choices=("librosa", "torch"), default="librosa",
                        help="phase vocoder: librosa's, or the torch one (float64, same steps; no librosa needed)")
    parser.add_argument("--device", default="cpu", help="torch engine's device")
    parser.add_argument("--format", choices=("flac", "wav"), default="flac", help="16-bit files written")
    args = parser.parse_args()
    semitones, stretches = args.semitones, args.stretches
    args.output.mkdir(parents=True, exist_ok=True)
    for source in args.sources:
        tracks = track_folders(source)
        if not tracks:
            sys.exit(f"error: no stems folders (vocals plus another stem) under {source}")
        for k, folder in enumerate(tracks, 1):
            rel = folder.relative_to(source)
            stems = None
            for shift, stretch in choices(f"{source.name}/{rel}", semitones, stretches, args.variants, args.seed):
                dest = args.output / f"{source.name}__{'__'.join(rel.parts)}__p{shift:+g}_s{stretch:g}"
                if dest.exists():
                    continue
                if stems is None:
                    stems = {}
                    for f in sorted(folder.iterdir()):
                        if f.is_file() and f.suffix.lower() in AUDIO:
                            stems[f.stem], rate = read_audio(f)  # one common rate
                tmp = dest.with_name(f".{dest.name}.partial")
                shutil.rmtree(tmp, ignore_errors=True)
                tmp.mkdir()
                moved = stems_variant(stems, rate, shift, stretch, engine=args.engine, device=args.device)
                for name, audio in moved.items():
                    sf.write(tmp / f"{name}.{args.format}", audio, rate, subtype="PCM_16", format=args.format.upper())
                os.replace(tmp, dest)
                print(f"[{k}/{len(tracks)}] {source.name}/{rel}: {shift:+g} semitones, x{stretch:g}",
                      file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
