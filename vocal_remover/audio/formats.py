"""What the package reads and writes: file extensions, output formats and sample types, and what each
encoder can store (rates, channels, MP3 bitrates), checked before anything is written."""

from __future__ import annotations

from vocal_remover.errors import AudioError, ConfigError

# Formats libsndfile decodes itself (always available).
SOUNDFILE_EXTENSIONS = frozenset(
    {
        ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3",
        ".aif", ".aiff", ".aifc", ".w64", ".rf64", ".caf", ".au",
    }
)
# Formats that need PyAV (`pip install 'vocal-remover[m4a]'`).
PYAV_EXTENSIONS = frozenset(
    {".m4a", ".m4b", ".aac", ".mp4", ".wma", ".webm", ".mka", ".ac3", ".wv", ".ape"}
)
# Everything `find_audio_files` picks up from folders. PyAV formats are listed even when
# PyAV is missing so that each such file gets the clear "needs the optional extra" error
# instead of being silently ignored.
INPUT_EXTENSIONS = SOUNDFILE_EXTENSIONS | PYAV_EXTENSIONS

OUTPUT_FORMATS = ("wav", "flac", "mp3", "ogg")
SAMPLE_TYPES = ("float", "pcm16", "pcm24")

M4A_EXTRA_HINT = "pip install 'vocal-remover[m4a]'"

# libsndfile's MPEG encoder accepts exactly these rates (it refuses others at open).
MP3_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)  # kbps, MPEG-1 layer III
# libvorbis has no encoder setup above 200 kHz and libsndfile 1.2.2 then crashes the
# process (segfault, tested), so we refuse such rates before calling it.
VORBIS_MAX_RATE = 200_000
FLAC_MAX_RATE = 655_350
FLAC_MAX_CHANNELS = 8


def check_mp3_bitrate(kbps: int | None) -> None:
    """ConfigError unless `kbps` is None (VBR) or a standard MPEG-1 layer III bitrate."""
    if kbps is not None and kbps not in MP3_BITRATES:
        raise ConfigError(f"--mp3-bitrate {kbps}", f"expected one of {', '.join(map(str, MP3_BITRATES))} (kbps)")


def mp3_bitrate_for(rate: int, kbps: int) -> tuple[int, str | None]:
    """The constant bitrate an MP3 at `rate` Hz can have for a requested `kbps`, and a note when it is
    lower: below 32 kHz MP3 (MPEG-2 / 2.5) goes up to 160 / 64 kbps."""
    top = _mpeg_bitrates(rate)[0]
    if kbps <= top:
        return kbps, None
    return top, f"MP3 at {rate} Hz goes up to {top} kbps: written at {top} kbps instead of {kbps}"


def mp3_compression(rate: int, kbps: int) -> float:
    """libsndfile's compression level for a constant bitrate (it maps [0, 1] linearly onto the bitrate range
    of the MPEG version the rate implies); just below 1 at the bottom, where libsndfile refuses 1.0."""
    high, low = _mpeg_bitrates(rate)
    return min(0.999, max(0.0, (high - kbps) / (high - low)))


def _mpeg_bitrates(rate: int) -> tuple[int, int]:
    """(highest, lowest) kbps of the MPEG version `rate` implies: MPEG-1 (32 kHz and up) 320-32,
    MPEG-2 (16 kHz and up) 160-8, MPEG-2.5 64-8."""
    return (320, 32) if rate >= 32000 else (160, 8) if rate >= 16000 else (64, 8)


def storable_rate(fmt: str, rate: int) -> tuple[int, str | None]:
    """The sample rate outputs in `fmt` get for an input at `rate`, and a note when it differs: MP3 stores
    only the MPEG rates (a 96 kHz input becomes 48 kHz, 88.2 kHz becomes 44.1 kHz, an odd low rate the next
    MPEG rate up), Ogg Vorbis at most VORBIS_MAX_RATE. Other formats keep the rate."""
    fmt = str(fmt).lower().lstrip(".")
    out = rate
    if fmt == "mp3" and rate not in MP3_SAMPLE_RATES:
        if rate > MP3_SAMPLE_RATES[-1]:
            out = 44100 if rate % 44100 == 0 else 48000
        else:
            out = next(r for r in MP3_SAMPLE_RATES if r >= rate)
        reason = "MP3 stores at most 48000 Hz" if rate > MP3_SAMPLE_RATES[-1] else "MP3 does not store that rate"
    elif fmt == "ogg" and rate > VORBIS_MAX_RATE:
        out = 44100 if rate % 44100 == 0 else 48000
        reason = f"Ogg Vorbis stores at most {VORBIS_MAX_RATE} Hz"
    if out == rate:
        return rate, None
    return out, f"{reason}: outputs resampled from {rate} to {out} Hz"

def check_output_format(what: str, fmt: str, rate: int, channels: int) -> None:
    """Raise AudioError when `fmt` cannot store audio of this rate and channel count (before anything,
    a folder included, is created for it)."""
    fmt, rate, channels = str(fmt).lower().lstrip("."), int(rate), int(channels)
    if fmt == "mp3":
        if rate not in MP3_SAMPLE_RATES:
            rates = ", ".join(str(r) for r in MP3_SAMPLE_RATES)
            raise AudioError(
                what, f"MP3 does not support {rate} Hz (only {rates}); choose another format or sample rate"
            )
        if channels > 2:
            raise AudioError(what, f"MP3 supports at most 2 channels, not {channels}")
    elif fmt == "ogg" and rate > VORBIS_MAX_RATE:
        raise AudioError(
            what,
            f"Ogg Vorbis does not support {rate} Hz (at most {VORBIS_MAX_RATE}); choose another format or sample rate",
        )
    elif fmt == "flac":
        if rate > FLAC_MAX_RATE:
            raise AudioError(what, f"FLAC does not support {rate} Hz (at most {FLAC_MAX_RATE})")
        if channels > FLAC_MAX_CHANNELS:
            raise AudioError(what, f"FLAC supports at most {FLAC_MAX_CHANNELS} channels, not {channels}")
