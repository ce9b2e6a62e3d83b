"""`vocal-remover models list | download | init`"""

from __future__ import annotations

from pathlib import Path

import typer

from vocal_remover.cli.common import console, guarded

app = typer.Typer(help="List, download and create models.", no_args_is_help=True)


@app.command("list")
@guarded
def list_models() -> None:
    """The model registry and what is available offline (cached or packaged)."""
    from rich.table import Table

    from vocal_remover.hub import list_models as registry_rows
    from vocal_remover.model import PRESETS

    table = Table(title="Models (use with -m NAME)")
    for column in ("name", "source", "available offline", "description"):
        table.add_column(column)
    for row in registry_rows():
        table.add_row(row["name"], row["source"], "yes" if row["available"] else "no", row["description"])
    console.print(table)
    console.print("Presets for `models init` (untrained): " + ", ".join(PRESETS))
    console.print("Also accepted by -m: a local model folder, or a Hub id org/name[@revision].")


@app.command("download")
@guarded
def download(name: str = typer.Argument(..., help="Registry name or Hub id org/name[@revision].")) -> None:
    """Download a model into the Hugging Face cache for offline use; prints its folder."""
    from vocal_remover.hub import download_model

    typer.echo(str(download_model(name)))


@app.command("init")
@guarded
def init(
    preset: str = typer.Argument(..., help="Preset name (see `models list`)."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder to create."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random initialisation."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing folder."),
) -> None:
    """Create an untrained model folder of a preset (marked untrained): for smoke tests and benchmarks."""
    import torch

    from vocal_remover.artifacts import save_model_folder
    from vocal_remover.model import build_model, get_preset

    config = get_preset(preset)
    torch.manual_seed(seed)
    model = build_model(config)
    path = save_model_folder(model, output, trained=False, overwrite=overwrite,
                             training={"preset": preset, "seed": seed})
    typer.echo(str(path))
