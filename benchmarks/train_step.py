"""One training step of a model config on a GPU: where the step time goes, and candidate speed-ups
timed side by side with the project's code in the same process, reported as ratios.

    python benchmarks/train_step.py --device cuda                   # recipes/default-model.json, 16 x 512, bf16

Variants (each a fresh model with the same seed, AdamW, L1 on the masked input):
  project     the project's code as it is (the reference)
  fp32-up     the decoder's bilinear upsample computed in float32 under autocast (its half-precision CUDA
              backward uses half-precision atomics)
  cudnn-bm    torch.backends.cudnn.benchmark on
Then a profile of the project's step (top CUDA kernels by time). Measured on an H200 (docs/benchmarks.md): 0.98x and
0.99x, so neither candidate is in the project.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]


def upsample_in_float32(self, x, skip):  # candidate: FrameDecoder.forward with a float32 upsample
    x = F.interpolate(x.float(), size=skip.shape[-2:], mode="bilinear", align_corners=True).to(x.dtype)
    return self.block(torch.cat((x, skip), dim=1))


def time_steps(config, args, dtype) -> tuple[float, torch.nn.Module, torch.optim.Optimizer]:
    from vocal_remover.model import build_model

    torch.manual_seed(0)
    model = build_model(config).to(args.device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    x = torch.rand(args.batch_size, 2, config.n_fft // 2, args.cropsize, device=args.device)
    y = torch.rand_like(x)

    def step():
        with torch.autocast("cuda", dtype=dtype):
            loss = F.l1_loss(model(x) * x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / args.steps, model, step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "recipes" / "default-model.json")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--cropsize", type=int, default=512)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--precision", default="bf16", choices=["bf16", "fp16"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("error: this benchmark needs a CUDA GPU")

    from vocal_remover.model import ModelConfig
    from vocal_remover.model.layers import FrameDecoder

    config = ModelConfig.from_dict(json.loads(args.config.read_text()))
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float16
    project_forward = FrameDecoder.forward
    results = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "batch_size": args.batch_size,
               "cropsize": args.cropsize, "precision": args.precision, "variants": {}}
    variants = [("project", project_forward, False), ("fp32-up", upsample_in_float32, False),
                ("cudnn-bm", project_forward, True)]
    print(f"{results['gpu']}, {args.batch_size} x {args.cropsize} frames, {args.precision}\n")
    print("| variant | s per step | frames/s | speed vs project |")
    print("|---|---|---|---|")
    for name, forward, bench in variants:
        FrameDecoder.forward = forward
        torch.backends.cudnn.benchmark = bench
        seconds, _, step = time_steps(config, args, dtype)
        if name == "project":
            project_step = step  # profiled below
        ref = results["variants"].get("project", {}).get("seconds_per_step", seconds)
        results["variants"][name] = {"seconds_per_step": seconds,
                                     "frames_per_second": args.batch_size * args.cropsize / seconds}
        print(f"| {name} | {seconds:.4f} | {args.batch_size * args.cropsize / seconds:.0f} | {ref / seconds:.2f}x |",
              flush=True)
    FrameDecoder.forward = project_forward
    torch.backends.cudnn.benchmark = False
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        project_step()
        torch.cuda.synchronize()
    averages = prof.key_averages()
    try:
        table = averages.table(sort_by="self_device_time_total", row_limit=12, max_name_column_width=60)
    except (KeyError, AttributeError, RuntimeError):  # older torch names it after CUDA
        table = averages.table(sort_by="self_cuda_time_total", row_limit=12, max_name_column_width=60)
    print("\n" + table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
