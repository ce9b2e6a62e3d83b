"""How much of a model's weight matrices training has shaped: each matrix's singular values against those of noise.

    python recipes/weight_spectra.py vocal_remover/models/default [--min-size 64] [--json out.json]
    python recipes/weight_spectra.py vocal_remover/models/default --scale-bulk 0 -o runs/v26/bulk-0

A matrix of independent random entries with standard deviation s, m x n, has no singular value much above
s * (sqrt(m) + sqrt(n)) (the Marchenko-Pastur edge). Freshly initialised layers are such matrices; training adds
structure, which shows as singular values above that edge. For every 2-D weight (Linear layers: attention
projections, feed-forward, position tables) of at least --min-size rows and columns this prints the number of
singular values above 1.1 x the edge ("shaped directions") and the share of the matrix's energy (squared Frobenius
norm) in them. s is the matrix's own standard deviation, which the shaped directions inflate, so the count errs
low. A matrix with few shaped directions and most of its energy in the bulk is still mostly its random
initialisation.

That does not make the bulk unused: the layers after it have learnt to read random features. --scale-bulk A writes
the model with every judged matrix's singular values below the margin multiplied by A (the shaped directions kept),
so evaluating it says what the bulk is worth. For the packaged model, 0 (the shaped directions alone) costs 1.4 dB
of vocal SDR on musdb7/valid and 0.5 costs 0.5 dB (recipes/README.md, session 26).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from vocal_remover.artifacts import save_model_folder
from vocal_remover.atomic import write_json_atomic
from vocal_remover.errors import VocalRemoverError
from vocal_remover.train.source import resolve_source


def noise_edge(w: torch.Tensor) -> float:
    """The largest singular value a random matrix of `w`'s shape and spread would have."""
    return w.std().item() * (math.sqrt(w.shape[0]) + math.sqrt(w.shape[1]))


def spectrum_figures(weight: torch.Tensor, margin: float = 1.1) -> dict[str, float]:
    """Shaped directions of one matrix: singular values above `margin` x the noise edge, and their energy share."""
    w = weight.detach().double()
    rows, cols = w.shape
    values = torch.linalg.svdvals(w)
    edge = noise_edge(w)
    shaped = values > margin * edge
    energy = values.square()
    return {"rows": rows, "cols": cols, "edge": edge, "top": values[0].item(),
            "shaped": int(shaped.sum()), "shaped_energy": (energy[shaped].sum() / energy.sum()).item()}


def scale_bulk(weight: torch.Tensor, scale: float, margin: float = 1.1) -> torch.Tensor:
    """`weight` with its singular values at or below `margin` x the noise edge multiplied by `scale`."""
    w = weight.detach().double()
    u, values, vh = torch.linalg.svd(w, full_matrices=False)
    values = torch.where(values > margin * noise_edge(w), values, values * scale)
    return ((u * values) @ vh).to(weight.dtype)


def judged_matrices(model: torch.nn.Module, min_size: int = 64) -> dict[str, torch.nn.Parameter]:
    """The 2-D weights with at least `min_size` rows and columns: the ones whose spectra say something."""
    return {name: p for name, p in model.named_parameters() if p.dim() == 2 and min(p.shape) >= min_size}


def model_spectra(model: torch.nn.Module, min_size: int = 64) -> dict[str, dict[str, float]]:
    return {name: spectrum_figures(p) for name, p in judged_matrices(model, min_size).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a model folder, run or checkpoint")
    parser.add_argument("--min-size", type=int, default=64, help="smallest row and column count to look at")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--scale-bulk", type=float, metavar="A",
                        help="write the model with each judged matrix's bulk (singular values below the edge) times A")
    parser.add_argument("-o", "--out", type=Path, help="the model folder --scale-bulk writes")
    args = parser.parse_args()
    if (args.scale_bulk is None) != (args.out is None):
        raise SystemExit("error: --scale-bulk and -o go together")
    if args.scale_bulk is not None and args.json:
        raise SystemExit("error: --json prints figures; --scale-bulk writes a model: one at a time")
    try:
        loaded = resolve_source(args.source).load()
    except VocalRemoverError as error:
        raise SystemExit(f"error: {error}") from None
    model = loaded.model
    matrices = judged_matrices(model, args.min_size)
    if not matrices:
        raise SystemExit(f"error: no weight matrix of at least {args.min_size} x {args.min_size} in {args.source}")
    if args.scale_bulk is not None:
        with torch.no_grad():
            for p in matrices.values():
                p.copy_(scale_bulk(p, args.scale_bulk))
        training = {"bulk_scaled": {"source": str(args.source), "scale": args.scale_bulk, "min_size": args.min_size,
                                    "matrices": len(matrices)},
                    **{k: v for k, v in loaded.training.items() if k in ("data", "steps", "command")}}
        folder = save_model_folder(model.eval(), args.out, trained=True, training=training, half=True, overwrite=True)
        print(f"{folder}: the bulk of {len(matrices)} matrices scaled by {args.scale_bulk}")
        return
    spectra = {name: spectrum_figures(p) for name, p in matrices.items()}
    print(f"{'matrix':55s} {'shape':>11s} {'edge':>6s} {'top':>6s} {'shaped':>6s} {'energy':>6s}")
    for name, f in spectra.items():
        print(f"{name:55s} {f['rows']:>5d}x{f['cols']:<5d} {f['edge']:6.2f} {f['top']:6.2f} {f['shaped']:6d} "
              f"{f['shaped_energy']:6.1%}")
    total = sum(f["rows"] * f["cols"] for f in spectra.values())
    # a rank-k update of an m x n matrix has k (m + n) free parameters
    shaped = sum(f["shaped"] * (f["rows"] + f["cols"]) for f in spectra.values())
    print(f"{len(spectra)} matrices, {total:,} parameters; their shaped directions span {shaped:,} "
          f"({shaped / total:.1%})")
    if args.json:
        write_json_atomic(args.json, {"source": args.source, "matrices": spectra, "parameters": total,
                                      "shaped_parameters": shaped})


if __name__ == "__main__":
    main()
