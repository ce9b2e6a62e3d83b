"""Per-file cost: a folder of short clips against one long song of the same music and total length.

The clips are real music: 20 clips of 4 to 8 s (lengths spaced evenly, 120 s in all) cut from the
mixtures of `../shared/data/musdb7/valid`; the long song is the same 120 s in one file. Each is separated
by `vocal-remover separate` in a fresh process (WAV in, two WAVs per input out), timed from start to exit,
the two in alternation for `--rounds` rounds. Reported: wall seconds per audio second of each and their
ratio (folder / song; the per-round ratios too), for each `--configs` entry (extra `separate` options).

    python benchmarks/short_clips.py
    python benchmarks/short_clips.py --configs "default=;fp32=--precision fp32" --rounds 3
    python benchmarks/short_clips.py --baseline-repo ../main     # also the code in another checkout

`--baseline-repo DIR` also times the package found in DIR (e.g. the main branch before this change), in
the same rounds, for a before/after comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

from timing import CPU_SECONDS, timed  # benchmarks/timing.py (the script's folder is on sys.path)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "musdb7" / "valid"


def make_inputs(folder: Path, song: Path, clips: int, shortest: float, longest: float) -> float:
    """Writes `clips` WAV clips into `folder` and the same audio as one file `song`; returns the seconds."""
    import numpy as np
    import soundfile as sf

    mixes = []
    for track in sorted(p for p in DATA.iterdir() if p.is_dir()):
        vocals, rate = sf.read(track / "vocals.ogg", dtype="float32", always_2d=True)
        accomp, _ = sf.read(track / "accompaniment.ogg", dtype="float32", always_2d=True)
        n = min(len(vocals), len(accomp))
        mixes.append(np.clip(vocals[:n] + accomp[:n], -1, 1))
    music = np.concatenate(mixes * 3)
    folder.mkdir()
    pieces, pos = [], 0
    for i in range(clips):
        seconds = shortest + (longest - shortest) * i / max(1, clips - 1)
        n = int(seconds * rate)
        piece = music[pos:pos + n]
        pos += n
        sf.write(folder / f"clip{i:02d}.wav", piece, rate, subtype="PCM_16")
        pieces.append(piece)
    whole = np.concatenate(pieces)
    sf.write(song, whole, rate, subtype="PCM_16")
    return len(whole) / rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--shortest", type=float, default=4.0)
    parser.add_argument("--longest", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--configs", default="default=",
                        help="NAME=OPTIONS entries separated by ';' (OPTIONS: extra `separate` options)")
    parser.add_argument("-m", "--model", default="default")
    parser.add_argument("--baseline-repo", type=Path, default=None,
                        help="also time the vocal_remover package of this checkout")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    configs = {}
    for entry in filter(None, args.configs.split(";")):
        name, _, options = entry.partition("=")
        configs[name] = shlex.split(options)
    repos = {"this": REPO}
    if args.baseline_repo:
        repos["baseline"] = args.baseline_repo.resolve()
    results: dict = {"clips": args.clips, "clip_seconds": [args.shortest, args.longest], "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder, song = tmp / "clips", tmp / "song.wav"
        seconds = make_inputs(folder, song, args.clips, args.shortest, args.longest)
        results["audio_seconds"] = seconds
        print(f"{args.clips} clips of {args.shortest:g}-{args.longest:g} s and one song, {seconds:.1f} s each",
              flush=True)
        cache = tmp / "onnx-cache"
        walls: dict = {}
        for r in range(args.rounds):
            for repo_name, repo in repos.items():
                env = {**os.environ, "PYTHONPATH": str(repo), "VOCAL_REMOVER_ONNX_CACHE": str(cache)}
                for name, options in configs.items():
                    for kind, src in (("folder", folder), ("song", song)):
                        out = tmp / f"out-{repo_name}-{name}-{kind}-{r}"
                        cmd = [sys.executable, "-m", "vocal_remover", "separate", str(src), "-o", str(out),
                               "-m", args.model, "--progress", "none", "-q", *options]
                        if r == 0 and kind == "folder":
                            timed(cmd, env)  # warm-up: file caches, and the one-time ONNX export if any
                        wall = timed(cmd, env)
                        walls.setdefault((repo_name, name, kind), []).append(wall)
                        results["runs"].append({"repo": repo_name, "config": name, "kind": kind, "round": r,
                                                "wall_seconds": wall, "cpu_seconds": CPU_SECONDS[-1]})
                        print(f"round {r + 1} {repo_name} {name} {kind}: {wall:.2f} s wall, "
                              f"{CPU_SECONDS[-1]:.2f} s CPU", flush=True)
    print("\n| code | configuration | folder s per audio s | song s per audio s | folder / song (medians) "
          "| per-round ratios |")
    print("|---|---|---|---|---|---|")
    summary = []
    for repo_name in repos:
        for name in configs:
            f, s = walls[(repo_name, name, "folder")], walls[(repo_name, name, "song")]
            ratio = statistics.median(f) / statistics.median(s)
            rounds = [a / b for a, b in zip(f, s)]
            summary.append({"repo": repo_name, "config": name, "folder_spas": statistics.median(f) / seconds,
                            "song_spas": statistics.median(s) / seconds, "ratio": ratio, "round_ratios": rounds})
            print(f"| {repo_name} | {name} | {statistics.median(f) / seconds:.4f} | "
                  f"{statistics.median(s) / seconds:.4f} | {ratio:.2f} | {', '.join(f'{x:.2f}' for x in rounds)} |")
    print("\nCPU seconds: folder / song, per round: " + "; ".join(
        f"{repo} {name} " + ", ".join(f"{a['cpu_seconds'] / b['cpu_seconds']:.2f}" for a, b in zip(
            [x for x in results["runs"] if (x["repo"], x["config"], x["kind"]) == (repo, name, "folder")],
            [x for x in results["runs"] if (x["repo"], x["config"], x["kind"]) == (repo, name, "song")]))
        for repo in repos for name in configs))
    results["summary"] = summary
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
