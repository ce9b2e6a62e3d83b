"""`vocal-remover export SOURCE -o OUT`"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from vocal_remover.cli.common import fail, guarded, say


class ExportFormat(str, Enum):
    folder = "folder"
    onnx = "onnx"
    torchscript = "torchscript"


class Which(str, Enum):
    best = "best"
    last = "last"


@guarded
def export(
    source: str = typer.Argument(..., metavar="SOURCE", show_default=False,
                                 help="Training run directory, training checkpoint (.pt), model folder, "
                                      "registry name or Hub id."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="OUT", show_default=False,
                                          help="Folder to create, or an .onnx / .pt file (the suffix implies "
                                               "the format). Optional with --push-to-hub."),
    fmt: Optional[ExportFormat] = typer.Option(None, "--format", "-f", show_default=False,
                                               help="folder (default), onnx or torchscript; a .onnx or .pt "
                                                    "output implies its format."),
    fp16: bool = typer.Option(False, "--fp16", help="Store half-precision weights (model folders; loaded back "
                                                    "as float32)."),
    checkpoint: Which = typer.Option(Which.best, "--checkpoint",
                                     help="For a run directory: best (falls back to last) or last."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    push: Optional[str] = typer.Option(None, "--push-to-hub", metavar="ORG/NAME",
                                       help="Upload the model folder to this Hub repo; prints the commit to pin."),
    revision: Optional[str] = typer.Option(None, "--revision", metavar="BRANCH",
                                           help="Branch to push to (created from main if missing)."),
    private: bool = typer.Option(False, "--private", help="Create the Hub repo private (an existing repo keeps "
                                                          "its visibility)."),
    verify: bool = typer.Option(True, "--verify/--no-verify",
                                help="Check the export's masks against PyTorch before keeping it."),
    offline: bool = typer.Option(False, "--offline", help="Never touch the network for SOURCE."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Errors only."),
) -> None:
    """Export a model as a folder, ONNX or TorchScript (or to the Hub).

    Exports a training run, checkpoint or model as a model folder (the default), ONNX or TorchScript;
    optionally pushes the folder to the Hub. Prints the written path and, when pushing,
    ORG/NAME@<commit>."""
    from vocal_remover.export import export_model, output_format
    from vocal_remover.hub import push_to_hub

    if push is None and output is None:
        raise fail("missing -o/--output (required unless --push-to-hub is given)", 2)
    if push is None and (revision is not None or private):
        raise fail("--revision and --private only apply with --push-to-hub", 2)
    chosen = fmt.value if fmt is not None else None
    if push is not None and output_format(output or "model", chosen) != "folder":
        raise fail("--push-to-hub uploads model folders only (what `separate` downloads); drop --format", 2)

    def note(message: str) -> None:
        if not quiet:
            say(message)

    # The command recorded in the model card: what determines the artifact, in canonical form.
    words = ["vocal-remover", "export", source] + (["-o", str(output)] if output is not None else [])
    words += (["--format", fmt.value] if fmt is not None else []) + (["--fp16"] if fp16 else [])
    words += ["--checkpoint", "last"] if checkpoint is Which.last else []
    words += (["--push-to-hub", push] if push else []) + (["--revision", revision] if revision else [])
    command = shlex.join(words + (["--private"] if private else []))
    staging = None
    target = output
    if target is None:
        staging = Path(tempfile.mkdtemp(prefix="vocal-remover-export-"))
        target = staging / "model"
    try:
        result = export_model(source, target, fmt=chosen, half=fp16, overwrite=overwrite, which=checkpoint.value,
                              command=command, verify=verify, offline=offline, progress=note)
        if result.max_abs_diff is not None:
            note(f"Checked: the {result.format} export's masks differ from PyTorch by at most "
                 f"{result.max_abs_diff:.1e}.")
        if not result.source.trained:
            note("Note: this model is untrained (random weights); its card says so.")
        if output is not None:
            typer.echo(str(result.path))
        if push is not None:
            note(f"Uploading {', '.join(result.files)} to {push}" + (f" (branch {revision})" if revision else ""))
            pushed = push_to_hub(result.path, push, revision=revision, private=private)
            note(f"Pushed commit {pushed.commit}; pin it with -m {pushed.spec}")
            typer.echo(pushed.spec)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
