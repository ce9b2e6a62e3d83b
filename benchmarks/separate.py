"""Separation speed and memory: wall seconds per audio second and peak RSS.

Each measurement runs in a fresh child process (so peak RSS is that run's own), separating a
generated stereo 44.1 kHz WAV file to WAV through `Separator.separate_file`, the code path of
`vocal-remover separate`. Models are untrained presets (speed does not depend on the weights).

    python benchmarks/separate.py                       # docs/benchmarks.md: speed + memory vs length
    python benchmarks/separate.py --presets tiny --seconds 60 --skip-memory
    python benchmarks/separate.py --presets default --seconds 180 --batch-sizes 1,2,4 --skip-memory

`--presets` also takes model folders and registry names (e.g. `default`, the packaged trained model).

Prints a Markdown table; `--json FILE` also writes the raw figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_wav(path: Path, seconds: float, rate: int = 44100) -> None:
    """A deterministic music-like stereo signal, written in blocks (never all in memory)."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    block = rate * 10
    with sf.SoundFile(path, "w", rate, 2, subtype="PCM_16") as f:
        written, total = 0, int(seconds * rate)
        while written < total:
            n = min(block, total - written)
            t = (written + np.arange(n)) / rate
            tone = 0.2 * np.sin(2 * np.pi * 220 * t) * np.exp(-2 * (t % 0.5))
            noise = 0.02 * rng.standard_normal((n, 2))
            f.write((tone[:, None] + noise).astype(np.float32))
            written += n


def child(args: argparse.Namespace) -> None:
    """Runs in the child: load, separate, report wall time and this process's peak RSS."""
    import torch

    torch.set_num_threads(args.threads)
    from vocal_remover.artifacts import LoadedModel
    from vocal_remover.model import build_model, get_preset
    from vocal_remover.separator import Separator

    from vocal_remover.model import PRESETS

    if args.preset in PRESETS:
        torch.manual_seed(0)
        model = build_model(get_preset(args.preset)).eval()
        source = LoadedModel(model=model, config=model.config, metadata={"trained": False})
    else:
        source = args.preset  # a model folder or registry name
    sep = Separator(source, device=args.device, window=args.window, overlap=args.overlap,
                    batch_size=args.batch_size or None)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = sep.separate_file(args.input, out)
        wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"preset": args.preset, "audio_seconds": result.seconds, "wall_seconds": wall,
                      "seconds_per_audio_second": wall / result.seconds, "realtime_factor": result.seconds / wall,
                      "peak_rss_mib": peak_kib / 1024, "window": sep.window, "overlap": sep.overlap,
                      "batch_size": sep.batch_size}))


def measure(preset: str, wav: Path, args: argparse.Namespace, batch_size: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--child", "--preset", preset, "--input", str(wav), "--threads",
           str(args.threads), "--device", args.device, "--overlap", str(args.overlap), "--batch-size", str(batch_size)]
    if args.window:
        cmd += ["--window", str(args.window)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"child failed for {preset}:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--preset", default="tiny", help=argparse.SUPPRESS)
    parser.add_argument("--presets", default="tiny,small,seed-150m", help="presets for the speed table")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the speed-test file")
    parser.add_argument("--memory-preset", default="small", help="preset for the memory-vs-length test")
    parser.add_argument("--memory-minutes", default="3,60", help="lengths for the memory test")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--window", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--batch-sizes", default="", help="windows per forward pass to compare (default: the "
                        "Separator's default only)")
    parser.add_argument("--overlap", type=float, default=0.125)
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    args = parser.parse_args()
    if args.child:
        return child(args)

    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {args.threads}"
    results: dict = {"machine": machine, "speed": [], "memory": []}
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speed.wav"
        make_wav(wav, args.seconds)
        print(f"Speed on a {args.seconds:.0f} s stereo file ({machine}), overlap {args.overlap}\n")
        print("| preset | batch | s per audio s | x real time | peak RSS (MiB) |")
        print("|---|---|---|---|---|")
        batches = [int(b) for b in args.batch_sizes.split(",") if b] or [0]
        for preset in [p for p in args.presets.split(",") if p]:
            for batch in batches:
                r = measure(preset, wav, args, batch)
                results["speed"].append(r)
                print(f"| {preset} | {r['batch_size']} | {r['seconds_per_audio_second']:.3f} | "
                      f"{r['realtime_factor']:.1f} | {r['peak_rss_mib']:.0f} |", flush=True)
        if not args.skip_memory:
            print(f"\nPeak RSS against length ({args.memory_preset})\n")
            print("| length (min) | peak RSS (MiB) | s per audio s | RSS / first |")
            print("|---|---|---|---|")
            first = None
            for minutes in [float(m) for m in args.memory_minutes.split(",")]:
                path = Path(tmp) / f"{minutes:g}min.wav"
                make_wav(path, minutes * 60)
                r = measure(args.memory_preset, path, args)
                path.unlink()
                first = first or r["peak_rss_mib"]
                r["minutes"] = minutes
                results["memory"].append(r)
                print(f"| {minutes:g} | {r['peak_rss_mib']:.0f} | {r['seconds_per_audio_second']:.3f} | "
                      f"{r['peak_rss_mib'] / first:.3f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
