"""The uniform average of several checkpoints of one run (a "model soup" along the trajectory, as in SWA).

    python recipes/average_checkpoints.py runs/v4/B/checkpoints/step-000600.pt ... -o runs/v4/avg
    python recipes/average_checkpoints.py --run runs/v4/B --last 4 -o runs/v4/avg
    python recipes/average_checkpoints.py --run runs/v9/A --tail 0.4 -o runs/v9/avg   # last 40% of the steps
    python recipes/average_checkpoints.py --run runs/gpu/run --head 0.3 -o runs/gpu/early   # first 30% of them

writes one fp16 model folder holding the mean of every float tensor (BatchNorm running statistics too; the
checkpoints are close in weight space, so their mean statistics stand in for recomputed ones). Validation on
14 short clips moves by +-0.3 dB from one checkpoint to the next of a CPU run with batches of 4 crops; the
average of the last few smooths that noise in the weights instead of picking the luckiest checkpoint.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from interpolate_weights import load_same_config
from vocal_remover.artifacts import save_model_folder


def average(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Mean of the float tensors; integer ones (BatchNorm's batch counters) are taken from the last state."""
    out = {}
    for name, last in states[-1].items():
        if last.is_floating_point():
            out[name] = (sum(s[name].double() for s in states) / len(states)).to(last.dtype)
        else:
            out[name] = last.clone()
    return out


def step_of(f: Path) -> int:
    return int(f.stem.split("-")[1])  # step-00000600.pt


def step_checkpoints(run: Path) -> list[Path]:
    """The run's step checkpoints, oldest first."""
    files = sorted((run / "checkpoints").glob("step-*.pt"), key=step_of)
    if not files:
        raise SystemExit(f"error: no step checkpoints in {run / 'checkpoints'}")
    return files


def last_checkpoints(run: Path, count: int, first_step: int = 0) -> list[str]:
    """The run's final step checkpoint and up to `count` - 1 newest others before it (none below `first_step`), at
    least half a checkpoint interval apart (a run that ends just after a periodic checkpoint leaves two
    near-identical files; one of them is enough)."""
    files = step_checkpoints(run)
    gap = max(1, json.loads((run / "config.json").read_text())["train"]["checkpoint_every"] // 2)
    chosen = [files[-1]]
    for f in reversed(files[:-1]):
        if len(chosen) < count and step_of(f) >= first_step and step_of(chosen[-1]) - step_of(f) >= gap:
            chosen.append(f)
    return [str(f) for f in reversed(chosen)]


def tail_checkpoints(run: Path, fraction: float) -> list[str]:
    """The checkpoints of the last `fraction` of the run's steps (the final one included, near-duplicates dropped as
    in last_checkpoints), so that what is averaged is fixed by a rule decided before the run rather than picked
    after seeing the validation curve."""
    if not 0 < fraction <= 1:
        raise SystemExit(f"error: --tail must be in (0, 1], got {fraction}")
    files = step_checkpoints(run)
    return last_checkpoints(run, len(files), first_step=math.ceil(step_of(files[-1]) * (1 - fraction)))


def head_checkpoints(run: Path, fraction: float) -> list[str]:
    """The checkpoints of the first `fraction` of the run's steps: a candidate fixed before a run that may overfit
    (many passes over little data, as on a GPU) and whose later checkpoints may be worse than its early ones."""
    if not 0 < fraction <= 1:
        raise SystemExit(f"error: --head must be in (0, 1], got {fraction}")
    files = step_checkpoints(run)
    last_step = step_of(files[-1]) * fraction
    return [str(f) for f in files if step_of(f) <= last_step]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", help="checkpoints, runs or model folders of one configuration")
    parser.add_argument("--run", type=Path, help="instead of SOURCES: the last --last step checkpoints of this run")
    parser.add_argument("--last", type=int, default=4, help="how many checkpoints --run takes (default 4)")
    parser.add_argument("--tail", type=float, help="instead of --last: every checkpoint of --run in this last "
                        "fraction of its steps (0.4: steps from 60%% of the final one on)")
    parser.add_argument("--head", type=float, help="instead of --last: every checkpoint of --run in this first "
                        "fraction of its steps")
    parser.add_argument("-o", "--out", required=True, type=Path)
    args = parser.parse_args()
    if args.run is not None:
        args.sources = (tail_checkpoints(args.run, args.tail) if args.tail is not None
                        else head_checkpoints(args.run, args.head) if args.head is not None
                        else last_checkpoints(args.run, args.last))
    if len(args.sources) < 2:
        raise SystemExit("error: give at least two checkpoints to average")
    loaded = load_same_config(args.sources)
    model = loaded[-1].model
    model.load_state_dict(average([m.model.state_dict() for m in loaded]))
    training = {**{k: v for k, v in loaded[-1].training.items()
                   if k in ("data", "steps", "command", "train_config", "package_version")},
                "average_of": [str(s) for s in args.sources],
                "source": f"mean of {len(args.sources)} checkpoints (average_of)",
                "exported_with": "python recipes/average_checkpoints.py " + " ".join(sys.argv[1:])}
    print(save_model_folder(model, args.out, trained=True, training=training, half=True, overwrite=True))


if __name__ == "__main__":
    main()
