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
from vocal_remover.cli.common import OneLineErrors, PlainCommand

app = typer.Typer(
    name="vocal-remover",
    help="Split songs into instrumental and vocal tracks with the frame primer.",
    cls=OneLineErrors,
    # Plain help: it wraps to any width (rich's tables cut words at 80 columns) and shows help texts
    # literally (rich markup would eat `[@revision]`).
    rich_markup_mode=None,
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


for name, command in (("separate", separate_cli.separate), ("cache", cache_cli.cache),
                      ("pretrain", train_cli.pretrain), ("finetune", train_cli.finetune),
                      ("evaluate", evaluate_cli.evaluate), ("export", export_cli.export)):
    app.command(name, cls=PlainCommand, no_args_is_help=True)(command)
app.add_typer(models_cli.app, name="models")


def main() -> None:
    app()
