"""Write copies of stems folders as the music users also bring: mono, band-limited by a low sample rate, or with the
voice mixed louder or quieter.

    python recipes/data/degrade_stems.py ../shared/data/musdb7/valid -o data/valid-mono --mono
    python recipes/data/degrade_stems.py ../shared/data/musdb7/valid -o data/valid-16k --rate 16000
    python recipes/data/degrade_stems.py ../shared/data/musdb7/valid -o data/valid-32k --rate 32000
    python recipes/data/degrade_stems.py ../shared/data/musdb7/valid -o data/valid-vocals+4 --vocals-db 4

Why: the unseen MIR-1K clips this project is judged on are 16 kHz mono (an 8 kHz band), old records are mono,
and a 128 kbit/s MP3 is low-passed near 16 kHz, while almost all full-band training material is wide stereo. MIR-1K
also mixes its voice as loud as the band (0 dB; MUSDB's previews have it about 4 dB below), as karaoke and demo
recordings often do: `--vocals-db G` scales the vocal stem by G dB before anything else. Every
stem is degraded the same way, so the references stay exactly what is in the mixture and `evaluate` /
`benchmarks/compare_spleeter.py` score how well a model separates such an input. `--rate R` resamples every
stem to R Hz as it is read (the tool's own soxr reader), which removes everything above R / 2; `evaluate` resamples it back
to the model's rate and the estimates to R. `--mono` averages the channels. Output: OUT/<track>/<source file
name>.wav (32-bit float, so nothing clips), each track folder written whole under a temporary name and renamed;
folders already there are skipped.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import soundfile as sf

from vocal_remover.audio import read_audio
from vocal_remover.errors import VocalRemoverError
from vocal_remover.evaluate import find_tracks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="stems dataset folder (<track>/<stem>.*)")
    parser.add_argument("-o", "--output", required=True, type=Path)
    parser.add_argument("--rate", type=int, help="resample every stem to this rate (Hz)")
    parser.add_argument("--mono", action="store_true", help="average the channels")
    parser.add_argument("--vocals-db", type=float, default=0.0, help="scale the vocal stem by this many dB")
    args = parser.parse_args()
    if not args.mono and not args.rate and not args.vocals_db:
        parser.error("nothing to do: give --mono, --rate, --vocals-db or any of them together")
    if not -40 <= args.vocals_db <= 40:
        parser.error(f"--vocals-db {args.vocals_db}: must be between -40 and 40")
    if args.rate is not None and not 4000 <= args.rate <= 192000:
        parser.error(f"--rate {args.rate}: must be between 4000 and 192000")
    try:
        tracks = find_tracks(args.source)
        args.output.mkdir(parents=True, exist_ok=True)
        written = 0
        for track in tracks:
            dest = args.output / track.folder.name
            if dest.exists():
                continue
            partial = args.output / f".{track.folder.name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            try:
                for stem, path in track.stems.items():  # files keep their names (accompaniment stays accompaniment)
                    audio, rate = read_audio(path, samplerate=args.rate)  # None: the file's own rate
                    if stem == "vocals":
                        audio = audio * 10 ** (args.vocals_db / 20)
                    if args.mono:
                        audio = audio.mean(axis=1, keepdims=True)
                    sf.write(partial / f"{Path(path).stem}.wav", audio, rate, subtype="FLOAT")
                partial.rename(dest)
            finally:
                shutil.rmtree(partial, ignore_errors=True)  # nothing half-written stays behind
            written += 1
    except (VocalRemoverError, OSError, RuntimeError) as exc:
        sys.exit(f"Error: {exc}")
    print(f"{written} tracks written to {args.output} ({len(tracks) - written} already there)")


if __name__ == "__main__":
    main()
