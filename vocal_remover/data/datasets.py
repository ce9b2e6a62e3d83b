"""Training and validation datasets over an `AudioCache` (map-style torch Datasets).

They return AUDIO crops (float32, (2, S) with S = (cropsize - 1) * hop_length, which gives exactly
`cropsize` centred STFT frames); the STFT runs on the training device (`vocal_remover.spec.stft`).

Deterministic: item `index` of epoch `e` is a pure function of (seed, e, index, cropsize) through
`sampling.item_rng`; call `set_epoch(e)` before each epoch (and `set_cropsize` for a curriculum), then
create the DataLoader iterator (workers receive a copy of the dataset when an iterator starts, so use
non-persistent workers or recreate the loader after changing either).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatch
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from vocal_remover.data.augment import (COMPRESS_ATTACK_S, COMPRESS_RELEASE_S, EQ_ANCHORS_HZ, AugmentConfig, add_reverb,
                                        band_limit, compress, db_to_gain, equalise, equalise_keeping_level,
                                        match_balance, pan_gains)
from vocal_remover.data.cache import AudioCache, TrackRecord
from vocal_remover.data.masking import sample_token_modes
from vocal_remover.data.sampling import item_rng
from vocal_remover.errors import DataError

Weights = Sequence[float] | Mapping[str, float] | None


def crop_samples(cropsize: int, hop_length: int = 1024) -> int:
    """Samples in a crop of `cropsize` frames: (cropsize - 1) * hop gives exactly cropsize centred frames."""
    if cropsize < 2 or hop_length < 1:
        raise ValueError(f"cropsize must be >= 2 and hop_length >= 1, got {cropsize}, {hop_length}")
    return (cropsize - 1) * hop_length


def _as_caches(cache: AudioCache | Sequence[AudioCache]) -> list[AudioCache]:
    caches = [cache] if isinstance(cache, AudioCache) else list(cache)
    if not caches or not all(isinstance(c, AudioCache) for c in caches):
        raise TypeError("expected an AudioCache or a sequence of them")
    return caches


def _track_weights(caches: list[AudioCache], weights: Weights) -> list[tuple[AudioCache, TrackRecord, float]]:
    """(cache, track, weight) for every track. `weights`: one per cache, or {group pattern: weight}
    (fnmatch on the track's group, first matching pattern wins, default 1)."""
    if weights is None:
        per_cache, patterns = [1.0] * len(caches), {}
    elif isinstance(weights, Mapping):
        per_cache, patterns = [1.0] * len(caches), dict(weights)
    else:
        per_cache, patterns = [float(w) for w in weights], {}
        if len(per_cache) != len(caches):
            raise ValueError(f"{len(per_cache)} weights for {len(caches)} caches")
    out = []
    for cache, w in zip(caches, per_cache):
        for t in cache.tracks:
            g = next((float(v) for p, v in patterns.items() if fnmatch(t.group, p)), 1.0)
            if w * g < 0:
                raise ValueError("weights must not be negative")
            out.append((cache, t, w * g))
    return out


class _Pool:
    """Tracks to draw crops from, each with probability proportional to weight x usable samples."""

    def __init__(self, entries: list[tuple[AudioCache, TrackRecord, float]], active_only: bool = False):
        self.entries = []
        mass = []
        for cache, t, w in entries:
            usable = sum(e - s for s, e in t.active) if active_only else t.num_samples
            if w > 0 and usable > 0:
                self.entries.append((cache, t))
                mass.append(w * usable)
        self.cum = np.cumsum(mass, dtype=np.float64)
        self.active_only = active_only

    def __len__(self) -> int:
        return len(self.entries)

    def pick(self, rng: np.random.Generator) -> tuple[AudioCache, TrackRecord]:
        i = int(np.searchsorted(self.cum, rng.random() * self.cum[-1], side="right"))
        return self.entries[min(i, len(self.entries) - 1)]

    def start(self, rng: np.random.Generator, t: TrackRecord, length: int) -> int:
        """A crop start: uniform over the track, or (active_only) a crop that contains a random active
        sample (intervals chosen by length), kept inside the track where it fits."""
        if not self.active_only:
            return int(rng.integers(0, max(t.num_samples - length, 0) + 1))
        lengths = np.array([e - s for s, e in t.active], np.float64)
        k = int(np.searchsorted(np.cumsum(lengths), rng.random() * lengths.sum(), side="right"))
        s, e = t.active[min(k, len(t.active) - 1)]
        point = int(rng.integers(s, e))
        start = point - int(rng.integers(0, length))
        return int(min(max(start, 0), max(t.num_samples - length, 0))) if t.num_samples >= length else 0


def _tensor(x: np.ndarray) -> torch.Tensor:
    """(2, S) -> contiguous float32 tensor (everything here is channels-first, as the shards)."""
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def _pair(cache: AudioCache, t: TrackRecord, start: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(instrumental, vocals) of a real pair, (2, length) each: where a real mixture is stored, the vocals
    are whatever of it is not instrumental; otherwise the vocal stem."""
    if "mixture" in t.stored:
        s = cache.read_planar(t.id, ("mixture", "instrumental"), start, length)
        return s["instrumental"], s["mixture"] - s["instrumental"]
    s = cache.read_planar(t.id, ("instrumental", "vocals"), start, length)
    return s["instrumental"], s["vocals"]


class _CropDataset(Dataset):
    def __init__(self, cropsize: int, hop_length: int, samples_per_epoch: int, seed: int):
        if samples_per_epoch < 1:
            raise ValueError(f"samples_per_epoch must be positive, got {samples_per_epoch}")
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        self.hop_length = int(hop_length)
        self.samples_per_epoch = int(samples_per_epoch)
        self.seed = int(seed)
        self.epoch = 0
        self.set_cropsize(cropsize)

    def set_epoch(self, epoch: int) -> None:
        if epoch < 0:
            raise ValueError(f"epoch must be non-negative, got {epoch}")
        self.epoch = int(epoch)

    def set_cropsize(self, cropsize: int) -> None:
        self.segment = crop_samples(cropsize, self.hop_length)
        self.cropsize = int(cropsize)

    def __len__(self) -> int:
        return self.samples_per_epoch

    def _check_index(self, index: int) -> int:
        index = int(index)
        if not 0 <= index < self.samples_per_epoch:
            raise IndexError(f"index {index} out of range for {self.samples_per_epoch} samples")
        return index


def _music_role(t: TrackRecord) -> str | None:
    """What a track offers as unlabeled music: its mixture, else an instrumental-only recording (a pool);
    a vocals-only recording is not music to pretrain on."""
    if t.has("mixture"):
        return "mixture"
    return "instrumental" if t.has("instrumental") else None


class PretrainDataset(_CropDataset):
    """Random music crops for masked pretraining: the mixtures of any cache (`mixes`, and those of
    `stems` / `pairs` tracks) and instrumental-only pool recordings, each track drawn with probability
    proportional to its length (x weight).

    Item: {"audio": (2, S) float32, "token_mode": (cropsize,) int64} where token_mode is 0 (not selected),
    1 (set to 1), 2 (noised), 3 (selected, unchanged); apply it with `masking.apply_token_masking` after
    the STFT. L/R swapped with probability `swap_prob`.
    """

    def __init__(self, cache: AudioCache | Sequence[AudioCache], cropsize: int, *, hop_length: int = 1024,
                 samples_per_epoch: int, seed: int = 0, token_size: int = 64, mask_rate: float = 0.2,
                 swap_prob: float = 0.5, weights: Weights = None):
        super().__init__(cropsize, hop_length, samples_per_epoch, seed)
        entries = [(c, t, w) for c, t, w in _track_weights(_as_caches(cache), weights) if _music_role(t)]
        self.pool = _Pool(entries)
        if not len(self.pool):
            raise DataError("pretraining data", "no music to pretrain on (needs mixes, stems, pairs or "
                            "instrumental pools)")
        self.token_size, self.mask_rate, self.swap_prob = int(token_size), float(mask_rate), float(swap_prob)

    def plan(self, index: int) -> dict[str, Any]:
        """The random choices of item `index` (track, start, swap, token modes) without reading audio."""
        rng = item_rng(self.seed, self.epoch, self._check_index(index))
        cache, t = self.pool.pick(rng)
        start = self.pool.start(rng, t, self.segment)
        swap = bool(rng.random() < self.swap_prob)
        modes = sample_token_modes(rng, self.cropsize, self.token_size, self.mask_rate)
        return {"cache": cache, "track": t.id, "start": start, "swap": swap, "token_mode": modes}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        p = self.plan(index)
        role = _music_role(p["cache"].track(p["track"]))
        x = p["cache"].read_planar(p["track"], (role,), p["start"], self.segment)[role]
        if p["swap"]:
            x = x[::-1]
        return {"audio": _tensor(x), "token_mode": torch.from_numpy(p["token_mode"])}


class SupervisedDataset(_CropDataset):
    """Mixture / instrumental / vocals crops from stems, pairs and pools, with voxaug.

    Sources: real pairs are tracks with a mixture and an instrumental (`stems`, `pairs`); the vocal pool
    is every stored vocal stem (`stems`, `pools`) sampled where it is active (silences excluded); the
    instrumental pool is every instrumental (`stems`, `pairs`, `pools`). `weights` (one per cache, or
    {group pattern: weight}) scale how often a track is drawn (e.g. {"*mir1k*": 0.25} for band-limited data).

    Item: {"mix", "instrumental", "vocals"}: (2, S) float32 each with mix == instrumental + vocals exactly
    (mix is computed last, as that sum; every augmentation acts on the stems).
    """

    def __init__(self, cache: AudioCache | Sequence[AudioCache], cropsize: int, *, hop_length: int = 1024,
                 samples_per_epoch: int, seed: int = 0, voxaug: bool = True, augment: AugmentConfig | None = None,
                 weights: Weights = None):
        super().__init__(cropsize, hop_length, samples_per_epoch, seed)
        entries = _track_weights(_as_caches(cache), weights)
        self.augment = augment or AugmentConfig()
        self.pairs = _Pool([e for e in entries if e[1].has("mixture") and e[1].has("instrumental")])
        self.vocals = _Pool([e for e in entries if "vocals" in e[1].stored], active_only=True)
        self.instrumentals = _Pool([e for e in entries if e[1].has("instrumental")])
        self.voxaug = bool(voxaug) and len(self.vocals) > 0 and len(self.instrumentals) > 0
        if not self.voxaug and not len(self.pairs):
            raise DataError("training data", "no mixture/instrumental pairs" + (
                "" if voxaug else " (and voxaug is off)") + " and no vocal stems with audible vocals to remix")

    # -- the random choices ---------------------------------------------------------------------------

    def _vocal_plan(self, rng: np.random.Generator, gain_db: tuple[float, float]) -> dict[str, Any]:
        a = self.augment
        cache, t = self.vocals.pick(rng)
        plan = {"cache": cache, "track": t.id, "start": self.vocals.start(rng, t, self.segment),
                "gain": db_to_gain(rng.uniform(*gain_db)), "swap": bool(rng.random() < a.vocal_swap_prob),
                "mute": int(rng.integers(2)) if rng.random() < a.vocal_mute_prob else -1,
                "invert": bool(rng.random() < a.vocal_polarity_prob)}
        # Drawn only when enabled, so that the items of existing configurations stay what they were.
        if a.vocal_pan_prob > 0 and rng.random() < a.vocal_pan_prob:
            plan["pan"] = pan_gains(rng.uniform(-a.vocal_pan_width, a.vocal_pan_width))
        if a.vocal_reverb_prob > 0 and rng.random() < a.vocal_reverb_prob:
            plan["reverb"] = {"seconds": float(rng.uniform(*a.vocal_reverb_seconds)),
                              "wet_gain": db_to_gain(rng.uniform(*a.vocal_reverb_wet_db)),
                              "seed": int(rng.integers(2 ** 31))}
        return plan

    def _example_plan(self, rng: np.random.Generator) -> dict[str, Any]:
        a = self.augment
        p: dict[str, Any]
        if self.voxaug and (not len(self.pairs) or rng.random() < a.voxaug_prob):
            cache, t = self.instrumentals.pick(rng)
            p = {"kind": "voxaug", "instrumental": {
                "cache": cache, "track": t.id, "start": self.instrumentals.start(rng, t, self.segment),
                "gain": db_to_gain(rng.uniform(*a.instrumental_gain_db))}}
            p["vocals"] = [self._vocal_plan(rng, a.vocal_gain_db)]
            if rng.random() < a.second_vocal_prob:
                p["vocals"].append(self._vocal_plan(rng, a.second_vocal_gain_db))
        else:
            cache, t = self.pairs.pick(rng)
            p = {"kind": "pair", "cache": cache, "track": t.id, "start": self.pairs.start(rng, t, self.segment)}
        if a.stem_eq_prob > 0:  # drawn only when enabled, as the vocal extras are
            for stem in ("instrumental", "vocals"):
                if rng.random() < a.stem_eq_prob:
                    p.setdefault("eq", {})[stem] = [float(g) for g in rng.uniform(*a.stem_eq_db, len(EQ_ANCHORS_HZ))]
        p["swap"] = bool(rng.random() < a.swap_prob)
        p["identity"] = bool(rng.random() < a.identity_prob)
        # Drawn last and only when enabled: the same seed then gives the same crops, gains and swaps with it or without.
        if a.band_limit_prob > 0 and rng.random() < a.band_limit_prob:
            low, high = np.log(a.band_limit_hz)
            p["band_limit"] = float(np.exp(rng.uniform(low, high)))
        self._vocal_chain_plan(rng, p)  # after that, for the same reason
        return p

    def _vocal_chain_plan(self, rng: np.random.Generator, p: dict[str, Any]) -> None:
        """Each remixed vocal's compressor, tone match, random tone and its room's damping, drawn one extra after another
        and only where enabled, so that turning one on keeps every other draw of the same seed."""
        a = self.augment
        if p["kind"] != "voxaug":
            return
        extras = (
            ("compress", a.vocal_compress_prob, lambda: {
                "threshold_db": float(rng.uniform(*a.vocal_compress_threshold_db)),
                "ratio": float(rng.uniform(*a.vocal_compress_ratio)),
                "attack_s": float(rng.uniform(*COMPRESS_ATTACK_S)),
                "release_s": float(rng.uniform(*COMPRESS_RELEASE_S))}),
            ("match", a.vocal_match_prob, lambda: float(rng.uniform(*a.vocal_match_strength))),
            ("eq", a.vocal_eq_prob, lambda: [float(g) for g in rng.uniform(*a.vocal_eq_db, len(EQ_ANCHORS_HZ))]),
        )
        for key, prob, draw in extras:
            if prob > 0:
                for v in p["vocals"]:
                    if rng.random() < prob:
                        v[key] = draw()
        if a.vocal_reverb_damping != (1.0, 1.0):
            for v in p["vocals"]:
                if "reverb" in v:
                    v["reverb"]["damping"] = float(rng.uniform(*a.vocal_reverb_damping))

    def plan(self, index: int) -> dict[str, Any]:
        """Every random choice of item `index` (tracks, starts, gains, swaps, mixup), without reading audio."""
        rng = item_rng(self.seed, self.epoch, self._check_index(index))
        a = self.augment
        p = self._example_plan(rng)
        if rng.random() < a.mixup_prob:
            p["mixup"] = {"lam": float(rng.beta(a.mixup_alpha, a.mixup_alpha)), "other": self._example_plan(rng)}
        return p

    # -- rendering ------------------------------------------------------------------------------------

    def _render_vocal(self, v: dict[str, Any]) -> np.ndarray:
        x = v["cache"].read_planar(v["track"], ("vocals",), v["start"], self.segment)["vocals"]
        # The dry voice, as a mixing engineer's chain has it: equaliser and compressor first, the room last.
        if "match" in v:
            x = match_balance(x, v["cache"].sample_rate, v["match"])
        if "eq" in v:
            x = equalise_keeping_level(x, v["cache"].sample_rate, v["eq"])
        if "compress" in v:
            x = compress(x, v["cache"].sample_rate, **v["compress"])
        if v["swap"]:
            x = x[::-1]
        x = x * np.float32(-v["gain"] if v["invert"] else v["gain"])
        if v["mute"] >= 0:
            x[v["mute"]] = 0.0
        if "pan" in v:
            x = x * np.array(v["pan"], dtype=np.float32)[:, None]
        if "reverb" in v:
            x = add_reverb(x, v["cache"].sample_rate, **v["reverb"])
        return x

    def _render_example(self, p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        if p["kind"] == "voxaug":
            i = p["instrumental"]
            inst = i["cache"].read_planar(i["track"], ("instrumental",), i["start"], self.segment)["instrumental"]
            if i["gain"] != 1.0:
                inst *= np.float32(i["gain"])
            voc = np.zeros_like(inst)
            for v in p["vocals"]:
                voc += self._render_vocal(v)
            rate = i["cache"].sample_rate
        else:
            cache: AudioCache = p["cache"]
            t = cache.track(p["track"])
            inst, voc = _pair(cache, t, p["start"], self.segment)
            rate = cache.sample_rate
        if "eq" in p:
            if "instrumental" in p["eq"]:
                inst = equalise(inst, rate, p["eq"]["instrumental"])
            if "vocals" in p["eq"]:
                voc = equalise(voc, rate, p["eq"]["vocals"])
        if "band_limit" in p:
            inst, voc = band_limit(inst, rate, p["band_limit"]), band_limit(voc, rate, p["band_limit"])
        if p["swap"]:
            inst, voc = inst[::-1], voc[::-1]
        if p["identity"]:
            voc = np.zeros_like(voc)
        return inst, voc

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        p = self.plan(index)
        inst, voc = self._render_example(p)
        if "mixup" in p:
            lam = np.float32(p["mixup"]["lam"])
            inst2, voc2 = self._render_example(p["mixup"]["other"])
            inst = lam * inst + (1 - lam) * inst2
            voc = lam * voc + (1 - lam) * voc2
        inst = np.ascontiguousarray(inst, np.float32)
        voc = np.ascontiguousarray(voc, np.float32)
        return {"mix": _tensor(inst + voc), "instrumental": _tensor(inst), "vocals": _tensor(voc)}


class ValidationCrops(Dataset):
    """Fixed crops for validation: the same every run (no randomness, independent of seed and epoch).

    `crops_per_track` crops centred at (k + 0.5) / crops_per_track of each track that has a mixture and an
    instrumental (one crop, zero-padded, when the track is shorter than a crop; duplicates removed). Tracks
    in a stable order (group, name, id). Items as `SupervisedDataset` (no augmentation): vocals are the
    vocal stem, or mixture - instrumental where a real mixture is stored. `crops` lists (cache index,
    track id, start) per item.
    """

    def __init__(self, cache: AudioCache | Sequence[AudioCache], cropsize: int, *, hop_length: int = 1024,
                 crops_per_track: int = 2):
        if crops_per_track < 1:
            raise ValueError(f"crops_per_track must be positive, got {crops_per_track}")
        self.caches = _as_caches(cache)
        self.hop_length, self.crops_per_track = int(hop_length), int(crops_per_track)
        self.set_cropsize(cropsize)

    def set_cropsize(self, cropsize: int) -> None:
        self.cropsize = int(cropsize)
        self.segment = S = crop_samples(cropsize, self.hop_length)
        crops: list[tuple[int, str, int]] = []
        for ci, cache in enumerate(self.caches):
            tracks = sorted((t for t in cache.tracks if t.has("mixture") and t.has("instrumental")),
                            key=lambda t: (t.group, t.name, t.id))
            for t in tracks:
                n, k = t.num_samples, self.crops_per_track
                if n <= S:
                    starts = [0]
                else:
                    starts = sorted({min(max(round((j + 0.5) * n / k - S / 2), 0), n - S) for j in range(k)})
                crops.extend((ci, t.id, s) for s in starts)
        if not crops:
            raise DataError("validation data", "no track with a mixture and an instrumental")
        self.crops = crops

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        ci, tid, start = self.crops[index]
        cache = self.caches[ci]
        inst, voc = _pair(cache, cache.track(tid), start, self.segment)
        return {"mix": _tensor(inst + voc), "instrumental": _tensor(inst), "vocals": _tensor(voc)}
