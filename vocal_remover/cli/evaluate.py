"""`vocal-remover evaluate DATA -m MODEL [-m MODEL2 ...]`"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from vocal_remover.cli.common import console, fail, guarded, say, stdout
from vocal_remover.cli.model_options import (BATCH_SIZE, DEVICE, OFFLINE, OVERLAP, PRECISION, SHIFTS, SWAP_CHANNELS,
                                             TTA, WINDOW)


class BssMode(str, Enum):
    auto = "auto"
    on = "on"
    off = "off"


def _db(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _tables(reports, bss: bool, per_track: bool, unit: str = "tracks"):
    """(heading, table) per model, then the comparison. Headings are printed as lines that never wrap
    (a table title wraps to the table's width, splitting paths and figures)."""
    from rich.markup import escape
    from rich.table import Table

    tables = []
    for report in reports:
        spas = report.seconds_per_audio_second
        speed = f"{spas:.3f} s per audio second ({1 / spas:.1f}x real time)" if spas > 0 else "timing n/a"
        untrained = "" if report.info.get("trained", True) else " (untrained)"
        heading = f"{report.name}{untrained}: {len(report.tracks)} {unit}, {speed}"
        table = Table()
        table.add_column("SDR (dB)")
        table.add_column("vocals", justify="right")
        table.add_column("instrumental", justify="right")
        if bss:
            table.add_column("vocals BSS v4", justify="right")
            table.add_column("instrumental BSS v4", justify="right")
        if per_track:
            for t in report.tracks:
                row = [escape(t.track), _db(t.sdr["vocals"]), _db(t.sdr["instrumental"])]
                if bss:
                    row += [_db((t.bss_sdr or {}).get("vocals")), _db((t.bss_sdr or {}).get("instrumental"))]
                table.add_row(*row)
            table.add_section()
        sdr, bss_stats = report.stats("sdr"), report.stats("bss_sdr")
        for stat in ("median", "mean"):
            row = [stat, _db(sdr["vocals"][stat]), _db(sdr["instrumental"][stat])]
            if bss:
                row += [_db(bss_stats["vocals"][stat]) if bss_stats else "-",
                        _db(bss_stats["instrumental"][stat]) if bss_stats else "-"]
            table.add_row(*row)
        tables.append((heading, table))
    if len(reports) > 1:
        table = Table()
        for column in ("model", "vocals median", "vocals mean", "instrumental median", "instrumental mean",
                       "s per audio s"):
            table.add_column(column, justify="left" if column == "model" else "right")
        for report in reports:
            sdr = report.stats("sdr")
            table.add_row(escape(report.name), _db(sdr["vocals"]["median"]), _db(sdr["vocals"]["mean"]),
                          _db(sdr["instrumental"]["median"]), _db(sdr["instrumental"]["mean"]),
                          f"{report.seconds_per_audio_second:.3f}")
        tables.append((f"Comparison (global SDR, dB, over the same {unit})", table))
        tables.append(_paired_table(reports, unit))
    return tables


def _paired_table(reports, unit: str = "tracks"):
    """Each model against the first, track by track: is a difference of medians more than track noise?"""
    from rich.markup import escape
    from rich.table import Table

    from vocal_remover.evaluate import paired_comparison

    def cell(stem):
        if stem["mean_difference"] is None:
            return "-", "-"
        low_high = stem["mean_difference_95"]
        interval = f" [{low_high[0]:+.2f}, {low_high[1]:+.2f}]" if low_high else ""
        p = stem["sign_test_p"]
        return (f"{stem['mean_difference']:+.2f}{interval}",
                f"{stem['better']}/{stem['tracks']}" + (f" (p {p:.2f})" if p is not None else ""))

    table = Table()
    for column in ("model", "vocals", "better on", "instrumental", "better on"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for report in reports[1:]:
        paired = paired_comparison(reports[0], report)
        table.add_row(escape(report.name), *cell(paired["vocals"]), *cell(paired["instrumental"]))
    return (f"Against {reports[0].name}, {unit} one by one (mean difference in dB [95% bootstrap interval], "
            f"{unit} better, sign test p)", table)


@guarded
def evaluate(
    data: Path = typer.Argument(..., metavar="DATA", show_default=False,
                                help="Dataset folder in the stems layout (<track>/vocals.<ext> + "
                                     "<track>/accompaniment.<ext>), or one track folder."),
    models: List[str] = typer.Option(..., "--model", "-m", metavar="SPEC", show_default=False,
                                     help="Model to evaluate; repeat to compare several on the same tracks. "
                                          "Registry name, model folder, .onnx file or Hub id."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout (no tables)."),
    bss: BssMode = typer.Option(BssMode.auto, "--bss",
                                help="Also BSS-eval v4 SDR (museval, 1 s windows): auto = when museval is "
                                     "installed (the eval extra), on, off."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, metavar="N", show_default=False,
                                        help="Only the first N tracks (by name)."),
    per_track: bool = typer.Option(False, "--per-track", help="Show every track in the tables."),
    segment_seconds: Optional[float] = typer.Option(
        None, "--segment-seconds", min=1.0, metavar="S", show_default=False,
        help="Score every S-second piece of each track on its own (tracks are still separated whole; a stem's "
             "silent pieces are left out): many paired observations from a few long songs."),
    device: str = DEVICE,
    precision: str = PRECISION,
    batch_size: Optional[int] = BATCH_SIZE,
    window: Optional[int] = WINDOW,
    overlap: float = OVERLAP,
    swap_channels: Optional[bool] = SWAP_CHANNELS,
    tta: bool = TTA,
    shifts: int = SHIFTS,
    engine: str = typer.Option("auto", "--engine", help="Network runtime: auto, torch or onnx."),
    offline: bool = OFFLINE,
    allow_untrained: bool = typer.Option(False, "--allow-untrained",
                                         help="Accept models with random weights (tests, benchmarks)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress; errors only (results still print)."),
) -> None:
    """Score models on a stems dataset (SDR, speed).

    Every track is separated by each model (the `separate` code path); vocals and instrumental are scored
    with global SDR (MDX convention) and, with museval installed (the eval extra), BSS-eval v4 SDR. Prints a
    table per model (median, mean, seconds per audio second) and, for several models, each one against the
    first track by track (mean difference with a bootstrap interval, tracks better, sign test)."""
    import contextlib

    from vocal_remover.evaluate import bss_available, find_tracks, paired_comparison, separator_candidate
    from vocal_remover.evaluate import evaluate as run_evaluation
    from vocal_remover.separator import Separator

    if len(set(models)) != len(models):
        raise fail("the same model is given twice", 2)
    use_bss = bss is BssMode.on or (bss is BssMode.auto and bss_available())
    if bss is BssMode.on and not bss_available():
        raise fail("--bss on needs museval: pip install 'vocal-remover[eval]'", 2)
    tracks = find_tracks(data, limit)
    candidates = []
    for spec in models:
        separator = Separator(spec, device=device, precision=precision, engine=engine, window=window,
                              overlap=overlap, batch_size=batch_size, swap_channels=swap_channels, tta=tta, shifts=shifts,
                              offline=offline,
                              allow_untrained=allow_untrained,
                              log=None if quiet else lambda m: console.print(f"Note: {m}", soft_wrap=True))
        if not quiet:
            for message in separator.notes:
                console.print(f"Note: {message}", soft_wrap=True)
        candidates.append(separator_candidate(separator, name=spec))

    bar = None
    if not quiet and console.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       console=console, transient=True)
    task = bar.add_task("evaluating", total=len(tracks) * len(candidates)) if bar else None

    def progress(event) -> None:
        if bar is not None:
            bar.update(task, completed=event.done, description=f"{event.model[:30]}: {event.track[:30]}")

    with bar if bar else contextlib.nullcontext():
        reports = run_evaluation(tracks, candidates, bss=use_bss, segment_seconds=segment_seconds,
                                 progress=progress)

    if json_out:
        typer.echo(json.dumps({
            "data": str(data),
            "tracks": [t.name for t in tracks],
            "segment_seconds": segment_seconds,
            "metrics": {"sdr": "global SDR in dB over all samples and channels (MDX/SDX convention)",
                        "bss_sdr": "BSS-eval v4 SDR in dB (museval), median over 1 s windows" if use_bss else None},
            "models": [r.to_dict() for r in reports],
            "paired_with_first": [{"model": r.name, "baseline": reports[0].name, **paired_comparison(reports[0], r)}
                                  for r in reports[1:]],
        }, indent=2))
        return
    from rich.text import Text

    for heading, table in _tables(reports, use_bss, per_track, "pieces" if segment_seconds else "tracks"):
        stdout.print(Text(heading, style="bold"), soft_wrap=True)
        stdout.print(table)
    if bss is BssMode.auto and not use_bss and not quiet:
        say("BSS-eval v4 SDR: not computed (pip install 'vocal-remover[eval]', or --bss on).")
