"""Augmentation settings for supervised training (voxaug and friends).

Defaults follow the seed (../shared/docs/frame-primer.md, section 5): an instrumental plus a random vocal
with p = 0.98, the vocal L/R-swapped (p 0.5), one of its channels muted (p 0.025) or blended with a second
vocal; then L/R swap of the example (p 0.5), identity examples (mixture = instrumental, p 0.025) and mixup
(p 0.5, Beta(0.4, 0.4)). The seed mixed in the complex STFT domain; here stems are mixed as audio before the
STFT, which is the same thing (the STFT is linear) and keeps mixture = instrumental + vocals exactly.

Extras not in the seed, off by default until shown to help on the validation set: vocal polarity
inversion, a random instrumental gain, random stereo placement (panning) of vocals, a synthetic room on
remixed vocals, a compressor on remixed vocals, a tone match of remixed vocals to mixed ones or a random tone on them,
a random equaliser on each stem (real pairs included) and a random band limit on the whole example.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class AugmentConfig:
    voxaug_prob: float = 0.98  # an example is a random vocal over a random instrumental (else a real pair)
    vocal_swap_prob: float = 0.5  # L/R swap of each vocal
    vocal_mute_prob: float = 0.025  # one channel of the vocal muted
    second_vocal_prob: float = 0.1  # a second vocal blended in (gain second_vocal_gain_db)
    second_vocal_gain_db: tuple[float, float] = (-9.0, 0.0)
    vocal_gain_db: tuple[float, float] = (-6.0, 3.0)  # gain of the vocal against the instrumental
    instrumental_gain_db: tuple[float, float] = (0.0, 0.0)
    vocal_polarity_prob: float = 0.0  # invert the vocal (extra; off until it is shown to help)
    # Stereo placement: with this probability a vocal is panned (constant power) to a random position
    # within +-vocal_pan_width of the centre (1 = hard left/right). Mono pools (solo singing) are stored
    # as two equal channels; this spreads them over the stereo field as real mixes do.
    vocal_pan_prob: float = 0.0
    vocal_pan_width: float = 0.5
    # A synthetic room on each remixed vocal (off until it is shown to help): with this probability the vocal gets a
    # stereo reverberation, falling 60 dB in a time drawn from vocal_reverb_seconds, at a level against the dry vocal
    # drawn from vocal_reverb_wet_db. Solo singing is recorded dry and centred, mixed vocals are not: session 18's
    # dry solo singing remixed raised the clips whose vocals the model missed but taught it to take lead instruments
    # for voices.
    vocal_reverb_prob: float = 0.0
    vocal_reverb_seconds: tuple[float, float] = (0.3, 1.5)
    vocal_reverb_wet_db: tuple[float, float] = (-12.0, -3.0)
    # How much faster the room's highs die away: the decay time above DAMPING_HZ[1] is vocal_reverb_seconds times a
    # factor drawn from this range (1 = the same as the lows, the room of sessions 18-47). Walls and air absorb the
    # highs first, and a mixing engineer cuts a reverb's highs; session 46's wetter undamped room cost most above
    # 6.4 kHz, where its noise-like tail resembles a cymbal's or a pad's wash.
    vocal_reverb_damping: tuple[float, float] = (1.0, 1.0)
    # A compressor on each remixed vocal (off until it is shown to help): with this probability the vocal goes through a
    # stereo-linked compressor whose threshold, against the crop's own RMS level, is drawn from
    # vocal_compress_threshold_db and whose ratio is drawn from vocal_compress_ratio (attack and release from
    # COMPRESS_ATTACK_S / COMPRESS_RELEASE_S); the crop keeps its RMS, so vocal_gain_db still sets its level. Mixed
    # vocals are compressed to sit at a steady level in the band, but session 43 measured ssvd's sung notes as no more
    # dynamic than MUSDB's vocal stems (recipes/vocal_balance.py), so it has not been trained with yet.
    vocal_compress_prob: float = 0.0
    vocal_compress_threshold_db: tuple[float, float] = (-12.0, 0.0)
    vocal_compress_ratio: tuple[float, float] = (2.0, 8.0)
    # A tone match on each remixed vocal (off until it is shown to help): with this probability the vocal's balance
    # (its energy around each of EQ_ANCHORS_HZ against its whole) is moved towards MIXED_VOCAL_BALANCE_DB by a fraction
    # drawn from vocal_match_strength, through the stem equaliser; its RMS is kept. Solo singing recorded on a phone
    # (ssvd) is 9 dB darker around 2.5 kHz than the vocal stems of mixes (recipes/vocal_balance.py). Session 43: on 70%
    # of the room recipe's remixed vocals it lost 0.10 dB on MUSDB against the same crops without it (one seed).
    vocal_match_prob: float = 0.0
    vocal_match_strength: tuple[float, float] = (0.5, 1.0)
    # A random tone on each remixed vocal (off until it is shown to help): with this probability the vocal goes through
    # the stem equaliser with a gain drawn from vocal_eq_db at each of EQ_ANCHORS_HZ; its RMS is kept. Unlike
    # stem_eq_prob it leaves real pairs and accompaniments alone, and its range is wider. Session 43's tone match took
    # away most of what the dark solo voices had taught (Meaxic), so variety of tone may be what they bring.
    vocal_eq_prob: float = 0.0
    vocal_eq_db: tuple[float, float] = (-8.0, 8.0)
    # A random equaliser per stem (off until it is shown to help): with this probability each stem of an example, real
    # pairs included, goes through its own smooth zero-phase EQ, a gain drawn from stem_eq_db at each of EQ_ANCHORS_HZ
    # and linear in log-frequency between them. The mixture is still the sum of the stems. Real mixes differ in the
    # spectral balance of voice against band; the ~37 minutes of full-band pairs here show few of those balances.
    stem_eq_prob: float = 0.0
    stem_eq_db: tuple[float, float] = (-4.0, 4.0)
    # A band limit on the whole example (off until it is shown to help): with this probability every stem goes through
    # the same low-pass at a cutoff drawn log-uniformly from band_limit_hz, as a 16 or 22 kHz file, a low-bitrate MP3
    # or MIR-1K's 8 kHz band brings it. Session 29 measured the packaged model 0.5 dB lower on musdb7/valid resampled
    # to 16 kHz than on the full band, where Spleeter lost nothing: it had learnt to lean on the highs.
    band_limit_prob: float = 0.0
    band_limit_hz: tuple[float, float] = (4000.0, 16000.0)
    swap_prob: float = 0.5  # L/R swap of the whole example
    identity_prob: float = 0.025  # mixture = instrumental, vocals silent
    mixup_prob: float = 0.5  # blend with a second example: lam * a + (1 - lam) * b for every stem
    mixup_alpha: float = 0.4  # lam ~ Beta(alpha, alpha)

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name.endswith("_prob") and not 0.0 <= value <= 1.0:
                raise ValueError(f"AugmentConfig.{name} must be in [0, 1], got {value}")
            if name.endswith("_db") and (len(value) != 2 or value[0] > value[1]):
                raise ValueError(f"AugmentConfig.{name} must be a (low, high) range, got {value}")
        seconds = self.vocal_reverb_seconds
        if len(seconds) != 2 or not 0.0 < seconds[0] <= seconds[1] <= 5.0:
            raise ValueError(f"AugmentConfig.vocal_reverb_seconds must be a (low, high) range within (0, 5], "
                             f"got {self.vocal_reverb_seconds}")
        low, high = self.vocal_reverb_damping if len(self.vocal_reverb_damping) == 2 else (0.0, -1.0)
        if not 0.0 < low <= high <= 1.0:
            raise ValueError(f"AugmentConfig.vocal_reverb_damping must be a (low, high) range within (0, 1], "
                             f"got {self.vocal_reverb_damping}")
        low, high = self.band_limit_hz if len(self.band_limit_hz) == 2 else (0.0, -1.0)
        if not 0.0 < low <= high:
            raise ValueError(f"AugmentConfig.band_limit_hz must be a (low, high) range of positive frequencies, "
                             f"got {self.band_limit_hz}")
        low, high = self.vocal_compress_ratio if len(self.vocal_compress_ratio) == 2 else (0.0, -1.0)
        if not 1.0 <= low <= high:
            raise ValueError(f"AugmentConfig.vocal_compress_ratio must be a (low, high) range of ratios >= 1, "
                             f"got {self.vocal_compress_ratio}")
        low, high = self.vocal_match_strength if len(self.vocal_match_strength) == 2 else (0.0, -1.0)
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"AugmentConfig.vocal_match_strength must be a (low, high) range within [0, 1], "
                             f"got {self.vocal_match_strength}")
        if not 0.0 <= self.vocal_pan_width <= 1.0:
            raise ValueError(f"AugmentConfig.vocal_pan_width must be in [0, 1], got {self.vocal_pan_width}")
        if self.mixup_alpha <= 0:
            raise ValueError(f"AugmentConfig.mixup_alpha must be positive, got {self.mixup_alpha}")

    @classmethod
    def none(cls) -> "AugmentConfig":
        """No augmentation at all (voxaug pairs still combine a random vocal and instrumental if enabled)."""
        return cls(vocal_swap_prob=0.0, vocal_mute_prob=0.0, second_vocal_prob=0.0, vocal_gain_db=(0.0, 0.0),
                   swap_prob=0.0, identity_prob=0.0, mixup_prob=0.0)

    def to_dict(self) -> dict:
        return asdict(self)


# Anchor frequencies of the stem equaliser: about 1.3 octaves apart, from the low bass to the air band.
EQ_ANCHORS_HZ = (63.0, 160.0, 400.0, 1000.0, 2500.0, 6300.0, 16000.0)


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def pan_gains(position: float) -> tuple[float, float]:
    """Constant-power (left, right) gains for a position in [-1, 1]; the centre (0) gives (1, 1), so an
    unpanned vocal keeps its level."""
    import math

    angle = (position + 1.0) * math.pi / 4.0  # 0 (left) .. pi/2 (right)
    return math.sqrt(2.0) * math.cos(angle), math.sqrt(2.0) * math.sin(angle)


# A damped room's decay time is `seconds` below the first frequency and `seconds * damping` above the second, moving
# log-linearly in between; its noise is split into octave bands centred on DAMPING_BANDS_HZ, each under its own decay.
DAMPING_HZ = (500.0, 8000.0)
DAMPING_BANDS_HZ = tuple(125.0 * 2.0 ** k for k in range(8))  # 125 Hz .. 16 kHz


def add_reverb(audio, rate: int, seconds: float, wet_gain: float, seed: int, damping: float = 1.0):
    """(channels, n) float audio plus its reverberation, same shape and dtype: each channel convolved with its own
    impulse response (Gaussian noise under an envelope that falls 60 dB in `seconds`: a diffuse room, decorrelated
    between the channels), scaled to unit energy and then by `wet_gain`. With `damping` < 1 the highs fall 60 dB in
    `seconds * damping` instead (DAMPING_HZ). The tail past the end is cut."""
    import numpy as np

    rng = np.random.default_rng(seed)
    length = max(1, int(seconds * rate))
    response = rng.standard_normal((audio.shape[0], length))
    if damping == 1.0:
        response = response * 10.0 ** (-3.0 * np.arange(length) / (seconds * rate))
    else:
        response = _damped(response, rate, seconds, damping)
    response /= np.sqrt(np.sum(response ** 2, axis=1, keepdims=True))
    n = audio.shape[1]
    size = 1 << int(np.ceil(np.log2(n + length - 1)))
    wet = np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(response, size), size)[:, :n]
    return (audio + wet_gain * wet).astype(audio.dtype)


def _damped(noise, rate: int, seconds: float, damping: float):
    """(channels, length) white noise shaped into a room whose decay time shortens with frequency: the noise is split
    into octave bands (triangular weights in log-frequency, which sum to one at every frequency) and each band gets
    the envelope of its own decay time."""
    import numpy as np

    length = noise.shape[1]
    spectrum = np.fft.rfft(noise, axis=1)
    octaves = np.log2(np.maximum(np.fft.rfftfreq(length, 1.0 / rate), 1.0) / DAMPING_BANDS_HZ[0])
    low, high = np.log2(np.array(DAMPING_HZ) / DAMPING_BANDS_HZ[0])
    time = np.arange(length) / rate
    out = np.zeros_like(noise)
    last = len(DAMPING_BANDS_HZ) - 1
    for k in range(len(DAMPING_BANDS_HZ)):
        weight = np.clip(1.0 - np.abs(octaves - k), 0.0, 1.0)
        if k == 0:
            weight[octaves < 0] = 1.0
        if k == last:
            weight[octaves > last] = 1.0
        decay = seconds * damping ** float(np.clip((k - low) / (high - low), 0.0, 1.0))
        out += np.fft.irfft(spectrum * weight, length, axis=1) * 10.0 ** (-3.0 * time / decay)
    return out


# The compressor's time constants (seconds), drawn uniformly: a vocal chain's usual settings.
COMPRESS_ATTACK_S = (0.002, 0.02)
COMPRESS_RELEASE_S = (0.05, 0.3)
COMPRESS_BLOCK = 256  # samples per level reading (5.8 ms at 44.1 kHz): fine enough for the shortest attack


def compress(audio, rate: int, threshold_db: float, ratio: float, attack_s: float, release_s: float):
    """(channels, n) float audio through a feed-forward compressor, same shape, dtype and RMS. The level is the RMS of
    both channels together (stereo-linked, so the placement is kept) over blocks of COMPRESS_BLOCK samples; where it
    exceeds the crop's RMS level plus `threshold_db`, the excess is divided by `ratio`. The gain reduction follows
    that target with time constant `attack_s` where it rises and `release_s` where it falls, interpolated between
    block centres; a make-up gain then restores the crop's RMS. A silent crop is returned as a copy."""
    import numpy as np

    n = audio.shape[1]
    power = np.mean(np.asarray(audio, np.float64) ** 2, axis=0)
    mean_power = float(power.mean()) if n else 0.0
    if mean_power <= 1e-12:
        return audio.copy()
    blocks = -(-n // COMPRESS_BLOCK)
    padded = np.zeros(blocks * COMPRESS_BLOCK)
    padded[:n] = power
    level_db = 10.0 * np.log10(padded.reshape(blocks, COMPRESS_BLOCK).mean(axis=1) + 1e-12)
    wanted = np.maximum(level_db - (10.0 * np.log10(mean_power) + threshold_db), 0.0) * (1.0 - 1.0 / ratio)
    attack = np.exp(-COMPRESS_BLOCK / (attack_s * rate))
    release = np.exp(-COMPRESS_BLOCK / (release_s * rate))
    reduction = np.empty(blocks)
    state = 0.0
    for k, target in enumerate(wanted):  # one step a block: a few hundred for a training crop
        coef = attack if target > state else release
        state = coef * state + (1.0 - coef) * target
        reduction[k] = state
    centres = (np.arange(blocks) + 0.5) * COMPRESS_BLOCK
    gain = 10.0 ** (-np.interp(np.arange(n), centres, reduction) / 20.0)
    return _at_power(np.asarray(audio, np.float64) * gain, mean_power, audio.dtype)


def _at_power(out, mean_power: float, dtype):
    """float64 audio scaled to `mean_power` (mean square over all samples and channels), as `dtype`: a voice's tone
    or dynamics changed, not its level against the band."""
    import numpy as np

    return (out * np.sqrt(mean_power / max(float(np.mean(out ** 2)), 1e-30))).astype(dtype)


def _zero_phase(audio, rate: int, gain_of):
    """(channels, n) float audio times the real gain `gain_of(freqs_hz)` in the frequency domain, same shape and dtype.
    Zero padding of >= 100 ms keeps the response's two tails from wrapping around the crop."""
    import numpy as np

    n = audio.shape[1]
    size = 1 << int(np.ceil(np.log2(n + rate // 10)))
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    return np.fft.irfft(np.fft.rfft(audio, size) * gain_of(freqs), size)[:, :n].astype(audio.dtype)


def equalise(audio, rate: int, gains_db):
    """(channels, n) float audio through a zero-phase equaliser, same shape and dtype: the gain in dB is `gains_db[k]`
    at EQ_ANCHORS_HZ[k], linear in log-frequency between anchors and held flat outside them (DC keeps the lowest
    anchor's gain). Both channels get the same curve, so stereo placement is kept."""
    import numpy as np

    if len(gains_db) != len(EQ_ANCHORS_HZ):
        raise ValueError(f"equalise needs {len(EQ_ANCHORS_HZ)} gains, got {len(gains_db)}")

    def gain(freqs):
        log_f = np.log(np.maximum(freqs, EQ_ANCHORS_HZ[0]))
        curve_db = np.interp(log_f, np.log(EQ_ANCHORS_HZ), np.asarray(gains_db, dtype=np.float64))
        return 10.0 ** (curve_db / 20.0)

    return _zero_phase(audio, rate, gain)


# A mixed vocal's balance: its energy in the band around each of EQ_ANCHORS_HZ (edges at the anchors' geometric
# midpoints), in dB against the whole, the median over 400 crops of 6 s of musdb7/train's vocal stems
# (`python recipes/vocal_balance.py CACHE/musdb7-train`).
MIXED_VOCAL_BALANCE_DB = (-37.2, -13.3, -4.5, -4.5, -10.6, -18.2, -26.9)
MATCH_LIMIT_DB = 12.0  # the most a tone match raises or lowers one anchor
MATCH_FLOOR_DB = -50.0  # bands holding less than this part of a crop's energy are left alone: nothing there to shape


def band_balance(audio, rate: int):
    """(channels, n) float audio -> its energy in the band around each of EQ_ANCHORS_HZ, in dB against its whole
    (both channels together); None for a silent crop."""
    import numpy as np

    power = np.sum(np.abs(np.fft.rfft(np.asarray(audio, np.float64), axis=1)) ** 2, axis=0)
    total = float(power.sum())
    if total <= 1e-12:
        return None
    freqs = np.fft.rfftfreq(audio.shape[1], 1.0 / rate)
    edges = np.sqrt(np.multiply(EQ_ANCHORS_HZ[:-1], EQ_ANCHORS_HZ[1:]))
    band = np.searchsorted(edges, freqs)  # 0 .. len(EQ_ANCHORS_HZ) - 1
    energy = np.bincount(band, weights=power, minlength=len(EQ_ANCHORS_HZ))
    return 10.0 * np.log10(energy / total + 1e-30)


def match_balance(audio, rate: int, strength: float, target_db=MIXED_VOCAL_BALANCE_DB):
    """(channels, n) float audio with its balance (band_balance) moved `strength` of the way towards `target_db` by
    the stem equaliser, same shape, dtype and RMS. Each anchor moves at most MATCH_LIMIT_DB; bands below
    MATCH_FLOOR_DB (a band-limited recording's empty top) are left alone. A silent crop is returned as a copy."""
    import numpy as np

    own = band_balance(audio, rate)
    if own is None:
        return audio.copy()
    gains = np.clip(strength * (np.asarray(target_db) - own), -MATCH_LIMIT_DB, MATCH_LIMIT_DB)
    gains[own < MATCH_FLOOR_DB] = 0.0
    return equalise_keeping_level(audio, rate, [float(g) for g in gains])


def equalise_keeping_level(audio, rate: int, gains_db):
    """equalise(), then scaled back to the input's RMS: a voice's tone changed, not its level against the band."""
    import numpy as np

    out = np.asarray(equalise(audio, rate, gains_db), np.float64)
    return _at_power(out, float(np.mean(np.asarray(audio, np.float64) ** 2)), audio.dtype)


BAND_LIMIT_TRANSITION = 0.05  # the low-pass falls from 1 to 0 over this fraction of its cutoff (a raised cosine)


def band_limit(audio, rate: int, cutoff_hz: float):
    """(channels, n) float audio low-passed at `cutoff_hz`, same shape and dtype: a zero-phase filter that passes
    everything below (1 - BAND_LIMIT_TRANSITION) * cutoff and nothing above the cutoff, as resampling to 2 * cutoff
    does. A cutoff at or above the Nyquist frequency is a copy."""
    import numpy as np

    if cutoff_hz >= rate / 2:
        return audio.copy()
    start = (1.0 - BAND_LIMIT_TRANSITION) * cutoff_hz

    def gain(freqs):  # 1 below `start`, a raised-cosine fall to 0 at the cutoff
        return 0.5 * (1.0 + np.cos(np.pi * np.clip((freqs - start) / (cutoff_hz - start), 0.0, 1.0)))

    return _zero_phase(audio, rate, gain)
