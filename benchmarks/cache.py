"""Dataset cache: bytes per hour of audio (this cache vs the seed's STFT patches) and whether the data
loader keeps up with a training step.

    python benchmarks/cache.py                   # musdb7/valid from ../shared/data (or generated audio)
    python benchmarks/cache.py --json benchmarks/results-cache-cpu.json

What it measures, all in one run:
1. Storage. The cache is built from real tracks; its shard bytes per hour of audio are read from the
   manifest. The seed's format (complex64 STFT patches of 2048 frames, n_fft 2048 / hop 1024, stereo, one
   file per stem, each song padded to whole patches) is computed from the STFT shape of the same tracks,
   both for continuous audio (the lower bound) and with the seed's per-song padding of these tracks.
2. Loader throughput: a DataLoader over `SupervisedDataset` (voxaug, default augmentation) and
   `PretrainDataset`, batch 4 x `--cropsize` frames, with 0 and 1 worker processes, plus the STFT +
   normalisation of a batch (done on the training device).
3. One training step of the `small` preset (forward + backward + AdamW step, batch 4 x `--cropsize`
   frames, L1 of mask * |X| against |Y|) timed in the same process, so the two can be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"


def generated_source(root: Path, tracks: int = 6, seconds: float = 20.0) -> Path:
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    for i in range(tracks):
        n = int(seconds * 44100)
        t = np.arange(n) / 44100
        for stem, f in (("vocals", 330.0), ("accompaniment", 110.0)):
            x = 0.2 * np.sin(2 * np.pi * f * (1 + i / 10) * t)[:, None] + 0.02 * rng.standard_normal((n, 2))
            (root / f"t{i}").mkdir(parents=True, exist_ok=True)
            sf.write(root / f"t{i}" / f"{stem}.wav", x.astype(np.float32), 44100)
    return root


def storage(cache, n_fft: int = 2048, hop: int = 1024, patch: int = 2048) -> dict:
    """Bytes per hour of audio per stem (stereo): ours from the shards, the seed's from STFT shapes."""
    import numpy as np
    import torch

    from vocal_remover.spec import stft

    hours = cache.seconds / 3600
    stems = sum(len(t.stored) for t in cache.tracks)
    shard_bytes = sum(t.shard_bytes for t in cache.tracks)
    stem_hours = sum(len(t.stored) * t.duration for t in cache.tracks) / 3600
    frames = padded_frames = 0
    for t in cache.tracks:
        x = torch.from_numpy(np.ascontiguousarray(cache.read(t.id, t.stored[0], 0, t.num_samples).T))
        spec = stft(x, n_fft, hop)  # (2, 1025, frames) complex64
        bins, f = spec.shape[-2], spec.shape[-1]
        frames += f
        # the seed padded each song to whole patches (plus a whole extra patch at exact multiples: its bug)
        padded_frames += (f // patch + 1) * patch
    per_frame = bins * 2 * 8  # complex64, 2 channels
    seconds_per_stem = cache.seconds  # one stem's worth of audio
    seed_continuous = frames * per_frame / (seconds_per_stem / 3600)
    seed_padded = padded_frames * per_frame / (seconds_per_stem / 3600)
    fp16_mag = frames * bins * 2 * 2 / (seconds_per_stem / 3600)
    ours = shard_bytes / stem_hours
    return {
        "audio_hours": hours, "stems": stems, "shard_bytes": shard_bytes,
        "ours_int16_bytes_per_stem_hour": ours,
        "seed_complex64_bytes_per_stem_hour_continuous": seed_continuous,
        "seed_complex64_bytes_per_stem_hour_padded_as_seed": seed_padded,
        "fp16_magnitude_bytes_per_stem_hour": fp16_mag,
        "ratio_seed_continuous_to_ours": seed_continuous / ours,
        "ratio_seed_padded_to_ours": seed_padded / ours,
        "seed_patch_bytes_2048_frames": patch * per_frame,
    }


def loader_throughput(dataset, workers: int, batches: int, batch_size: int = 4) -> dict:
    from torch.utils.data import DataLoader

    from vocal_remover.data import EpochSampler

    sampler = EpochSampler(len(dataset), seed=0)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                        persistent_workers=False)
    it = iter(loader)
    next(it)  # worker start-up and first batch not counted
    t0 = time.perf_counter()
    n = 0
    for _ in range(batches):
        next(it)
        n += batch_size
    dt = time.perf_counter() - t0
    del it
    seconds = dataset.segment / 44100
    return {"workers": workers, "crops_per_s": n / dt, "audio_seconds_per_s": n * seconds / dt,
            "seconds_per_batch": dt / batches}


def item_cost(dataset, n: int = 60) -> float:
    """Seconds per item, read in this process without a DataLoader (one core's cost of an item)."""
    for i in range(3):
        dataset[i]
    t0 = time.perf_counter()
    for i in range(n):
        dataset[i % len(dataset)]
    return (time.perf_counter() - t0) / n


def stft_cost(batch, reps: int = 5) -> float:
    from vocal_remover.spec import network_input, stft

    t0 = time.perf_counter()
    for _ in range(reps):
        network_input(stft(batch, 2048, 1024), 1024)
    return (time.perf_counter() - t0) / reps


def train_step(cropsize: int, batch_size: int, steps: int) -> dict:
    import torch

    from vocal_remover.model import build_model
    from vocal_remover.spec import network_input, stft

    torch.manual_seed(0)
    model = build_model("small").train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch_size, 2, (cropsize - 1) * 1024) * 0.1
    y = x * 0.5
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        X = stft(x, 2048, 1024)
        Y = stft(y, 2048, 1024)
        mag = network_input(X, 1024)
        peak = X[:, :, :1024].abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-8)
        target = Y[:, :, :1024].abs() / peak
        loss = torch.nn.functional.l1_loss(model(mag) * mag, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i:  # the first step warms up allocators
            times.append(time.perf_counter() - t0)
    return {"preset": "small", "batch": batch_size, "cropsize": cropsize, "seconds_per_step": min(times),
            "all_steps": times}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cropsize", type=int, default=256)
    ap.add_argument("--batches", type=int, default=12)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from vocal_remover.data import AudioCache, PretrainDataset, SupervisedDataset, build_cache

    with tempfile.TemporaryDirectory() as tmp:
        src = DATA / "musdb7" / "valid"
        if not src.is_dir():
            src = generated_source(Path(tmp) / "generated")
        t0 = time.perf_counter()
        summary = build_cache([src], Path(tmp) / "cache", workers=1)
        build_s = time.perf_counter() - t0
        cache = AudioCache.open(Path(tmp) / "cache")
        result = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads {args.threads}",
            "source": str(src), "tracks": summary.tracks,
            "build": {"seconds": build_s, "audio_seconds": summary.seconds,
                      "realtime_factor": summary.seconds / build_s},
            "storage": storage(cache),
        }
        sup = SupervisedDataset(cache, args.cropsize, samples_per_epoch=4 * (args.batches + 2), seed=0)
        pre = PretrainDataset(cache, args.cropsize, samples_per_epoch=4 * (args.batches + 2), seed=0)
        result["loader"] = {
            "cropsize": args.cropsize, "batch": 4,
            "item_seconds": {"supervised": item_cost(sup), "pretrain": item_cost(pre)},
            "supervised": [loader_throughput(sup, w, args.batches) for w in (0, 1)],
            "pretrain": [loader_throughput(pre, w, args.batches) for w in (0, 1)],
        }
        batch = torch.stack([sup[i]["mix"] for i in range(4)])
        result["stft_seconds_per_batch"] = stft_cost(batch)
    result["train_step"] = train_step(args.cropsize, 4, args.steps)

    st = result["storage"]
    sup0 = result["loader"]["supervised"][0]
    step = result["train_step"]["seconds_per_step"]
    print(f"source: {result['source']} ({result['tracks']} tracks, {result['build']['audio_seconds']:.0f} s), "
          f"cache built at {result['build']['realtime_factor']:.0f}x real time")
    print("\nbytes per hour of stereo audio, per stem:")
    print(f"  this cache (int16 PCM, 44.1 kHz)          {st['ours_int16_bytes_per_stem_hour'] / 1e6:8.0f} MB")
    print(f"  seed complex64 STFT patches (continuous)  {st['seed_complex64_bytes_per_stem_hour_continuous'] / 1e6:8.0f} MB"
          f"  ({st['ratio_seed_continuous_to_ours']:.2f}x)")
    print(f"  seed, padded per song as it did (these)   {st['seed_complex64_bytes_per_stem_hour_padded_as_seed'] / 1e6:8.0f} MB"
          f"  ({st['ratio_seed_padded_to_ours']:.2f}x)")
    print(f"  float16 magnitudes only (no phase)        {st['fp16_magnitude_bytes_per_stem_hour'] / 1e6:8.0f} MB")
    print(f"  one seed patch of 2048 frames             {st['seed_patch_bytes_2048_frames'] / 1e6:8.1f} MB")
    print(f"\nloader, batch 4 x {args.cropsize} frames ({sup.segment / 44100:.1f} s crops):")
    items = result["loader"]["item_seconds"]
    print(f"  one item, in process: supervised {items['supervised'] * 1000:.1f} ms, "
          f"pretrain {items['pretrain'] * 1000:.1f} ms")
    for kind in ("supervised", "pretrain"):
        for r in result["loader"][kind]:
            print(f"  {kind:10s} workers={r['workers']}: {r['crops_per_s']:7.1f} crops/s, "
                  f"{r['audio_seconds_per_s']:7.0f} audio s/s, {r['seconds_per_batch'] * 1000:6.1f} ms per batch")
    print(f"  STFT + normalisation of a batch: {result['stft_seconds_per_batch'] * 1000:.1f} ms")
    print(f"\ntraining step, small preset, batch 4 x {args.cropsize}: {step:.2f} s "
          f"-> the loader (0 workers) needs {sup0['seconds_per_batch'] / step * 100:.1f} % of a step")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
