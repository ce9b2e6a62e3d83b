"""How far, and where, finetuned copies of a model moved from it: a check on what a regulariser did.

    python recipes/weight_moves.py vocal_remover/models/default /work/runs/v49/s49-a-tail /work/runs/v49/s49-b-tail

For every copy (anything `export` accepts: a model folder, a run, a checkpoint; one configuration): its distance from
BASE over the trained weights (BatchNorm statistics left out) relative to BASE's norm, that distance by part of the
network (convolutions, attention, feed-forward, norms and the rest), and how concentrated the move is: the share of
its squared length in the 1% of weights that moved most. Moving every weight back the same fraction (the halfway-back
average, `interpolate_weights.py`) halves the distance and leaves the concentration as it was; decay towards the
start (`finetune --decay-to-start`) is meant to hold back what the data does not keep pushing, which shows as a
higher concentration. Last, the cosine between each two copies' moves: whether they went the same way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from interpolate_weights import load_same_config
from vocal_remover.atomic import write_json_atomic
from vocal_remover.errors import VocalRemoverError

# Parts by the names' pieces, the first that matches (vocal_remover/model: attention blocks are `self_attn` and
# `cross_attn`, with their position tables; feed-forward blocks `ffn`; BatchNorm / LayerNorm modules `norm*`).
PARTS = (("attention", ("_attn.",)), ("feed-forward", (".ffn.",)), ("norms", ("norm",)))


def part_of(name: str) -> str:
    """The network part a parameter belongs to, by its name."""
    for part, keys in PARTS:
        if any(k in name for k in keys):
            return part
    return "convolutions and the rest"


def trained_weights(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Float tensors that training moves by gradient (BatchNorm's running statistics and counters left out)."""
    return {k: v.detach().float().flatten() for k, v in state.items()
            if v.is_floating_point() and not k.endswith(("running_mean", "running_var", "num_batches_tracked"))}


def moves(base: dict[str, torch.Tensor], copy: dict[str, torch.Tensor], top: float = 0.01) -> dict:
    """One copy's move from base: relative distance, by part (relative to that part's norm), top-share."""
    if base.keys() != copy.keys():
        raise VocalRemoverError("the models have different parameters")
    delta = {k: copy[k] - base[k] for k in base}
    flat = torch.cat(list(delta.values()))
    base_norm = torch.cat(list(base.values())).norm()
    by_part: dict[str, list[float]] = {}
    for k, d in delta.items():
        sums = by_part.setdefault(part_of(k), [0.0, 0.0])
        sums[0] += float(d.square().sum())
        sums[1] += float(base[k].square().sum())
    squares = flat.square()
    count = max(1, int(round(top * squares.numel())))
    return {"relative_distance": float(flat.norm() / base_norm),
            "by_part": {p: (s[0] / s[1]) ** 0.5 if s[1] else 0.0 for p, s in sorted(by_part.items())},
            "top_share": float(squares.topk(count).values.sum() / squares.sum().clamp_min(1e-30)),
            "delta": flat}


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a @ b) / (a.norm() * b.norm()).clamp_min(1e-30))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the model the copies started from")
    parser.add_argument("copies", nargs="+", help="finetuned copies of it")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    try:
        loaded = load_same_config([args.base, *args.copies])
        base = trained_weights(loaded[0].model.state_dict())
        results = {name: moves(base, trained_weights(m.model.state_dict())) for name, m in zip(args.copies, loaded[1:])}
    except VocalRemoverError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    print(f"moves from {args.base} ({sum(v.numel() for v in base.values()):,} trained weights)")
    for name, r in results.items():
        parts = ", ".join(f"{p} {v:.2e}" for p, v in r["by_part"].items())
        print(f"  {name}: distance {r['relative_distance']:.2e} of the base's norm; top 1% of weights hold "
              f"{100 * r['top_share']:.1f}% of the move; by part: {parts}")
    names = list(results)
    pairs = {f"{a} | {b}": cosine(results[a]["delta"], results[b]["delta"])
             for i, a in enumerate(names) for b in names[i + 1:]}
    for pair, value in pairs.items():
        print(f"  cosine of the moves {pair}: {value:+.3f}")
    if args.json:
        write_json_atomic(args.json, {"base": args.base, "pair_cosines": pairs,
                                      "copies": {n: {k: v for k, v in r.items() if k != "delta"}
                                                 for n, r in results.items()}}, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
