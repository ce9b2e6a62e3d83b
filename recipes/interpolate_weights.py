"""Weight-space interpolation between a model and its finetuned copy (WiSE-FT, Wortsman et al. 2022).

    python recipes/interpolate_weights.py BASE FINETUNED --alpha 0.25,0.5,0.75 -o runs/v3/soup

writes one fp16 model folder per alpha (`OUT/alpha-0.50`, ...) holding (1 - alpha) * BASE + alpha * FINETUNED,
every float tensor included (BatchNorm running statistics too). BASE and FINETUNED are anything `export`
accepts (a model folder, a run folder, a checkpoint) and must share one configuration. Finetuning on new material
moved the default model towards the new domain and away from MUSDB (recipes/README.md, session 2); a point on
the line between the two often keeps most of both, and costs one `evaluate` per alpha to find.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from vocal_remover.artifacts import save_model_folder
from vocal_remover.train.source import resolve_source


def interpolate(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    if a.keys() != b.keys():
        raise SystemExit("error: the two models have different parameters")
    out = {}
    for name, x in a.items():
        y = b[name]
        out[name] = torch.lerp(x.float(), y.float(), alpha).to(x.dtype) if x.is_floating_point() else y.clone()
    return out


def load_same_config(sources: list[str]) -> list:
    """Load every source (model folder, run, checkpoint); all must share one model configuration."""
    loaded = [resolve_source(s).load() for s in sources]
    if any(m.model.config.to_dict() != loaded[0].model.config.to_dict() for m in loaded[1:]):
        raise SystemExit("error: the models have different configurations")
    return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("finetuned")
    parser.add_argument("--alpha", default="0.25,0.5,0.75", help="comma-separated weights of FINETUNED")
    parser.add_argument("-o", "--out", required=True, type=Path)
    args = parser.parse_args()
    base, tuned = load_same_config([args.base, args.finetuned])
    base_state = {k: v.clone() for k, v in base.model.state_dict().items()}
    tuned_state = tuned.model.state_dict()
    model = base.model
    for alpha in (float(a) for a in args.alpha.split(",")):
        model.load_state_dict(interpolate(base_state, tuned_state, alpha))
        training = {"interpolation": {"base": str(args.base), "finetuned": str(args.finetuned), "alpha": alpha},
                    **{k: v for k, v in tuned.training.items() if k in ("data", "steps", "command")}}
        folder = save_model_folder(model, args.out / f"alpha-{alpha:.2f}", trained=True, training=training,
                                   half=True, overwrite=True)
        print(folder)


if __name__ == "__main__":
    main()
