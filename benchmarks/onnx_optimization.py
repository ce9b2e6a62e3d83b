"""In-process separation speed of the onnx engine at onnxruntime's graph optimisation levels, side by side.

`Separator` (the CPU default: onnx engine, fp32, one pass per window) separates one real song (the mixtures of
`../shared/data/musdb7/valid` end to end, `--seconds` long, as engine_vs_spleeter.py makes it) with its network
loaded at each level in turn, `--rounds` times in alternation; the table has each level's median seconds, its
speed relative to "all" (what the engine used before session 18), and the largest difference of its
instrumental from the "all" one (the levels must separate alike).

    python benchmarks/onnx_optimization.py                       # docs/benchmarks.md
    python benchmarks/onnx_optimization.py --swap-channels --json benchmarks/results-onnx-optimization-cpu.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_vs_spleeter import cpu_model, make_song  # noqa: E402  (this folder)

LEVELS = ("all", "extended", "basic")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-m", "--model", default="default")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: all cores)")
    parser.add_argument("--swap-channels", action="store_true", help="both channel orders (the GPU default)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import os

    import numpy as np
    import soundfile as sf

    from vocal_remover.artifacts.onnx_model import OnnxMaskModel
    from vocal_remover.separator import Separator

    with tempfile.TemporaryDirectory() as tmp:
        song_path = Path(tmp) / "song.wav"
        make_song(song_path, args.seconds)
        song, rate = sf.read(song_path, dtype="float32", always_2d=True)
    separator = Separator(args.model, engine="onnx", precision="fp32", swap_channels=args.swap_channels)
    path = separator.model.path
    networks = {level: OnnxMaskModel(path, threads=args.threads, optimization=level) for level in LEVELS}
    print(f"{args.seconds:.0f} s song; {cpu_model()}, {os.cpu_count()} cores; {path.name}; "
          f"swap channels {args.swap_channels}", flush=True)
    times: dict[str, list[float]] = {level: [] for level in LEVELS}
    outputs = {}
    for r in range(args.rounds + 1):  # round 0 warms each session up and is not counted
        for level, network in networks.items():
            separator.model = network
            start = time.perf_counter()
            out = separator.separate_array(song, rate)
            wall = time.perf_counter() - start
            if r:
                times[level].append(wall)
                print(f"round {r} {level}: {wall:.2f} s", flush=True)
            outputs[level] = out["instrumental"]
    ref = statistics.median(times["all"])
    summary = {}
    print("\n| graph optimisation | median s | x real time | speed vs \"all\" | max instrumental difference |")
    print("|---|---|---|---|---|")
    for level in LEVELS:
        med = statistics.median(times[level])
        diff = float(np.abs(outputs[level] - outputs["all"]).max())
        summary[level] = {"median_seconds": med, "rounds": times[level], "speed_vs_all": ref / med,
                          "max_instrumental_difference": diff}
        print(f"| {level} | {med:.2f} | {args.seconds / med:.1f} | {ref / med:.2f}x | {diff:.1e} |")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_model(), "cores": os.cpu_count(), "song_seconds": args.seconds,
                                         "swap_channels": args.swap_channels, "threads": args.threads,
                                         "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
