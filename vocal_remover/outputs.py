"""What `separate` writes and reads besides audio samples: output names (the `--filename` template), the
inputs a folder expands to (leaving out earlier outputs), output folders, and the spectrogram pictures (`-I`)."""

from __future__ import annotations

import math
import re
import string
from pathlib import Path, PurePath
from typing import Sequence

import numpy as np
import torch

from vocal_remover import audio as audio_io
from vocal_remover.errors import AudioError, ConfigError

STEM_SUFFIX = {"instrumental": "Instruments", "vocals": "Vocals", "remix": "Remix"}
IMAGE_LABELS = {"image_input": "Input", "image_instruments": "Instruments", "image_vocals": "Vocals"}
DEFAULT_FILENAME = "{track}_{stem}.{ext}"
FILENAME_FIELDS = ("track", "trackext", "stem", "ext")


def check_filename_template(template: str) -> str:
    """Validate an output name template (`--filename`): fields {track}, {trackext}, {stem}, {ext} only,
    {stem} present (else the stems of a track would overwrite each other), and a relative path that
    stays inside the output folder. Returns the template; raises ConfigError."""
    what = f"--filename '{template}'"
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(what, f"not a valid template ({exc}); write fields as {{track}}, {{stem}}, {{ext}}") from None
    fields = [name for _, name, _, _ in parsed if name is not None]
    for name in fields:
        if name not in FILENAME_FIELDS:
            shown = "{" + name + "}" if name else "{}"
            raise ConfigError(what, f"unknown field {shown}; use {', '.join('{' + f + '}' for f in FILENAME_FIELDS)}")
    if "stem" not in fields:
        raise ConfigError(what, "must contain {stem}, or the stems of a track would overwrite each other")
    sample = PurePath(template.format(track="t", trackext="wav", stem="Vocals", ext="wav"))
    if sample.is_absolute() or template.startswith(("/", "\\")) or ".." in sample.parts \
            or template.endswith(("/", "\\")) or "" in template.split("/"):
        raise ConfigError(what, "must be a relative file path inside the output folder (no leading /, no .., "
                                "no empty folder names)")
    return template


def output_path(outdir: Path, track: str, stem_label: str, ext: str, *, template: str = DEFAULT_FILENAME,
                trackext: str = "") -> Path:
    """One output's path: the template filled in, under `outdir`."""
    return Path(outdir) / template.format(track=track, trackext=trackext, stem=stem_label, ext=ext)


def output_paths(track: str, outdir: Path, fmt: str, stems: Sequence[str], *, template: str = DEFAULT_FILENAME,
                 trackext: str = "", images: bool = False) -> dict[str, Path]:
    """The outputs of one track: with the default template `OUTDIR/<track>_Instruments.<ext>`,
    `OUTDIR/<track>_Vocals.<ext>` (and `_Remix` for the stem "remix"); with `images`, the PNG spectrograms
    `image_input`, `image_instruments`, `image_vocals` named by the same template (stem Input /
    Instruments / Vocals, ext png)."""
    paths = {stem: output_path(outdir, track, STEM_SUFFIX[stem], fmt, template=template, trackext=trackext)
             for stem in stems}
    if images:
        for key, label in IMAGE_LABELS.items():
            paths[key] = output_path(outdir, track, label, "png", template=template, trackext=trackext)
    return paths


_OUTPUT_NAME = re.compile(r".+_(?:%s)\.[^.]+" % "|".join(STEM_SUFFIX.values()))


def looks_like_output(path: str | Path) -> bool:
    """Whether a file is named like what `separate_file` writes (`<track>_Instruments.<ext>`, `_Vocals`)."""
    return bool(_OUTPUT_NAME.fullmatch(Path(path).name))


def find_inputs(inputs: Sequence[str | Path], output_dir: str | Path) -> tuple[list[Path], list[tuple[Path, str]],
                                                                           list[Path]]:
    """The audio files to separate: `audio.find_audio_files`, except that expanding a folder leaves out
    what separation wrote there before, so that running the same command twice does not separate its
    own outputs: files named like outputs, and files inside the output folder when that folder lies
    within an input folder. Files named explicitly are always kept.

    Returns (files, problems, left_out)."""
    out = Path(output_dir).resolve()
    folders = [Path(p).resolve() for p in inputs if Path(p).is_dir()]
    # `separate . -o .`: the output folder is the input folder itself; only the names tell outputs apart.
    out_inside_input = out not in folders and any(out.is_relative_to(f) for f in folders)
    left_out: list[Path] = []

    def exclude(path: Path) -> bool:
        if looks_like_output(path) or (out_inside_input and path.resolve().is_relative_to(out)):
            left_out.append(path)
            return True
        return False

    files, problems = audio_io.find_audio_files(inputs, exclude=exclude)
    return files, problems, left_out


def unique_track_names(files: Sequence[Path]) -> list[str]:
    """Output names for a batch of inputs: the file stem, made unique where stems collide
    (`song.wav` + `song.mp3` -> `song_wav`, `song_mp3`; same name in two folders -> `a-song`, `b-song`)."""
    names = [f.stem for f in files]
    for attempt in ("ext", "parent", "counter"):
        seen: dict[str, int] = {}
        for name in names:
            seen[name] = seen.get(name, 0) + 1
        if all(count == 1 for count in seen.values()):
            break
        for i, f in enumerate(files):
            if seen[names[i]] > 1:
                if attempt == "ext":
                    names[i] = f"{names[i]}_{f.suffix.lstrip('.').lower()}" if f.suffix else names[i]
                elif attempt == "parent":
                    names[i] = f"{f.parent.name}-{names[i]}"
                else:
                    names[i] = f"{names[i]}-{i + 1}"
    return names


def check_output_collisions(outputs: Sequence[tuple[Path, dict[str, Path]]], template: str) -> None:
    """ConfigError when two inputs would write the same output path (a --filename without {track})."""
    seen: dict[Path, Path] = {}
    for source, paths in outputs:
        for path in paths.values():
            other = seen.setdefault(path, source)
            if other != source:
                raise ConfigError(f"--filename '{template}'", f"{other} and {source} would both write {path}; "
                                                              "put {track} in the template")


def make_output_folders(folder: Path) -> list[Path]:
    """mkdir -p, returning the folders it created (outermost first). AudioError when it cannot."""
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AudioError(str(folder), f"cannot create output folder: {exc.strerror or exc}") from None
    return list(reversed(missing))


class StemSpectrograms:
    """Spectrograms of mixture, instrumental and vocals, built while streaming (contiguous frames across
    blocks), drawn with labelled axes on one shared dBFS colour scale."""

    def __init__(self, rate: int):
        from vocal_remover.images import SpectrogramAccumulator

        self.n_fft = 2048 * max(1, math.ceil(rate / 48000))  # ~21 Hz bins whatever the rate
        self.hop = self.n_fft // 2
        self.rate = rate
        self.acc = {key: SpectrogramAccumulator() for key in IMAGE_LABELS}
        self.tail = {key: np.zeros(0, np.float32) for key in IMAGE_LABELS}
        self.window = torch.hann_window(self.n_fft)

    def add(self, mix: np.ndarray, inst: np.ndarray, voc: np.ndarray) -> None:
        for key, block in zip(self.acc, (mix, inst, voc)):
            mono = np.concatenate((self.tail[key], block.mean(axis=1, dtype=np.float32)))
            frames = 0 if len(mono) < self.n_fft else 1 + (len(mono) - self.n_fft) // self.hop
            self.tail[key] = mono[frames * self.hop:]
            if frames == 0:
                continue
            spec = torch.stft(torch.from_numpy(mono[:(frames - 1) * self.hop + self.n_fft]), self.n_fft, self.hop,
                              window=self.window, center=False, return_complex=True)
            self.acc[key].add(spec.abs().numpy())

    def save(self, paths: dict[str, Path], track: str, seconds: float) -> None:
        from vocal_remover.images import magnitude_dbfs_peak, save_spectrogram_png

        spectra = {key: acc.finish() for key, acc in self.acc.items()}
        peak = max(magnitude_dbfs_peak(spectra[key], self.n_fft) for key in spectra)
        for key, spec in spectra.items():
            save_spectrogram_png(paths[key], spec, title=f"{track} {IMAGE_LABELS[key]}", label=IMAGE_LABELS[key],
                                 sample_rate=self.rate, n_fft=self.n_fft, seconds=seconds, top_db=peak)
