"""`vocal-remover models list | download | init`"""

from __future__ import annotations

from pathlib import Path

import typer

from vocal_remover.cli.common import PlainCommand, guarded, stdout

app = typer.Typer(help="List, download and create models.", no_args_is_help=True, rich_markup_mode=None)


@app.command("list", cls=PlainCommand)
@guarded
def list_models() -> None:
    """List the registry and what is available offline.

    Models are available offline when packaged or already in the Hugging Face cache."""
    from rich.table import Table
    from rich.text import Text

    from vocal_remover.hub import list_models as registry_rows
    from vocal_remover.model import PRESETS

    # A result, so on stdout (`models list | less`); registry text is shown literally, never as markup.
    table = Table(title="Models (use with -m NAME)")
    for column in ("name", "source", "available offline", "description"):
        table.add_column(column)
    for row in registry_rows():
        table.add_row(*(Text(str(v)) for v in (row["name"], row["source"], "yes" if row["available"] else "no",
                                                row["description"])))
    stdout.print(table)
    stdout.print(Text("Presets for `models init` (untrained): " + ", ".join(PRESETS)), soft_wrap=True)
    stdout.print(Text("Also accepted by -m: a local model folder, an .onnx file, or a Hub id "
                      "org/name[@revision]."), soft_wrap=True)


@app.command("download", cls=PlainCommand)
@guarded
def download(name: str = typer.Argument(..., metavar="NAME", help="Registry name or Hub id org/name[@revision].")) -> None:
    """Download a model for offline use; prints its folder.

    The files go to the Hugging Face cache (HF_HOME / HF_HUB_CACHE)."""
    from vocal_remover.hub import download_model

    typer.echo(str(download_model(name)))


@app.command("init", cls=PlainCommand)
@guarded
def init(
    preset: str = typer.Argument(..., metavar="PRESET", help="Preset name (see `models list`)."),
    output: Path = typer.Option(..., "--output", "-o", metavar="DIR", help="Folder to create."),
    seed: int = typer.Option(0, "--seed", metavar="N", help="Seed of the random initialisation."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing folder."),
) -> None:
    """Create an untrained model folder of a preset.

    The folder is marked untrained: for smoke tests and speed benchmarks."""
    import torch

    from vocal_remover.artifacts import save_model_folder
    from vocal_remover.model import build_model, get_preset

    config = get_preset(preset)
    torch.manual_seed(seed)
    model = build_model(config)
    path = save_model_folder(model, output, trained=False, overwrite=overwrite,
                             training={"preset": preset, "seed": seed})
    typer.echo(str(path))
