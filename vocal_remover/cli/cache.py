"""`vocal-remover cache SRC... -o CACHE_DIR`"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import List

import typer
from rich.text import Text

from vocal_remover.cli.common import ProgressDisplay, console, fail, guarded, note


class Layout(str, Enum):
    auto = "auto"
    stems = "stems"
    pairs = "pairs"
    pools = "pools"
    mixes = "mixes"


class _Renderer(ProgressDisplay):
    """A rich bar over tracks on stderr (when shown), skip and note lines as they happen."""

    def __init__(self, bar: bool, quiet: bool):
        self.quiet = quiet
        self.progress = None
        self.task = None
        if bar:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("tracks"), TimeElapsedColumn(), TextColumn("ETA"),
                                     TimeRemainingColumn(), TextColumn("{task.fields[current]}", markup=False),
                                     console=console, transient=False)

    def __call__(self, event) -> None:
        if event.kind == "plan" and self.progress is not None:
            self.task = self.progress.add_task("caching", total=max(event.total, 1), current="")
        elif event.kind == "track" and self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=event.done, current=event.name[:40])
        elif event.kind == "skip":
            if self.progress is not None and self.task is not None and event.done:
                self.progress.update(self.task, completed=event.done)
            if event.error:
                console.print(Text.assemble(("Skipped:", "red"), f" {event.name}: {event.detail}"), soft_wrap=True)
            elif not self.quiet:
                console.print(Text.assemble(("Not used:", "yellow"), f" {event.name}: {event.detail}"),
                              soft_wrap=True)
        elif event.kind == "note" and not self.quiet:
            note(f"{event.name}: {event.detail}")
        elif event.kind == "done" and self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=max(event.total, 1), description="cached", current="")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def _print_summary(summary) -> None:
    from collections import Counter

    from rich.table import Table

    table = Table(title="Dataset cache", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    layouts = ", ".join(f"{n} {lay}" for lay, n in sorted(summary.roles.items()))
    table.add_row("tracks", f"{summary.tracks} ({layouts}); {summary.built} cached now, {summary.reused} up to date")
    table.add_row("audio", f"{summary.hours:.2f} h ({summary.seconds:.0f} s)")
    table.add_row("size", f"{_size(summary.bytes)} ({summary.bytes / max(summary.hours, 1e-9) / 1e6:.0f} MB per hour "
                  "of audio, all stems)")
    table.add_row("sources", Text("\n".join(f"{src} ({lay})" for src, lay in summary.layouts) or "-"))
    if summary.skipped:
        reasons = Counter(p.reason for p in summary.skipped)
        lines = [f"{n} x {why}" for why, n in reasons.most_common(8)]
        if len(reasons) > 8:
            lines.append(f"... {len(reasons) - 8} other reasons")
        table.add_row(f"skipped ({len(summary.skipped)})", Text("\n".join(lines)))
    table.add_row("folder", Text(str(summary.path)))
    console.print(table)


@guarded
def cache(
    sources: List[Path] = typer.Argument(..., metavar="SOURCE...", show_default=False,
                                         help="Dataset folders (or files for `mixes`)."),
    output: Path = typer.Option(..., "--output", "-o", metavar="DIR",
                                help="Cache folder (created; re-running updates it)."),
    layout: Layout = typer.Option(Layout.auto, "--layout", "-l",
                                  help="auto (detect per source), stems, pairs, pools or mixes."),
    workers: int = typer.Option(1, "--workers", "-j", min=1, metavar="N",
                                help="Tracks decoded in parallel (processes)."),
    verify: bool = typer.Option(False, "--verify", help="Re-hash existing shards and rebuild corrupt ones."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress, notes or summary; errors only."),
) -> None:
    """Cache datasets for training (decoded, resampled, aligned).

    Decodes, resamples and aligns the sources once into memory-mappable shards. Prints the cache folder on
    stdout. Exit status 1 when a source file could not be used (unreadable, mismatched); files that are
    merely not needed are listed but do not fail the run."""
    from vocal_remover.data.cache import build_cache

    renderer = _Renderer(bar=console.is_terminal and not quiet, quiet=quiet)
    with renderer:
        summary = build_cache(sources, output, layout=layout.value, workers=workers, progress=renderer,
                              verify=verify)
    if not quiet:
        _print_summary(summary)
    typer.echo(str(summary.path))
    if summary.errors:
        raise fail(f"{summary.errors} source(s) could not be cached (see above)", 1)
