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
import heapq
import itertools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from vocal_remover import audio as audio_io
from vocal_remover.artifacts import CONFIG_NAME, LoadedModel, is_onnx_path, load_model
from vocal_remover.device import autocast, resolve_device, resolve_precision
from vocal_remover.errors import AudioError, ConfigError, ModelError
from vocal_remover.outputs import (DEFAULT_FILENAME, IMAGE_LABELS, StemSpectrograms, check_filename_template,
                                     make_output_folders, output_paths)
from vocal_remover.overlap_add import OverlapAdd, crossfade_weight
from vocal_remover.spec import full_band_mask, istft, network_input, stft

STEMS = ("instrumental", "vocals")
READ_BLOCK = 1 << 17  # samples per decoded block (~3 s at 44.1 kHz)
WINDOW_STEP = 32  # frames: windows fitted to an input are rounded up to a multiple of this
MAX_SHIFT_SECONDS = 0.5  # --shifts: window grids are offset by up to this much (as Demucs)
VOCALS_GAIN_RANGE = (-60.0, 24.0)  # dB


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


class Separator:
    """Separates songs with one model. The CLI only wraps this class.

    >>> sep = Separator("path/to/model-folder")          # or a registry name / Hub id
    >>> result = sep.separate_file("song.mp3", "separated")
    >>> result.outputs["vocals"]

    engine: "auto" (onnxruntime where a model folder's network would run in fp32 on the CPU, else
    torch; an in-memory `LoadedModel` stays torch), "torch" or "onnx" (see `vocal_remover.backends`).
    swap_channels: every window is also separated with left and right swapped and the two masks are averaged
    (+0.09 dB on held-out MUSDB clips; skipped where both channels are equal, e.g. mono files). None (auto): on
    for a GPU or MPS, where it costs about 1.2x the time, off on the CPU, where it costs about 1.8x and would take
    the 3-minute song from ~1.7x faster than Spleeter on two cores to about level (docs/benchmarks.md).
    shifts: N passes over window grids at random offsets (up to 0.5 s, seeded by `seed`: the same
    output every run), averaged; the first pass is the plain grid. log: receives one-line messages while the
    model is prepared (the one-time ONNX export); `notes` keeps what the user should know about the setup.
    """

    def __init__(self, model: str | Path | LoadedModel = "default", *, device: str = "auto",
                 precision: str = "auto", engine: str = "auto", window: int | None = None, overlap: float = 0.125,
                 batch_size: int | None = None, swap_channels: bool | None = None, tta: bool = False, shifts: int = 1,
                 seed: int = 0,
                 postprocess: bool = False, offline: bool = False, allow_untrained: bool = True,
                 optimize_layout: bool = True, log: Callable[[str], None] | None = None):
        from vocal_remover import backends

        engine = (engine or "auto").strip().lower()
        self.device = resolve_device(device)
        self.dtype = resolve_precision(self.device, precision, inference=True)
        self.notes: list[str] = []
        folder: Path | None = None
        if isinstance(model, LoadedModel):
            loaded: LoadedModel | None = model
            onnx_model = not isinstance(model.model, torch.nn.Module)
            trained, label = model.trained, str(model.path or "model")
        else:
            from vocal_remover.hub import resolve_model

            folder = Path(resolve_model(model, offline=offline))
            loaded = None
            onnx_model = is_onnx_path(folder)
            trained, label = None, str(folder)
            if not onnx_model and not (folder / CONFIG_NAME).is_file():
                loaded = load_model(folder, device="cpu")  # not a model folder: its error says what it is
                trained = loaded.trained
            elif not onnx_model:
                from vocal_remover.artifacts import read_model_config

                trained = bool(read_model_config(folder)[1].get("trained", False))
        if trained is False and not allow_untrained:
            raise ModelError(label, "this model is untrained (random weights), only for smoke tests and "
                                    "benchmarks; pass --allow-untrained to use it anyway")
        self.engine = backends.choose_engine(engine, device_type=self.device.type, fp32=self.dtype is None,
                                             onnx_model=onnx_model)
        if engine == "auto" and loaded is not None and not onnx_model:
            self.engine = "torch"  # an in-memory model (training, experiments): no export behind the caller's back
        if self.engine == "onnx":
            from vocal_remover.artifacts.onnx_model import optimization_level

            optimization_level()  # a bad setting is the user's error, before any export could be marked failed
            if (precision or "auto").lower() in ("bf16", "fp16"):
                raise ConfigError(f"--precision {precision}", "the onnx engine computes in fp32; use --precision "
                                                              "fp32 or auto, or --engine torch")
            self.dtype = None
            if not onnx_model:
                loaded = self._onnx_engine(folder if loaded is None else loaded, explicit=engine == "onnx", log=log)
        if loaded is None:
            loaded = load_model(folder, device="cpu")
        if not allow_untrained and not loaded.trained:
            raise ModelError(str(loaded.path or model), "this model is untrained (random weights), only for smoke "
                             "tests and benchmarks; pass --allow-untrained to use it anyway")
        self.loaded = loaded
        self.config = loaded.config
        # A torch module, or an ONNX network run by onnxruntime (backends.OnnxMaskModel, called the same way).
        is_torch = isinstance(loaded.model, torch.nn.Module)
        if not is_torch:
            self.engine = "onnx"
        elif self.engine == "onnx":  # auto fell back (see _onnx_engine)
            self.engine = "torch"
            self.dtype = resolve_precision(self.device, precision, inference=True)
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
        if not 1 <= int(shifts) <= 100:
            raise ConfigError(f"--shifts {shifts}", "must be between 1 and 100")
        self.overlap = float(overlap)
        self.batch_size = int(batch_size)
        self.swap_channels = self.device.type != "cpu" if swap_channels is None else bool(swap_channels)
        self.tta = bool(tta)
        self.shifts = int(shifts)
        self.seed = int(seed)
        self.postprocess = bool(postprocess)

    def _onnx_engine(self, source: Path | LoadedModel, *, explicit: bool,
                     log: Callable[[str], None] | None) -> LoadedModel | None:
        """The network of a model folder (or an in-memory torch model) as a cached ONNX export run by
        onnxruntime; exported and checked on first use. Under `auto` (not explicit) any failure falls
        back to torch: None (nothing loaded yet) or the torch model already loaded for the export."""
        from vocal_remover import backends
        from vocal_remover.artifacts import WEIGHTS_NAME, load_model_folder, read_model_config

        if isinstance(source, LoadedModel):
            config, meta, path = source.config, dict(source.metadata), source.path
            meta.setdefault("model", config.to_dict())
            meta.setdefault("format_version", 1)
            digest = backends.weights_digest(source.model)
        else:
            config, meta = read_model_config(source)
            path = source
            weights = source / WEIGHTS_NAME
            if not weights.is_file():
                raise ModelError(str(source), f"{WEIGHTS_NAME} is missing")
            digest = backends.weights_digest(weights)
        cache = backends.onnx_cache_file(config, digest)
        assert cache is not None  # choose_engine checked onnxruntime
        if cache.is_file():
            try:
                return LoadedModel(model=backends.OnnxMaskModel(cache), config=config, metadata=meta, path=path)
            except ModelError:  # damaged cache entry: export it again
                cache.unlink(missing_ok=True)
        if not explicit and (backends.failure_marker(cache).is_file() or backends.exporter_missing()):
            return source if isinstance(source, LoadedModel) else None  # quietly torch
        torch_loaded = source if isinstance(source, LoadedModel) else load_model_folder(source, device="cpu")
        try:
            backends.build_onnx_cache(torch_loaded.model, meta, cache, log=log)
        except ModelError as exc:
            if explicit:
                raise
            self.notes.append(f"the onnxruntime engine is not available for this model ({exc.why}); using torch")
            return torch_loaded
        return LoadedModel(model=backends.OnnxMaskModel(cache), config=config, metadata=meta, path=path)

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    def _plan(self, length: int | None) -> tuple[int, int, np.ndarray]:
        """(segment, stride, cross-fade weight) in model-rate samples for an input of `length` samples
        (None: unknown, e.g. a stream). A known length gets windows fitted to it: the fewest windows of at
        most `window` frames that cover it, each as short as that allows, in whole WINDOW_STEP frames (a 7 s
        clip, 302 frames, is one window of 320 frames instead of one of 512)."""
        hop = self.config.hop_length
        window = self.window
        if length is not None and length > 0:
            seg = (window - 1) * hop
            stride = max(1, round(seg * (1 - self.overlap)))
            count = 1 if length <= seg else 1 + math.ceil((length - seg) / stride)
            # + count: the strides are rounded to whole samples, up to half a sample short each
            needed = math.ceil(length / (1 + (count - 1) * (1 - self.overlap))) + count
            fitted = math.ceil(needed / hop) + 1
            # Whole multiples of 32 frames: files of similar length share window shapes, and with them the
            # kernels PyTorch's CPU backend compiles for each new shape in bf16 (~0.13 s each, measured).
            window = min(window, max(8, -(-fitted // WINDOW_STEP) * WINDOW_STEP))
        # A segment of (window - 1) hops gives exactly `window` centred STFT frames.
        segment = (window - 1) * hop
        stride = max(1, round(segment * (1 - self.overlap)))
        # (--tta adds a second grid offset by half a stride: see shift_offsets.)
        weight = crossfade_weight(segment, min(segment - stride, segment // 2))
        return segment, stride, weight

    def shift_offsets(self, stride: int) -> list[int]:
        """Start offsets of the window grids (model-rate samples): 0, then `shifts` - 1 random ones below
        min(0.5 s, stride) from a generator seeded with `seed` (the same for every file and run); with
        --tta each again half a stride further."""
        offsets = [0]
        if self.shifts > 1:
            limit = max(1, min(round(MAX_SHIFT_SECONDS * self.sample_rate), stride))
            rng = np.random.default_rng(self.seed)
            offsets += [int(o) for o in rng.integers(0, limit, self.shifts - 1)]
        if self.tta:
            # Shifted-window TTA: every grid also offset by half a stride, i.e. twice the windows, every
            # sample predicted from two different window positions and cross-faded.
            offsets += [(o + stride // 2) % stride for o in offsets]
        return offsets

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
            mask = self.model(inp).float()
            if self.swap_channels and not torch.equal(x[:, 0], x[:, 1]):
                # The same windows with left and right swapped: the network's second opinion, averaged with the
                # first (+0.14 dB on musdb7/valid, docs/benchmarks.md). A mono input would get the same mask.
                swapped = inp.flip(1)
                if self.channels_last:
                    swapped = swapped.contiguous(memory_format=torch.channels_last)
                mask = 0.5 * (mask + self.model(swapped).float().flip(1))
        if self.postprocess:
            mask = remove_isolated_vocals(mask, inp)
        inst = istft(self.instrumental_spectrogram(spec, full_band_mask(mask)), cfg.n_fft, cfg.hop_length,
                     segments.shape[1])
        return inst.transpose(1, 2).cpu().numpy()

    def instrumental_spectrogram(self, spec: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The mixture's STFT (B, 2, F, W) under the instrumental mask (same shape): the ratio mask with the
        mixture's phase. Its own method so that experiments with other filters can replace it
        (recipes/mask_postfilters.py)."""
        return spec * mask

    def separate_stream(self, blocks: Iterator[np.ndarray], on_progress: Callable[[int], None] | None = None,
                        *, length: int | None = None) -> Iterator[np.ndarray]:
        """Stereo (n, 2) float32 blocks at the model rate in -> instrumental blocks out, same total length.

        `on_progress(samples)` is called with the number of input samples whose output is final.
        `length`: the expected total (model-rate samples), when known: windows are fitted to it (the
        output has the stream's real length either way).
        """
        seg, stride, weight = self._plan(length)
        # All grids' window starts in increasing order, each with whether it is the plain grid's. Only the
        # plain grid cuts windows that reach outside the audio (zero padding): a window that is half padding
        # separates its real half badly (measured: --tta on 7-s clips, one window each, lost 0.6 dB), so the
        # other grids start at their first window inside the audio and stop before one that would run past
        # the end. Where they do not reach, the plain grid alone covers the audio.
        offsets = self.shift_offsets(stride)  # offsets[0] == 0: the plain grid
        grids = [zip(itertools.count(0, stride), itertools.repeat(True))]
        grids += [zip(itertools.count((-offset) % stride, stride), itertools.repeat(False)) for offset in offsets[1:]]
        starts = heapq.merge(*grids, key=lambda start: start[0])
        buf = np.zeros((0, 2), dtype=np.float32)
        buf_start = 0  # absolute index of buf[0]
        total = 0
        next_pos, next_plain = next(starts)  # start of the next segment to cut
        ola = OverlapAdd(2)
        ended = False
        source = iter(blocks)

        def wanted() -> bool:
            """Whether to cut the next window now: when its audio is all there; at the end, while the window
            before it in its grid stops short of the last sample (a grid's first window always): windows further
            on would only cover padding. At the end the other grids' windows that would run past the last sample
            are passed over first."""
            nonlocal next_pos, next_plain
            if not ended:
                return next_pos + seg <= buf_start + len(buf)
            while not next_plain and next_pos + seg > total:
                next_pos, next_plain = next(starts)
            return next_pos < total and (next_pos <= 0 or next_pos - stride + seg < total)

        while True:
            block = next(source, None)
            if block is None:
                ended = True
            elif len(block):
                buf = np.concatenate((buf, block.astype(np.float32, copy=False)))
                total += len(block)
            # Cut every segment that is complete (or, at the end, those still needed), in batches.
            while wanted():
                positions = []
                while len(positions) < self.batch_size and wanted():
                    positions.append(next_pos)
                    next_pos, next_plain = next(starts)
                batch = np.zeros((len(positions), seg, 2), dtype=np.float32)
                for k, pos in enumerate(positions):
                    lo = max(pos, buf_start)
                    piece = buf[lo - buf_start:pos + seg - buf_start]
                    batch[k, lo - pos:lo - pos + len(piece)] = piece
                for pos, inst in zip(positions, self._instrumental_segments(batch)):
                    ola.add(pos, inst, weight)
                done = max(0, min(next_pos, total))
                out = ola.pop(done)
                if len(out):
                    yield out
                if on_progress is not None:
                    on_progress(done)
                drop = min(done - buf_start, len(buf))  # input before the next segment is done with
                if drop > 0:
                    buf, buf_start = buf[drop:], buf_start + drop
            if ended:
                break
        out = ola.pop(total)
        if len(out):
            yield out
        if on_progress is not None:
            on_progress(total)  # all final (the last windows cut may have started before the end)

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
        for inst, voc in self._separate_blocks(blocks, rate, audio.shape[1], length=len(audio)):
            inst_parts.append(inst)
            voc_parts.append(voc)
        empty = np.zeros((0, audio.shape[1]), dtype=np.float32)
        return {"instrumental": np.concatenate(inst_parts) if inst_parts else empty,
                "vocals": np.concatenate(voc_parts) if voc_parts else empty}

    def _separate_blocks(self, blocks: Iterator[np.ndarray], rate: int, channels: int,
                         on_progress: Callable[[int], None] | None = None, *, out_rate: int | None = None,
                         length: int | None = None):
        """Input-rate blocks (n, channels) -> (instrumental, vocals) blocks at `out_rate` (default: the
        input's rate) in the output channel layout. `length`: the input's expected length, if known."""
        out_rate = out_rate or rate
        out_channels = audio_io.output_channels(channels)
        down = audio_io.Resampler(rate, self.sample_rate, 2)
        up = audio_io.Resampler(self.sample_rate, out_rate, 2)
        mix_rate = audio_io.Resampler(rate, out_rate, 2)  # the mixture at the output rate (a copy when equal)
        pending_mix: list[np.ndarray] = []  # output-rate stereo mixture awaiting its instrumental
        pending_inst: list[np.ndarray] = []
        counts = {"in": 0, "out": 0}

        def keep_mix(block: np.ndarray, last: bool = False) -> None:
            mixed = mix_rate.process(block, last=last)
            counts["in"] += len(mixed)
            pending_mix.append(mixed)

        def model_rate_blocks():
            for block in blocks:
                stereo = audio_io.to_stereo(block)
                keep_mix(stereo)
                yield down.process(stereo)
            keep_mix(np.zeros((0, 2), dtype=np.float32), last=True)
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

        model_length = down.expected_length(length) if length is not None else None
        for inst_block in self.separate_stream(model_rate_blocks(), progress, length=model_length):
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
                      name: str | None = None, filename: str = DEFAULT_FILENAME, mp3_bitrate: int | None = None,
                      vocals_gain: float | None = None) -> FileResult:
        """Separate one file into `outdir`, named by the `filename` template (default
        `<name>_Instruments.<fmt>` / `<name>_Vocals.<fmt>`; name defaults to the file's stem).

        vocals_gain: also write the song with its vocals changed by this many dB (`<name>_Remix.<fmt>`:
        instrumental + 10^(dB/20) x vocals). mp3_bitrate: constant-bitrate MP3 in kbps (default: VBR
        ~190 kbps). An input rate the format cannot store (MP3 above 48 kHz) is resampled for the
        outputs, with a note. Raises AudioError for unreadable input or unwritable output; nothing is
        left under the final names unless every requested output was completed."""
        path, outdir = Path(path), Path(outdir)
        stems = tuple(dict.fromkeys(stems))
        for stem in stems:
            if stem not in STEMS:
                raise ConfigError(f"stem '{stem}'", f"expected one of {', '.join(STEMS)}")
        check_filename_template(filename)
        gain = vocals_gain_factor(vocals_gain)
        audio_io.check_mp3_bitrate(mp3_bitrate)
        written_stems = stems + (("remix",) if gain is not None else ())
        track = name or path.stem
        targets = output_paths(track, outdir, fmt, written_stems, template=filename,
                               trackext=path.suffix.lstrip("."), images=images)
        result = FileResult(input=path, outputs=targets)
        if skip_existing and all(p.exists() for p in targets.values()):
            result.skipped = True
            if progress:
                progress(ProgressEvent(str(path), "skipped", 0.0, None))
            return result

        started = time.perf_counter()
        created: list[Path] = []  # folders made for this file, removed again if it fails
        pictures: list[Path] = []
        try:
            with audio_io.open_audio(path) as reader:
                info = reader.info
                if info.frames == 0:
                    raise AudioError(str(path), "contains no audio samples")
                if info.channels > 2:
                    result.notes.append(f"{info.channels} channels downmixed to stereo")
                out_channels = audio_io.output_channels(info.channels)
                out_rate, why = audio_io.storable_rate(fmt, info.samplerate)
                for stem in written_stems:  # refuse what the format cannot store before creating anything
                    audio_io.check_output_format(str(targets[stem]), fmt, out_rate, out_channels)
                if why:
                    result.notes.append(why)
                if fmt == "mp3" and mp3_bitrate is not None:
                    why = audio_io.mp3_bitrate_for(out_rate, mp3_bitrate)[1]
                    if why:
                        result.notes.append(why)
                total_seconds = info.duration
                if progress:
                    progress(ProgressEvent(str(path), "start", 0.0, total_seconds))
                for folder in sorted({p.parent for p in targets.values()}, key=lambda p: len(p.parts)):
                    created += make_output_folders(folder)

                def on_progress(samples: int):
                    if progress:
                        progress(ProgressEvent(str(path), "separate", samples / info.samplerate, total_seconds))

                with contextlib.ExitStack() as stack:
                    # Each writer deletes its temporary file unless committed, also on Ctrl-C.
                    writers = {stem: stack.enter_context(audio_io.AudioWriter(
                        targets[stem], out_rate, out_channels, fmt, sample_type, bitrate=mp3_bitrate))
                        for stem in written_stems}
                    images_acc = StemSpectrograms(out_rate) if images else None
                    written = 0
                    remix_peak = 0.0
                    for inst, voc in self._separate_blocks(reader.blocks(READ_BLOCK), info.samplerate, info.channels,
                                                           on_progress, out_rate=out_rate, length=info.frames or None):
                        if "instrumental" in writers:
                            writers["instrumental"].write(inst)
                        if "vocals" in writers:
                            writers["vocals"].write(voc)
                        if gain is not None:
                            remix = inst + np.float32(gain) * voc
                            remix_peak = max(remix_peak, float(np.abs(remix).max(initial=0.0)))
                            writers["remix"].write(remix)
                        if images_acc is not None:
                            images_acc.add(inst + voc, inst, voc)
                        written += len(inst)
                    if written == 0:
                        raise AudioError(str(path), "contains no audio samples")
                    if images_acc is not None:
                        pictures = [targets[key] for key in IMAGE_LABELS]
                        images_acc.save(dict(zip(IMAGE_LABELS, pictures)), track, written / out_rate)
                    for writer in writers.values():
                        writer.commit()
                result.notes.extend(reader.warnings)  # e.g. truncated file: what was decoded was separated
        except BaseException:
            for picture in pictures:  # audio outputs were not all committed: no pictures of them either
                with contextlib.suppress(OSError):
                    picture.unlink()
            for folder in reversed(created):
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if empty: never anything else's
            raise
        if gain is not None and remix_peak > 1.0 and not (fmt == "wav" and sample_type == "float"):
            result.notes.append(f"the remix peaks at {20 * math.log10(remix_peak):+.1f} dBFS and was clipped "
                                f"(use --sample-type float with wav, or a lower --vocals-gain)")
        result.seconds = written / out_rate
        result.wall_seconds = time.perf_counter() - started
        if progress:
            progress(ProgressEvent(str(path), "done", result.seconds, result.seconds))
        return result


def vocals_gain_factor(db: float | None) -> float | None:
    """10^(dB/20) for --vocals-gain, None when not asked; ConfigError outside VOCALS_GAIN_RANGE."""
    if db is None:
        return None
    low, high = VOCALS_GAIN_RANGE
    if not (math.isfinite(db) and low <= db <= high):
        raise ConfigError(f"--vocals-gain {db:g}", f"must be between {low:g} and {high:+g} dB")
    return 10.0 ** (db / 20.0)
