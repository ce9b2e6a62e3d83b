"""Separation speed of a model on a GPU: precision x channel orders, in one process.

    python benchmarks/gpu_separate.py                      # default model, CUDA, a 3-minute stereo signal
    python benchmarks/gpu_separate.py -m small --seconds 600 --json results.json

For each precision (fp32, bf16) and for one pass against both channel orders (`--swap-channels`, `separate`'s
default on a GPU), one warm-up on 20 s, then the whole signal timed with the device synchronised; reports seconds,
x real time and peak GPU memory. The audio is seeded noise: the network's speed does not depend on the content.
Written for a lent GPU's short sessions (session 17 measured the default model on an H200 with it).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", default="default")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    args = parser.parse_args()

    import numpy as np
    import torch

    from vocal_remover.separator import Separator

    rate = 44100
    audio = (np.random.default_rng(0).standard_normal((int(args.seconds * rate), 2)) * 0.1).astype(np.float32)
    rows = []
    for precision in args.precisions.split(","):
        for swap in (False, True):
            sep = Separator(args.model, device=args.device, precision=precision, swap_channels=swap)
            sep.separate_array(audio[: 20 * rate], sample_rate=rate)
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            sep.separate_array(audio, sample_rate=rate)
            torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            rows.append({"precision": precision, "swap_channels": swap, "seconds": seconds,
                         "x_real_time": args.seconds / seconds,
                         "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20})
            print(f"{precision} swap_channels={swap}: {args.seconds:.0f} s in {seconds:.2f} s "
                  f"({args.seconds / seconds:.0f}x real time), peak {rows[-1]['peak_gpu_mib']:.0f} MiB", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "device": torch.cuda.get_device_name(),
                                         "torch": torch.__version__, "seconds_of_audio": args.seconds,
                                         "runs": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
