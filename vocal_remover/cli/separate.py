"""`vocal-remover separate INPUT...`"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from rich.text import Text

from vocal_remover.cli.common import ProgressDisplay, ProgressMode, console, error, fail, guarded, note, say
from vocal_remover.cli.model_options import (BATCH_SIZE, DEVICE, OFFLINE, OVERLAP, PRECISION, SHIFTS, SWAP_CHANNELS,
                                             TTA, WINDOW)


class Format(str, Enum):
    wav = "wav"
    flac = "flac"
    mp3 = "mp3"
    ogg = "ogg"


class SampleType(str, Enum):
    float = "float"
    pcm16 = "pcm16"
    pcm24 = "pcm24"


class Engine(str, Enum):
    auto = "auto"
    torch = "torch"
    onnx = "onnx"


class Stems(str, Enum):
    both = "both"
    vocals = "vocals"
    instrumental = "instrumental"


class _BarRenderer(ProgressDisplay):
    """A rich bar per file and one overall, with ETA, on stderr."""

    def __init__(self, total_seconds: float, num_files: int):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                                 TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), TextColumn("ETA"),
                                 TimeRemainingColumn(), console=console, transient=False)
        self.overall = self.progress.add_task(f"all {num_files} file(s)", total=max(total_seconds, 1e-9))
        self.current = None
        self.file_total = 0.0
        self.last = 0.0
        # The bar redraws itself in place on the terminal; a line written to that terminal behind its
        # back is glued to it or overwritten. Paths for that same terminal go through the display.
        self.shares_terminal = console.is_terminal and _same_terminal(sys.stdout, sys.stderr)

    def __call__(self, event) -> None:
        if event.stage == "start":
            self.current = self.progress.add_task(Path(event.file).name[:40], total=event.total or 1.0)
            self.file_total, self.last = event.total or 0.0, 0.0
        elif event.stage == "separate" and self.current is not None:
            self.progress.update(self.current, completed=event.done)
            self.progress.advance(self.overall, max(0.0, event.done - self.last))
            self.last = event.done
        elif event.stage == "done" and self.current is not None:
            self.progress.update(self.current, completed=self.progress.tasks[self.current].total)

    def file_finished(self) -> None:
        """Account the rest of a file (all of it when it failed early) in the overall bar."""
        self.progress.advance(self.overall, max(0.0, self.file_total - self.last))
        self.file_total = self.last = 0.0

    def result(self, line: str) -> None:
        """A written path: printed above the live bars when they share the terminal, else to stdout."""
        if self.shares_terminal:
            self.progress.console.print(Text(line), soft_wrap=True)
        else:
            typer.echo(line)


def _same_terminal(a, b) -> bool:
    try:
        return a.isatty() and b.isatty() and os.ttyname(a.fileno()) == os.ttyname(b.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def _plain_progress(event) -> None:
    if event.stage == "done":
        say(f"Separated {event.file} ({event.done:.1f} s of audio)")


def _json_progress(event) -> None:
    sys.stderr.write(json.dumps({"file": event.file, "stage": event.stage, "done": round(event.done, 3),
                                 "total": None if event.total is None else round(event.total, 3)}) + "\n")
    sys.stderr.flush()


@guarded
def separate(
    inputs: List[Path] = typer.Argument(..., metavar="INPUT...", show_default=False,
                                        help="Audio files or folders (searched recursively; earlier outputs "
                                             "and the output folder are left out)."),
    output_dir: Path = typer.Option(Path("separated"), "--output-dir", "-o", metavar="DIR",
                                    help="Where <track>_Instruments.<ext> and <track>_Vocals.<ext> go."),
    model: str = typer.Option("default", "--model", "-m", metavar="SPEC",
                              help="Registry name, model folder, .onnx file or Hub id org/name[@revision]."),
    fmt: Format = typer.Option(Format.wav, "--format", "-f", help="Output format."),
    sample_type: Optional[SampleType] = typer.Option(None, "--sample-type", show_default=False,
                                                     help="WAV and FLAC only: 32-bit float (WAV default), 16- or "
                                                          "24-bit PCM (FLAC default: pcm24)."),
    stems: Stems = typer.Option(Stems.both, "--stems", help="Which stems to write."),
    device: str = DEVICE,
    precision: str = PRECISION,
    batch_size: Optional[int] = BATCH_SIZE,
    window: Optional[int] = WINDOW,
    overlap: float = OVERLAP,
    engine: Engine = typer.Option(Engine.auto, "--engine",
                                  help="Network runtime: auto (onnxruntime where the CPU computes in fp32, else "
                                       "torch), torch or onnx."),
    swap_channels: Optional[bool] = SWAP_CHANNELS,
    tta: bool = TTA,
    shifts: int = SHIFTS,
    filename: str = typer.Option("{track}_{stem}.{ext}", "--filename",
                                 help="Output names under -o: fields {track}, {trackext}, {stem}, {ext}; "
                                      "e.g. \"{track}/{stem}.{ext}\" for a folder per track."),
    mp3_bitrate: Optional[int] = typer.Option(None, "--mp3-bitrate",
                                              help="Constant MP3 bitrate in kbps, 32-320 (default: VBR ~190)."),
    vocals_gain: Optional[float] = typer.Option(None, "--vocals-gain", metavar="DB",
                                                help="Also write the song with its vocals changed by DB "
                                                     "(<track>_Remix; -12 = karaoke with a guide vocal)."),
    postprocess: bool = typer.Option(False, "--postprocess", help="Remove short isolated vocal artefacts."),
    output_image: bool = typer.Option(False, "--output-image", "-I",
                                      help="Also write PNG spectrograms of input and outputs."),
    skip_existing: bool = typer.Option(False, "--skip-existing/--overwrite",
                                       help="Skip inputs whose outputs exist, or overwrite them."),
    progress: ProgressMode = typer.Option(ProgressMode.auto, "--progress",
                                          help="auto (a bar on a terminal, else none), bar, plain (a line per "
                                               "file), json (lines on stderr) or none."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress and no notes; errors only."),
    offline: bool = OFFLINE,
    allow_untrained: bool = typer.Option(False, "--allow-untrained",
                                         help="Accept a model with random weights (tests, benchmarks)."),
) -> None:
    """Separate songs into instrumental and vocals. Prints the written paths, one per line."""
    from vocal_remover.audio import check_mp3_bitrate
    from vocal_remover.errors import VocalRemoverError
    from vocal_remover.outputs import (check_filename_template, check_output_collisions, find_inputs, output_paths,
                                       unique_track_names)
    from vocal_remover.separator import STEMS, Separator, vocals_gain_factor

    # Options first: a bad one is a usage error before any file is looked at or any model loaded.
    check_filename_template(filename)
    check_mp3_bitrate(mp3_bitrate)
    vocals_gain_factor(vocals_gain)
    wanted = STEMS if stems is Stems.both else (stems.value,)
    written = wanted + (("remix",) if vocals_gain is not None else ())

    files, problems, left_out = find_inputs(inputs, output_dir)
    if not files and len(problems) == 1:  # the one input named is bad: its own error is the whole message
        raise fail(f"{problems[0][0]}: {problems[0][1]}", 1)
    failures = 0
    for path, why in problems:
        error(f"{path}: {why}")
        failures += 1
    if left_out and not quiet:
        note(f"left out {len(left_out)} file(s) found in the input folders that are earlier outputs (named "
             f"*_Instruments.* or *_Vocals.*, or inside the output folder {output_dir}); name a file explicitly "
             "to separate it anyway")
    if not files:
        raise fail("no audio files to separate" if not problems else "nothing left to separate", 1)
    tracks = unique_track_names(files)
    check_output_collisions([(f, output_paths(t, output_dir, fmt.value, written, template=filename,
                                              trackext=f.suffix.lstrip("."), images=output_image))
                             for f, t in zip(files, tracks)], filename)

    def notice(message: str) -> None:
        if not quiet:
            note(message)

    if sample_type is not None:
        if fmt in (Format.mp3, Format.ogg):
            notice(f"--sample-type {sample_type.value} does not apply to {fmt.value} output (a lossy format has "
                   "no sample type); ignored")
        elif fmt is Format.flac and sample_type is SampleType.float:
            notice("FLAC has no float samples: writing 24-bit PCM (pcm24)")
    kind = (sample_type or SampleType.float).value

    separator = Separator(model, device=device, precision=precision, engine=engine.value, window=window,
                          overlap=overlap, batch_size=batch_size, swap_channels=swap_channels, tta=tta, shifts=shifts,
                          postprocess=postprocess,
                          offline=offline, allow_untrained=allow_untrained, log=notice)
    for message in separator.notes:
        notice(message)
    if not separator.loaded.trained:
        notice("this model is untrained (random weights): the output is not a real separation.")

    mode = progress if not quiet else ProgressMode.none
    if mode is ProgressMode.auto:
        mode = ProgressMode.bar if console.is_terminal else ProgressMode.none

    from vocal_remover.audio import open_audio

    total = 0.0
    if mode is ProgressMode.bar:
        for f in files:  # durations for the overall bar; unreadable files are reported later
            try:
                with open_audio(f) as reader:
                    total += reader.info.duration or 0.0
            except VocalRemoverError:
                pass

    renderer = _BarRenderer(total, len(files)) if mode is ProgressMode.bar else None
    callback = renderer or {ProgressMode.json: _json_progress, ProgressMode.plain: _plain_progress}.get(mode)
    result_line = renderer.result if renderer else typer.echo
    with renderer if renderer else contextlib.nullcontext():
        for path, track in zip(files, tracks):
            try:
                result = separator.separate_file(path, output_dir, fmt=fmt.value, sample_type=kind,
                                                 stems=wanted, skip_existing=skip_existing, progress=callback,
                                                 images=output_image, name=track, filename=filename,
                                                 mp3_bitrate=mp3_bitrate, vocals_gain=vocals_gain)
            except VocalRemoverError as exc:
                failures += 1
                error(str(exc))
                continue
            finally:
                if renderer:
                    renderer.file_finished()
            if not quiet:
                for message in result.notes:
                    note(f"{path}: {message}")
                if result.skipped:
                    say(f"Skipped {path}: outputs exist (use --overwrite).")
            if not result.skipped:
                for out in result.outputs.values():
                    result_line(str(out))
    if failures:
        raise typer.Exit(1)
