"""The Separator API: a model applied to songs of any length in bounded memory.

Flow for one file: decode in blocks -> stereo -> resample to the model rate -> fixed-size
segments (window frames of audio each, overlapping) -> STFT -> mask -> iSTFT -> overlap-add with a
linear cross-fade -> resample back to the input rate -> vocals = input - instrumental -> encode in
blocks to temporary files that are renamed into place at the end.

Only a few segments of audio are held at a time, so memory does not grow with the song. Because
vocals are the input minus the instrumental in the time domain, the two stems always sum to the
(stereo-converted) input.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from vocal_remover import audio as audio_io
from vocal_remover.artifacts import LoadedModel, load_model
from vocal_remover.device import autocast, resolve_device, resolve_precision
from vocal_remover.errors import AudioError, ConfigError, ModelError
from vocal_remover.spec import full_band_mask, istft, network_input, stft

STEMS = ("instrumental", "vocals")
STEM_SUFFIX = {"instrumental": "Instruments", "vocals": "Vocals"}
READ_BLOCK = 1 << 17  # samples per decoded block (~3 s at 44.1 kHz)


@dataclass(frozen=True)
class ProgressEvent:
    """What the separator is doing: `done` out of `total` (seconds of audio; total may be None)."""

    file: str
    stage: str  # "start" | "separate" | "done" | "skipped"
    done: float
    total: float | None


@dataclass
class FileResult:
    input: Path
    outputs: dict[str, Path] = field(default_factory=dict)
    skipped: bool = False
    seconds: float = 0.0  # audio duration
    wall_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # warnings for the user (downmix, truncation)


ProgressCallback = Callable[[ProgressEvent], None]


def output_paths(track: str, outdir: Path, fmt: str, stems: Sequence[str]) -> dict[str, Path]:
    """`OUTDIR/<track>_Instruments.<ext>` and `OUTDIR/<track>_Vocals.<ext>`."""
    return {stem: outdir / f"{track}_{STEM_SUFFIX[stem]}.{fmt}" for stem in stems}


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


def crossfade_weight(length: int, ramp: int) -> np.ndarray:
    """Trapezoid: linear ramps of `ramp` samples at both ends, 1 in between (never exactly 0)."""
    w = np.ones(length, dtype=np.float64)
    if ramp > 0:
        up = (np.arange(ramp, dtype=np.float64) + 0.5) / ramp
        w[:ramp] = np.minimum(w[:ramp], up)
        w[length - ramp:] = np.minimum(w[length - ramp:], up[::-1])
    return w


def remove_isolated_vocals(mask: torch.Tensor, magnitude: torch.Tensor, threshold: float = 0.05,
                           min_frames: int = 16) -> torch.Tensor:
    """Post-processing: vocal activity shorter than `min_frames` between silent stretches is an artefact.

    mask, magnitude: (B, C, bins, W). A frame is vocal when the vocal share of its energy
    (1 - mask, weighted by the mixture magnitude) exceeds `threshold`; runs of vocal frames shorter
    than `min_frames` are set to a pure-instrumental mask (1). Returns a new mask.
    """
    weight = magnitude.sum(dim=(1, 2)).clamp_min(1e-8)  # (B, W)
    vocal_share = ((1 - mask) * magnitude).sum(dim=(1, 2)) / weight
    active = (vocal_share > threshold).cpu().numpy()
    out = mask.clone()
    for b, row in enumerate(active):
        start = None
        for t, on in enumerate(np.append(row, False)):
            if on and start is None:
                start = t
            elif not on and start is not None:
                if t - start < min_frames:
                    out[b, :, :, start:t] = 1.0
                start = None
    return out


class _OverlapAdd:
    """Weighted overlap-add of segments at absolute sample positions, released once final."""

    def __init__(self, channels: int):
        self.start = 0
        self.acc = np.zeros((0, channels), dtype=np.float64)
        self.wsum = np.zeros(0, dtype=np.float64)

    def add(self, pos: int, segment: np.ndarray, weight: np.ndarray) -> None:
        end = pos + len(segment)
        grow = end - (self.start + len(self.acc))
        if grow > 0:
            self.acc = np.concatenate((self.acc, np.zeros((grow, self.acc.shape[1]))))
            self.wsum = np.concatenate((self.wsum, np.zeros(grow)))
        i = pos - self.start
        self.acc[i:i + len(segment)] += segment * weight[:, None]
        self.wsum[i:i + len(segment)] += weight

    def pop(self, until: int) -> np.ndarray:
        """Normalised samples [start, until) as float32; they are dropped from the buffer."""
        n = max(0, min(until - self.start, len(self.acc)))
        out = (self.acc[:n] / np.maximum(self.wsum[:n, None], 1e-12)).astype(np.float32)
        self.acc, self.wsum = self.acc[n:], self.wsum[n:]
        self.start += n
        return out


class Separator:
    """Separates songs with one model. The CLI only wraps this class.

    >>> sep = Separator("path/to/model-folder")          # or a registry name / Hub id
    >>> result = sep.separate_file("song.mp3", "separated")
    >>> result.outputs["vocals"]
    """

    def __init__(self, model: str | Path | LoadedModel = "default", *, device: str = "auto",
                 precision: str = "auto", window: int | None = None, overlap: float = 0.125,
                 batch_size: int | None = None, tta: bool = False, postprocess: bool = False, offline: bool = False,
                 allow_untrained: bool = True, optimize_layout: bool = True):
        self.device = resolve_device(device)
        self.dtype = resolve_precision(self.device, precision, inference=True)
        if isinstance(model, LoadedModel):
            loaded = model
        else:
            from vocal_remover.hub import resolve_model

            loaded = load_model(resolve_model(model, offline=offline), device="cpu")
        if not allow_untrained and not loaded.trained:
            raise ModelError(str(loaded.path or model), "this model is untrained (random weights), only for smoke "
                             "tests and benchmarks; pass --allow-untrained to use it anyway")
        self.loaded = loaded
        self.config = loaded.config
        # A torch module, or an ONNX network run by onnxruntime (backends.OnnxMaskModel, called the same way).
        is_torch = isinstance(loaded.model, torch.nn.Module)
        self.model = loaded.model.to(self.device).eval() if is_torch else loaded.model
        # On CPU the (k, 1) convolutions run ~3x faster in channels-last layout (measured with
        # torch 2.13); only for inference, since the layout was seen to fail in CPU backward passes.
        # `optimize_layout=False` leaves a model that is being trained untouched (training validation).
        self.channels_last = is_torch and optimize_layout and self.device.type == "cpu"
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        cfg = self.config
        limit = cfg.max_cropsize
        self.window = int(window) if window else min(512, limit)
        if not 8 <= self.window <= limit:
            raise ConfigError(f"--window {self.window}", f"must be between 8 and this model's max_cropsize {limit}")
        if not 0.0 <= overlap <= 0.75:
            raise ConfigError(f"--overlap {overlap}", "must be between 0 and 0.75")
        if batch_size is None:
            # Measured on a 2-core CPU: one window at a time is fastest (the working set stays in
            # cache); accelerators want several.
            batch_size = 1 if self.device.type == "cpu" else 4
        if batch_size < 1:
            raise ConfigError(f"--batch-size {batch_size}", "must be at least 1")
        self.overlap = float(overlap)
        self.batch_size = int(batch_size)
        self.tta = bool(tta)
        self.postprocess = bool(postprocess)

        # A segment of (window - 1) hops gives exactly `window` centred STFT frames.
        self.segment = (self.window - 1) * cfg.hop_length
        stride = max(1, round(self.segment * (1 - self.overlap)))
        if self.tta:
            # Shifted-window TTA: a second grid offset by half a stride, i.e. twice the windows,
            # every sample predicted from two different window positions and cross-faded.
            stride = max(1, stride // 2)
        self.stride = stride
        self.weight = crossfade_weight(self.segment, min(self.segment - stride, self.segment // 2))

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    # -- tensor work --------------------------------------------------------------------------

    @torch.inference_mode()
    def _instrumental_segments(self, segments: np.ndarray) -> np.ndarray:
        """(B, S, 2) mixture segments at the model rate -> (B, S, 2) instrumental."""
        cfg = self.config
        x = torch.from_numpy(np.ascontiguousarray(segments.transpose(0, 2, 1))).to(self.device)
        spec = stft(x, cfg.n_fft, cfg.hop_length)  # (B, 2, bins + 1, W) complex
        inp = network_input(spec, cfg.num_bins)
        if self.channels_last:
            inp = inp.contiguous(memory_format=torch.channels_last)
        with autocast(self.device, self.dtype):
            mask = self.model(inp)
        mask = mask.float()
        if self.postprocess:
            mask = remove_isolated_vocals(mask, inp)
        inst = istft(spec * full_band_mask(mask), cfg.n_fft, cfg.hop_length, segments.shape[1])
        return inst.transpose(1, 2).cpu().numpy()

    def separate_stream(self, blocks: Iterator[np.ndarray],
                        on_progress: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
        """Stereo (n, 2) float32 blocks at the model rate in -> instrumental blocks out, same total length.

        `on_progress(samples)` is called with the number of input samples whose output is final.
        """
        seg, stride = self.segment, self.stride
        buf = np.zeros((0, 2), dtype=np.float32)
        buf_start = 0  # absolute index of buf[0]
        total = 0
        next_pos = 0  # start of the next segment to cut
        ola = _OverlapAdd(2)
        ended = False
        source = iter(blocks)
        while True:
            block = next(source, None)
            if block is None:
                ended = True
            elif len(block):
                buf = np.concatenate((buf, block.astype(np.float32, copy=False)))
                total += len(block)
            # Cut every segment that is complete (or all remaining ones at the end), in batches.
            while next_pos < total and (ended or next_pos + seg <= buf_start + len(buf)):
                positions = []
                while (len(positions) < self.batch_size and next_pos < total
                       and (ended or next_pos + seg <= buf_start + len(buf))):
                    positions.append(next_pos)
                    next_pos += stride
                batch = np.zeros((len(positions), seg, 2), dtype=np.float32)
                for k, pos in enumerate(positions):
                    piece = buf[pos - buf_start:pos - buf_start + seg]
                    batch[k, :len(piece)] = piece
                for pos, inst in zip(positions, self._instrumental_segments(batch)):
                    ola.add(pos, inst, self.weight)
                done = min(next_pos, total)
                out = ola.pop(done)
                if len(out):
                    yield out
                if on_progress is not None:
                    on_progress(done)
                drop = min(next_pos - buf_start, len(buf))  # input before the next segment is done with
                if drop > 0:
                    buf, buf_start = buf[drop:], buf_start + drop
            if ended:
                break
        out = ola.pop(total)
        if len(out):
            yield out

    def separate_array(self, audio: np.ndarray, sample_rate: int | None = None) -> dict[str, np.ndarray]:
        """In-memory convenience: (n, channels) float audio -> {"instrumental", "vocals"} (n, channels).

        Uses the same streaming path as files (blocks of READ_BLOCK samples).
        """
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim == 1:
            audio = audio[:, None]
        rate = sample_rate or self.sample_rate
        blocks = (audio[i:i + READ_BLOCK] for i in range(0, len(audio), READ_BLOCK))
        inst_parts, voc_parts = [], []
        for inst, voc in self._separate_blocks(blocks, rate, audio.shape[1]):
            inst_parts.append(inst)
            voc_parts.append(voc)
        empty = np.zeros((0, audio.shape[1]), dtype=np.float32)
        return {"instrumental": np.concatenate(inst_parts) if inst_parts else empty,
                "vocals": np.concatenate(voc_parts) if voc_parts else empty}

    def _separate_blocks(self, blocks: Iterator[np.ndarray], rate: int, channels: int,
                         on_progress: Callable[[int], None] | None = None):
        """Input-rate blocks (n, channels) -> (instrumental, vocals) blocks in the output channel layout."""
        out_channels = channels if channels <= 2 else 2
        down = audio_io.Resampler(rate, self.sample_rate, 2)
        up = audio_io.Resampler(self.sample_rate, rate, 2)
        pending_mix: list[np.ndarray] = []  # input-rate stereo mixture awaiting its instrumental
        pending_inst: list[np.ndarray] = []
        counts = {"in": 0, "out": 0}

        def model_rate_blocks():
            for block in blocks:
                stereo = audio_io.to_stereo(block)
                counts["in"] += len(stereo)
                pending_mix.append(stereo)
                yield down.process(stereo)
            yield down.process(np.zeros((0, 2), dtype=np.float32), last=True)

        def progress(samples_model_rate: int):
            if on_progress is not None:
                on_progress(int(samples_model_rate * rate / self.sample_rate))

        def emit(final: bool):
            inst = np.concatenate(pending_inst) if pending_inst else np.zeros((0, 2), np.float32)
            mix = np.concatenate(pending_mix) if pending_mix else np.zeros((0, 2), np.float32)
            n = len(inst)
            if final:
                n = counts["in"] - counts["out"]  # the output has exactly the input's length
                if len(inst) < n:
                    inst = np.concatenate((inst, np.zeros((n - len(inst), 2), np.float32)))
            n = min(n, len(mix), len(inst))
            pending_inst[:] = [inst[n:]] if len(inst) > n else []
            pending_mix[:] = [mix[n:]] if len(mix) > n else []
            counts["out"] += n
            if n == 0:
                return None
            i = inst[:n]
            v = mix[:n] - i
            return audio_io.from_stereo(i, out_channels), audio_io.from_stereo(v, out_channels)

        for inst_block in self.separate_stream(model_rate_blocks(), progress):
            pending_inst.append(up.process(inst_block))
            pair = emit(final=False)
            if pair is not None:
                yield pair
        pending_inst.append(up.process(np.zeros((0, 2), dtype=np.float32), last=True))
        pair = emit(final=True)
        if pair is not None:
            yield pair

    def separate_file(self, path: str | Path, outdir: str | Path = "separated", *, fmt: str = "wav",
                      sample_type: str = "float", stems: Sequence[str] = STEMS, skip_existing: bool = False,
                      progress: ProgressCallback | None = None, images: bool = False,
                      name: str | None = None) -> FileResult:
        """Separate one file into `outdir` as `<name>_Instruments.<fmt>` / `<name>_Vocals.<fmt>` (name
        defaults to the file's stem). Raises AudioError for unreadable input or unwritable output;
        nothing is left under the final names unless every requested output was completed."""
        path, outdir = Path(path), Path(outdir)
        stems = tuple(dict.fromkeys(stems))
        for stem in stems:
            if stem not in STEMS:
                raise ConfigError(f"stem '{stem}'", f"expected one of {', '.join(STEMS)}")
        track = name or path.stem
        targets = output_paths(track, outdir, fmt, stems)
        result = FileResult(input=path, outputs=targets)
        if skip_existing and all(p.exists() for p in targets.values()):
            result.skipped = True
            if progress:
                progress(ProgressEvent(str(path), "skipped", 0.0, None))
            return result

        started = time.perf_counter()
        with audio_io.open_audio(path) as reader:
            info = reader.info
            if info.frames == 0:
                raise AudioError(str(path), "contains no audio samples")
            if info.channels > 2:
                result.notes.append(f"{info.channels} channels downmixed to stereo")
            out_channels = info.channels if info.channels <= 2 else 2
            for target in targets.values():  # refuse what the format cannot store before creating anything
                audio_io.check_output_format(str(target), fmt, info.samplerate, out_channels)
            total_seconds = info.duration
            if progress:
                progress(ProgressEvent(str(path), "start", 0.0, total_seconds))
            created = _make_folder(outdir)

            def on_progress(samples: int):
                if progress:
                    progress(ProgressEvent(str(path), "separate", samples / info.samplerate, total_seconds))

            with contextlib.ExitStack() as stack:
                # A failure (or Ctrl-C) leaves no output folder that this call created and left empty.
                stack.callback(_remove_if_empty, created)
                # Each writer deletes its temporary file unless committed, also on Ctrl-C.
                writers = {stem: stack.enter_context(audio_io.AudioWriter(
                    targets[stem], info.samplerate, out_channels, fmt, sample_type)) for stem in stems}
                images_acc = _ImageSet(info.samplerate) if images else None
                written = 0
                for inst, voc in self._separate_blocks(reader.blocks(READ_BLOCK), info.samplerate,
                                                       info.channels, on_progress):
                    if "instrumental" in writers:
                        writers["instrumental"].write(inst)
                    if "vocals" in writers:
                        writers["vocals"].write(voc)
                    if images_acc is not None:
                        images_acc.add(inst + voc, inst, voc)
                    written += len(inst)
                if written == 0:
                    raise AudioError(str(path), "contains no audio samples")
                for writer in writers.values():
                    writer.commit()
            result.notes.extend(reader.warnings)  # e.g. truncated file: what was decoded was separated
        result.seconds = written / info.samplerate
        if images_acc is not None:
            for key, png in images_acc.save(outdir, track).items():
                result.outputs[key] = png
        result.wall_seconds = time.perf_counter() - started
        if progress:
            progress(ProgressEvent(str(path), "done", result.seconds, result.seconds))
        return result


def _make_folder(folder: Path) -> Path | None:
    """Create `folder` (and parents) if needed; returns the topmost folder created, or None."""
    top = None
    for parent in reversed((folder, *folder.parents)):
        if not parent.exists():
            top = parent
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AudioError(str(folder), f"cannot create output folder: {exc.strerror or exc}") from None
    return top


def _remove_if_empty(top: Path | None) -> None:
    """Remove the folders `_make_folder` created if nothing was written into them."""
    if top is None:
        return
    with contextlib.suppress(OSError):
        for folder in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            folder.rmdir()
        top.rmdir()


class _ImageSet:
    """Downsampled spectrograms of mixture, instrumental and vocals, built while streaming."""

    def __init__(self, rate: int):
        from vocal_remover.images import SpectrogramAccumulator

        self.n_fft = 2048
        self.rate = rate
        self.acc = {name: SpectrogramAccumulator() for name in ("Input", "Instruments", "Vocals")}

    def add(self, mix: np.ndarray, inst: np.ndarray, voc: np.ndarray) -> None:
        for name, block in zip(self.acc, (mix, inst, voc)):
            mono = torch.from_numpy(np.ascontiguousarray(block.mean(axis=1)))
            if len(mono) < self.n_fft:
                continue
            spec = torch.stft(mono, self.n_fft, self.n_fft // 2, window=torch.hann_window(self.n_fft),
                              center=False, return_complex=True)
            self.acc[name].add(spec.abs().numpy())

    def save(self, outdir: Path, stem: str) -> dict[str, Path]:
        from vocal_remover.images import save_spectrogram_png

        paths = {}
        for name, acc in self.acc.items():
            path = outdir / f"{stem}_{name}.png"
            save_spectrogram_png(path, acc.finish(), title=f"{stem} {name}")
            paths[f"image_{name.lower()}"] = path
        return paths
