"""The `vocal-remover` command line. Thin: it parses options, renders progress and maps errors to
exit codes; the work happens in the library. Heavy imports (torch) happen inside commands so that
`--help` and `--version` answer instantly."""

from __future__ import annotations

import typer

from vocal_remover import __version__
from vocal_remover.cli import cache as cache_cli
from vocal_remover.cli import evaluate as evaluate_cli
from vocal_remover.cli import export as export_cli
from vocal_remover.cli import models as models_cli
from vocal_remover.cli import separate as separate_cli
from vocal_remover.cli import train as train_cli

app = typer.Typer(
    name="vocal-remover",
    help="Split songs into instrumental and vocal tracks with the frame primer.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vocal-remover {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """Split songs into instrumental and vocal tracks with the frame primer."""


app.command("separate", no_args_is_help=True)(separate_cli.separate)
app.command("cache", no_args_is_help=True)(cache_cli.cache)
app.command("pretrain", no_args_is_help=True)(train_cli.pretrain)
app.command("finetune", no_args_is_help=True)(train_cli.finetune)
app.command("evaluate", no_args_is_help=True)(evaluate_cli.evaluate)
app.command("export", no_args_is_help=True)(export_cli.export)
app.add_typer(models_cli.app, name="models")


def main() -> None:
    app()
