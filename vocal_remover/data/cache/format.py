"""What a cache folder holds: its file names, its format version and the parameters that shape every
shard (a record made with other parameters is rebuilt)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from vocal_remover.audio import MODEL_RATE

CACHE_FORMAT = "vocal-remover-audio-cache"
CACHE_VERSION = 1
MANIFEST = "manifest.json"
SHARDS = "shards"

# Everything that changes what a shard contains. A record made with other parameters is rebuilt.
PARAMS: dict[str, Any] = {
    "sample_rate": MODEL_RATE,
    "channels": 2,
    "dtype": "int16",
    "shard_shape": "(stems, channels, samples)",  # planar: a crop of one stem is two contiguous runs
    "quantization": "per-stem scale = peak / 32767, round to nearest",
    "resampler": "soxr HQ (streaming)",
    "downmix": "mono duplicated; >2 channels folded to stereo (ITU-R BS.775 gains)",
    # Vocal activity: a block is active when its RMS (both channels) is above the threshold. Silences
    # longer than min_gap_s are dropped from `pools` vocal files and excluded from voxaug crops of
    # `stems` vocals; pad_s of context is kept around active audio.
    "silence": {"block": 1024, "threshold_db": -50.0, "min_gap_s": 1.0, "pad_s": 0.1},
    # `pairs`: offset of the instrumental against the mixture by cross-correlation of a mono excerpt.
    "alignment": {"excerpt_s": 30.0, "max_offset_s": 2.0, "min_correlation": 0.3},
}


def params_hash(params: dict[str, Any] | None = None) -> str:
    blob = json.dumps({"version": CACHE_VERSION, "params": params or PARAMS}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
