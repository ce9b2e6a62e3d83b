"""Widen a trained frame primer's convolutions (more base channels) without changing what it computes.

    python recipes/widen_model.py vocal_remover/models/default --channels 8 -o runs/v25/wide8

The conv path of the packaged model is thin: 4 base channels, so the mask of 1024 bins is read out of 5 feature
maps at full resolution. Training a wider network from scratch costs GPU hours; this grows the trained one instead
(Net2WiderNet, Chen et al. 2016) and leaves finetuning to use the new width. Level i has `channels * (i + 1)` conv
channels; new channel j of a level copies old channel j mod (old width), so every copy carries the same values. Each
layer that reads a copied channel splits that channel's weights among its copies. The split is uneven, by a random
factor (1 + eta) whose mean over each channel's copies is zero. The layer's output is unchanged, and the copies get
different gradients, so training can pull them apart. BatchNorm parameters and running statistics are copied with
their channels. The attention and feed-forward layers work on bins, not channels, and are kept as they are.

The widened network's output equals the source's to float rounding in eval mode (`--eval-mode` training, and
separation); tests/test_recipe_tools.py checks it. Weights are written as float16 like every model folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from vocal_remover.artifacts import save_model_folder
from vocal_remover.audio import read_audio, to_stereo
from vocal_remover.errors import VocalRemoverError
from vocal_remover.evaluate import find_tracks, load_track
from vocal_remover.export.parity import max_mask_difference, parity_inputs
from vocal_remover.model import FramePrimer, ModelConfig, build_model
from vocal_remover.train.objectives import audio_to_input
from vocal_remover.train.source import resolve_source

Map = list[int]  # new channel index -> old channel index


def _copies(width_old: int, width_new: int) -> Map:
    return [j % width_old for j in range(width_new)]


def _shifted(map_: Map, offset: int) -> Map:
    return [k + offset for k in map_]


def channel_maps(old: ModelConfig, new: ModelConfig) -> dict[str, tuple[Map, Map]]:
    """(input map, output map) of every channel-mixing layer of a FramePrimer, keyed by the state-dict prefix of the
    FrameConv, identity conv, bottleneck or output conv it belongs to."""
    nte, ntd, depth = old.num_transformer_encoders, old.num_transformer_decoders, old.depth
    w_old = [old.channels * (i + 1) for i in range(depth)]
    w_new = [new.channels * (i + 1) for i in range(depth)]
    level = [_copies(w_old[i], w_new[i]) for i in range(depth)]  # a FrameEncoder's / FrameDecoder's output
    # A level's skip: the encoder output, then the primer encoders' one-channel outputs (never copied).
    skip = [level[i] + [w_old[i] + t for t in range(nte)] for i in range(depth)]
    stream = [level[i] for i in range(depth - 1)] + [skip[-1]]  # what the level's primer decoders start from
    stream_old = [w_old[i] for i in range(depth - 1)] + [w_old[-1] + nte]
    after = [stream[i] + [stream_old[i] + t for t in range(ntd)] for i in range(depth)]  # + decoders' channels
    maps: dict[str, tuple[Map, Map]] = {}

    def resblock(prefix: str, in_map: Map, out_map: Map) -> None:
        maps[f"{prefix}.conv1"] = (in_map, out_map)
        maps[f"{prefix}.conv2"] = (out_map, out_map)
        maps[f"{prefix}.identity"] = (in_map, out_map)

    for i in range(depth):
        in_map = list(range(old.in_channels)) if i == 0 else skip[i - 1]
        resblock(f"encoders.{i}", in_map, level[i])
        for j in range(nte):
            maps[f"primer_encoders.{i}.{j}.bottleneck"] = (level[i] + [w_old[i] + t for t in range(j)], [0])
        for j in range(ntd):
            maps[f"primer_decoders.{i}.{j}.bottleneck"] = (stream[i] + [stream_old[i] + t for t in range(j)], [0])
            maps[f"primer_decoders.{i}.{j}.memory_bottleneck"] = (skip[i], [0])
    for k in range(depth - 1):  # decoders[k] reads level k + 1 (upsampled) and level k's skip
        resblock(f"decoders.{k}.block", after[k + 1] + _shifted(skip[k], stream_old[k + 1] + ntd), level[k])
    maps["out"] = (after[0], list(range(old.out_channels)))
    return maps


def _split(weight: torch.Tensor, in_map: Map, noise: float, generator: torch.Generator) -> torch.Tensor:
    """weight (out, new_in, ...) gathered from the old input channels: divide each old channel's weights among its
    copies, by (1 + eta) / copies with eta's mean zero over the copies, so that the sum over copies is unchanged."""
    index = torch.tensor(in_map)
    copies = torch.bincount(index).to(weight.dtype)[index]
    shape = [1, -1] + [1] * (weight.dim() - 2)
    eta = torch.randn(weight.shape, generator=generator, dtype=weight.dtype) * noise
    eta = eta * (copies.view(shape) > 1)
    group_sum = torch.zeros(weight.shape[0], int(index.max()) + 1, *weight.shape[2:], dtype=weight.dtype)
    group_sum.index_add_(1, index, eta)
    eta = eta - group_sum.index_select(1, index) / copies.view(shape)
    return weight * (1 + eta) / copies.view(shape)


def widen(model: FramePrimer, channels: int, *, noise: float = 0.1, seed: int = 0) -> FramePrimer:
    """A FramePrimer with `channels` base channels computing what `model` computes (eval mode)."""
    old = model.config
    if old.arch != "frame_primer":
        raise ValueError(f"only frame_primer models can be widened, not {old.arch}")
    if old.norm != "batch":  # the per-frame norm normalises over channels: copies would change its statistics
        raise ValueError(f"only batch-norm models can be widened, not norm {old.norm!r}")
    if channels < old.channels:
        raise ValueError(f"--channels {channels} is narrower than the model's {old.channels}")
    new_cfg = old.replace(channels=channels)
    wide = build_model(new_cfg)  # only its shapes matter: every tensor is filled from `model` below
    generator = torch.Generator().manual_seed(seed)
    maps = channel_maps(old, new_cfg)
    old_state = model.state_dict()
    state = {}
    for name, target in wide.state_dict().items():
        prefix, _, leaf = name.rpartition(".")
        source = old_state.get(name)
        if source is None and prefix.endswith(".identity"):  # the old block's nn.Identity as a 1x1 conv
            width = len(set(maps[prefix][1]))
            source = torch.eye(width)[:, :, None, None] if leaf == "weight" else torch.zeros(width)
        layer, _, part = prefix.rpartition(".")
        if prefix in maps and leaf in ("weight", "bias"):  # identity / output convs (Conv2d with a bias)
            in_map, out_map = maps[prefix]
            value = source[out_map]
            if leaf == "weight":
                value = _split(value[:, in_map], in_map, noise, generator)
        elif layer in maps and part == "norm":  # BatchNorm over a layer's input channels
            value = source if leaf == "num_batches_tracked" else source[maps[layer][0]]
        elif layer in maps and part in ("conv", "linear"):  # FrameConv's conv, a bottleneck's Linear(C -> 1)
            in_map, out_map = maps[layer]
            value = source[out_map] if leaf == "bias" else _split(source[out_map][:, in_map], in_map, noise,
                                                                  generator)
        else:
            value = source
        if value.shape != target.shape:
            raise ValueError(f"{name}: built {tuple(value.shape)}, expected {tuple(target.shape)}")
        state[name] = value.clone()
    wide.load_state_dict(state)
    return wide


def clip_input(path: Path, cfg: ModelConfig, seconds: float = 10.0) -> torch.Tensor:
    """The network input of the first `seconds` of a mix: an audio file (resampled to the model's rate, made stereo)
    or a track folder of stems (their sum, as `evaluate` reads it)."""
    if path.is_dir():
        track = load_track(find_tracks(path)[0])
        if track.rate != cfg.sample_rate:
            raise ValueError(f"{path}: {track.rate} Hz, the model wants {cfg.sample_rate}")
        audio = track.mixture
    else:
        audio = to_stereo(read_audio(path, samplerate=cfg.sample_rate)[0])
    audio = torch.from_numpy(np.ascontiguousarray(audio[: int(seconds * cfg.sample_rate)].T))[None]
    return audio_to_input(audio, cfg)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a model folder, run or checkpoint")
    parser.add_argument("--channels", type=int, required=True, help="the new number of base channels")
    parser.add_argument("--noise", type=float, default=0.1, help="spread of the uneven split of copied weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check-audio", type=Path, help="also compare the written folder's masks with the "
                        "source's on the first 10 s of this 44.1 kHz mix, or the sum of a track folder's stems "
                        "(float16 storage included)")
    parser.add_argument("-o", "--out", required=True, type=Path)
    args = parser.parse_args()
    try:
        loaded = resolve_source(args.source).load()
        cfg = loaded.model.config
        clip = clip_input(args.check_audio, cfg) if args.check_audio else None
        wide = widen(loaded.model.eval(), args.channels, noise=args.noise, seed=args.seed).eval()
    except (ValueError, VocalRemoverError) as error:
        raise SystemExit(f"error: {error}") from None
    difference = max_mask_difference(loaded.model, wide, parity_inputs(cfg))
    training = {"widened": {"source": str(args.source), "channels": [loaded.model.config.channels, args.channels],
                            "noise": args.noise, "seed": args.seed, "max_mask_difference": difference},
                **{k: v for k, v in loaded.training.items() if k in ("data", "steps", "command")}}
    folder = save_model_folder(wide, args.out, trained=True, training=training, half=True, overwrite=True)
    print(f"{folder}: {loaded.model.config.channels} -> {args.channels} base channels, "
          f"largest mask difference {difference:.2e}")
    if clip is not None:
        written = resolve_source(folder).load().model.eval()
        print(f"{args.check_audio}: largest mask difference of the written folder "
              f"{max_mask_difference(loaded.model, written, [clip]):.2e}")


if __name__ == "__main__":
    main()
