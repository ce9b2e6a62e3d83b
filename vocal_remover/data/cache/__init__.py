"""The dataset cache: decode, resample and align once; read random crops cheaply forever after.

Layout of a cache folder::

    CACHE/manifest.json        the entry point; exists only when the cache is complete
    CACHE/shards/<id>.npy      one per track: int16 (stems, 2, samples) at 44.1 kHz (NumPy .npy, memory-mapped)
    CACHE/shards/<id>.json     the track's record (the resume journal), written after its shard
    CACHE/.lock                held while a build runs (a second build into the same folder is refused)

Why audio and not spectrograms: see docs/design.md (the cache format) and `benchmarks/cache.py`.
int16 PCM with one scale per stem (peak / 32767, so nothing clips, not even summed stems over full scale)
is 4.0x smaller than the seed's complex64 STFT patches and the STFT costs milliseconds on the training
device.

Crash safety (kill -9 at any instant): a shard is written under a hidden temporary name, flushed, fsynced,
hashed and renamed into place (`atomic`); its record (size + sha256 + source fingerprints) is written
atomically after it; `manifest.json` is deleted before a build changes anything and rewritten (atomically)
only at the end. So a reader never trusts an incomplete shard, and a re-run redoes only tracks without a
valid record. Every open checks each shard's size against the manifest; `verify=True` also checks the sha256.

    format.py     file names, format version, the parameters that shape a shard (PARAMS, params_hash)
    analysis.py   summed role inputs, mixture/instrumental offset, vocal activity
    track.py      building one track: decode, align or trim, quantise, write shard and record
    build.py      build_cache (resumable, parallel, locked), ensure_cache, progress events and summary
    reader.py     AudioCache (checked open, memory-mapped crops) and TrackRecord
"""

from vocal_remover.data.cache.analysis import activity_intervals, estimate_offset
from vocal_remover.data.cache.build import (
    CacheEvent,
    CacheSummary,
    ProgressCallback,
    build_cache,
    default_cache_root,
    ensure_cache,
)
from vocal_remover.data.cache.format import CACHE_FORMAT, CACHE_VERSION, MANIFEST, PARAMS, SHARDS, params_hash
from vocal_remover.data.cache.reader import AudioCache, TrackRecord, is_cache
from vocal_remover.data.cache.track import build_track

__all__ = [
    "CACHE_FORMAT", "CACHE_VERSION", "MANIFEST", "PARAMS", "SHARDS", "AudioCache", "CacheEvent", "CacheSummary",
    "ProgressCallback", "TrackRecord", "activity_intervals", "build_cache", "build_track", "default_cache_root",
    "ensure_cache", "estimate_offset", "is_cache", "params_hash",
]
