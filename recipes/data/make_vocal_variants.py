"""Write one pitch-shifted / time-stretched copy of every vocal stem as a vocals-only pool.

    python recipes/data/make_vocal_variants.py ../shared/data/ssvd/vocals data/eir-train ../shared/data/musdb7/train \
        -o data/vocal-variants --semitones=-3,-2,-1,1,2,3 --stretches 0.9,1,1.1

Sources are folders of vocal files (a pool's vocals/) or stems folders (<track>/vocals.*). Each file gets
one variant, chosen from the lists by a hash of its path (reproducible). Output:
OUT/vocals/<source>__<track>__p<semitones>_s<stretch>.flac, written atomically; files already there are
skipped, so the script resumes. Then `vocal-remover cache OUT -o CACHE` (a vocals-only pool).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import soundfile as sf

from vocal_remover.audio import read_audio
from vocal_remover.data.vocal_variants import pick_variant, vocal_variant

AUDIO = (".ogg", ".flac", ".wav", ".mp3", ".opus")


def float_list(text: str) -> list[float]:
    """'-2,-1,1,2' -> [-2.0, -1.0, 1.0, 2.0], or a one-line argparse error."""
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def vocal_files(source: Path) -> list[Path]:
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO)
    stems = [p for p in files if p.stem.lower() == "vocals"]
    return stems or files  # a stems folder: only its vocals; a pool folder: every file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", type=Path)
    parser.add_argument("-o", "--output", required=True, type=Path)
    parser.add_argument("--semitones", type=float_list, default="-3,-2,-1,1,2,3")
    parser.add_argument("--stretches", type=float_list, default="0.9,1,1.1")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    semitones, stretches = args.semitones, args.stretches
    out = args.output / "vocals"
    out.mkdir(parents=True, exist_ok=True)
    for source in args.sources:
        files = vocal_files(source)
        for k, f in enumerate(files, 1):
            rel = f.relative_to(source)
            track = "__".join(rel.parent.parts) if f.stem.lower() == "vocals" else str(rel.with_suffix(""))
            shift, stretch = pick_variant(f"{source.name}/{rel}", semitones, stretches, args.seed)
            dest = out / f"{source.name}__{track.replace('/', '__')}__p{shift:+g}_s{stretch:g}.flac"
            if dest.exists():
                continue
            audio, rate = read_audio(f, None)
            variant = vocal_variant(audio, rate, shift, stretch)
            tmp = dest.with_name(f".{dest.name}.partial")
            sf.write(tmp, variant, rate, subtype="PCM_16", format="FLAC")
            os.replace(tmp, dest)
            print(f"[{k}/{len(files)}] {source.name}/{rel}: {shift:+g} semitones, x{stretch:g}", file=sys.stderr,
                  flush=True)


if __name__ == "__main__":
    main()
