"""Streaming audio input/output.

Nothing here loads a whole song: readers decode block by block, the resampler and the
channel mixers work per block and the writer appends blocks to a temporary file that is
renamed onto its final name only when complete. The library never prints; anything the
user should know about an input (a truncated file, damaged packets) is collected in
`AudioReader.warnings` for the CLI to show.

    discovery.py         find_audio_files: command-line files and folders -> audio files
    formats.py           extensions, output formats, what each encoder can store
    reading.py           open_audio (picks the decoder), read_audio (a short file whole)
    reader.py            AudioInfo, AudioReader: the interface every decoder implements
    soundfile_reader.py  libsndfile decoding (WAV, FLAC, Ogg, MP3, AIFF, ...) and its damaged inputs
    pyav_reader.py       PyAV decoding (the `m4a` extra: M4A/AAC/MP4/WebM/WMA, and a fallback)
    resampling.py        Resampler (streaming soxr), MODEL_RATE
    channels.py          to_stereo / from_stereo and the output channel rule
    writer.py            AudioWriter (crash-safe streaming writes), remove_stale_partials
    messages.py          short error texts for the user
"""

from vocal_remover.audio.channels import from_stereo, output_channels, to_stereo
from vocal_remover.audio.discovery import find_audio_files
from vocal_remover.audio.formats import (
    FLAC_MAX_CHANNELS,
    FLAC_MAX_RATE,
    INPUT_EXTENSIONS,
    M4A_EXTRA_HINT,
    MP3_BITRATES,
    MP3_SAMPLE_RATES,
    OUTPUT_FORMATS,
    PYAV_EXTENSIONS,
    SAMPLE_TYPES,
    SOUNDFILE_EXTENSIONS,
    VORBIS_MAX_RATE,
    check_mp3_bitrate,
    check_output_format,
    mp3_bitrate_for,
    storable_rate,
)
from vocal_remover.audio.pyav_reader import pyav_available
from vocal_remover.audio.reader import AudioInfo, AudioReader
from vocal_remover.audio.reading import open_audio, read_audio
from vocal_remover.audio.resampling import MODEL_RATE, Resampler
from vocal_remover.audio.writer import AudioWriter, remove_stale_partials

__all__ = [
    "FLAC_MAX_CHANNELS", "FLAC_MAX_RATE", "INPUT_EXTENSIONS", "M4A_EXTRA_HINT", "MODEL_RATE", "MP3_BITRATES",
    "MP3_SAMPLE_RATES", "OUTPUT_FORMATS", "PYAV_EXTENSIONS", "SAMPLE_TYPES", "SOUNDFILE_EXTENSIONS",
    "VORBIS_MAX_RATE", "AudioInfo", "AudioReader", "AudioWriter", "Resampler", "check_mp3_bitrate",
    "check_output_format", "find_audio_files", "from_stereo", "mp3_bitrate_for", "open_audio", "output_channels",
    "pyav_available", "read_audio", "remove_stale_partials", "storable_rate", "to_stereo",
]
