"""Training throughput: seconds per optimizer step, frames per second and the share of step time spent
waiting for data, for presets trained through the real `Trainer` (finetune mode, voxaug data read from a
cache of real stems).

    python benchmarks/train.py                                   # tiny, small, seed-150m on the CPU
    python benchmarks/train.py --device cuda --presets small,seed-150m --batch-size 16 --cropsize 512
    python benchmarks/train.py --presets seed-150m --activation-checkpointing --device cuda
    python benchmarks/train.py --presets recipes/default-model.json --precision fp32,bf16   # CPU bf16 vs fp32
    python benchmarks/train.py --presets recipes/default-model.json --precision fp32 --strategy full,freeze-linear

`--presets` takes preset names or model-config JSON files; `--precision` and `--strategy` (finetuning strategies)
comma lists: each preset is trained with each precision and strategy in turn (same seed and data) and timed
relative to the first.

The first `--skip` steps (allocator and kernel warm-up) are left out of the medians. Prints a Markdown
table; `--json FILE` also writes the raw figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "musdb7" / "train"


def model_config(preset: str) -> dict:
    """A preset name, or a JSON file of model config fields (like recipes/default-model.json)."""
    from vocal_remover.model import get_preset

    if preset.endswith(".json"):
        data = json.loads(Path(preset).read_text())
        return data.get("model", data)
    return get_preset(preset).to_dict()


def measure(preset: str, precision: str, strategy: str, args: argparse.Namespace, cache: str, tmp: Path) -> dict:
    import torch

    from vocal_remover.train.config import TrainConfig
    from vocal_remover.train.loop import Trainer

    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    run_dir = tmp / f"{Path(preset).stem}-{precision}-{strategy}"
    cfg = TrainConfig(mode="finetune", data=[cache], run_dir=str(run_dir), model=model_config(preset),
                      steps=args.steps, cropsizes=[args.cropsize], batch_sizes=[args.batch_size], warmup=1,
                      val_every=0, checkpoint_every=10**9, device=args.device, precision=precision,
                      activation_checkpointing=args.activation_checkpointing, workers=args.workers,
                      samples_per_epoch=max(64, args.batch_size * args.steps), compile=args.compile,
                      strategy=strategy)
    trainer = Trainer(cfg)
    params = sum(p.numel() for p in trainer.model.parameters())
    trainer.run()
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if r.get("kind") == "train"][args.skip:]
    step_s = statistics.median(r["step_seconds"] for r in steps)
    trained = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    out = {"preset": preset, "parameters": params, "trained_parameters": trained, "strategy": strategy,
           "device": args.device, "precision": precision,
           "autocast_dtype": str(trainer.dtype),
           "batch_size": args.batch_size, "cropsize": args.cropsize, "timed_steps": len(steps),
           "seconds_per_step": step_s, "frames_per_second": args.batch_size * args.cropsize / step_s,
           "data_wait_fraction": statistics.median(r["data_wait_fraction"] for r in steps),
           "activation_checkpointing": args.activation_checkpointing}
    if args.device.startswith("cuda"):
        out["gpu_peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
    del trainer
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="tiny,small,seed-150m")
    parser.add_argument("--data", type=Path, default=DATA, help="stems folder (cached first) or a cache")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto", help="one or a comma list (auto, fp32, bf16, fp16)")
    parser.add_argument("--strategy", default="full", help="one or a comma list of finetuning strategies")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--cropsize", type=int, default=256)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--skip", type=int, default=2, help="warm-up steps left out of the medians")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--activation-checkpointing", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    args = parser.parse_args()

    import torch

    from vocal_remover.data import ensure_cache

    torch.set_num_threads(args.threads)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {args.threads}"
    if args.device.startswith("cuda"):
        machine += f", {torch.cuda.get_device_name()}"
    if not args.data.exists():
        raise SystemExit(f"error: {args.data}: no such folder (pass --data with a stems folder)")
    cache = str(ensure_cache(args.data))
    results = {"machine": machine, "runs": []}
    print(f"Training throughput ({machine}), {args.batch_size} x {args.cropsize} frames per step, "
          f"medians of steps {args.skip + 1}-{args.steps}\n")
    print("| preset | precision | strategy | parameters (trained) | s per step | frames/s | vs first | data wait | "
          "peak GPU GiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    variants = [(p, s) for p in args.precision.split(",") if p for s in args.strategy.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp:
        for preset in [p for p in args.presets.split(",") if p]:
            first = None
            for precision, strategy in variants:
                r = measure(preset, precision, strategy, args, cache, Path(tmp))
                first = first or r["seconds_per_step"]
                r["speedup_vs_first"] = first / r["seconds_per_step"]
                results["runs"].append(r)
                gpu = f"{r['gpu_peak_gib']:.1f}" if "gpu_peak_gib" in r else "-"
                print(f"| {Path(preset).stem} | {precision} | {strategy} | {r['parameters'] / 1e6:.1f} M "
                      f"({r['trained_parameters'] / 1e6:.2f} M) | "
                      f"{r['seconds_per_step']:.3f} | {r['frames_per_second']:.0f} | {r['speedup_vs_first']:.2f}x | "
                      f"{100 * r['data_wait_fraction']:.1f}% | {gpu} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
