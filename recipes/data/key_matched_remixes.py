"""Remixes of any vocal over any accompaniment, with the vocal moved into the accompaniment's key, and the same
remixes with the vocal moved by a random interval instead (the control): two pair pools, as stems folders.

    python recipes/data/key_matched_remixes.py --vocals ../shared/data/ssvd/vocals data/eir-train \
        --accompaniments data/debian-screened/instrumentals data/eir-train ../shared/data/musdb7/train \
        -o data/remixes --count 720 --seconds 6.5

Why: voxaug's remixes (a random vocal over a random accompaniment) have cost held-out MUSDB whenever they took a
large share of the crops (sessions 2, 9-11), so the project trains mostly on its 37 minutes of real full-band pairs.
In a real song the voice sings in the key of its accompaniment and shares its harmonics; in a random remix it
usually does not, which makes the separation easier than real music in a way that need not carry. Moving the vocal
into the accompaniment's key (the shift of -5..+6 semitones that best lines up the two pitch-class profiles) removes
that difference. The control moves the same vocal by a random shift from the same range, so the two pools differ in
key agreement alone (the pitch-shift processing, the segments, levels, rooms and panning are the same, remix by
remix).

Each remix: a vocal segment (`seconds` long, from a file drawn by length, where at least half of its 100-ms frames
are within 30 dB of the segment's loudest) over an accompaniment segment (drawn by length, not silent); mono vocals
(solo singing) get a synthetic room on `reverb_prob` of remixes and a random pan; the vocal's level against the
accompaniment is drawn from `vocal_db` (RMS over the active frames). Written as OUT/key-matched/NNNN/ and
OUT/random-key/NNNN/ {vocals,accompaniment}.flac at 44.1 kHz stereo (scaled together so the mixture's peak is at
most 0.98), atomically, so a rerun resumes; OUT/report.json holds the shifts and the key agreement of both pools.
Then `vocal-remover cache OUT/key-matched -o CACHE/key-matched` (and random-key).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 44100
AUDIO = (".ogg", ".flac", ".wav", ".mp3", ".opus")
SHIFTS = np.arange(-5, 7)  # every pitch class once


def audio_files(source: Path, stem: str) -> list[Path]:
    """A stems folder's `stem` files (<track>/<stem>.*), else every audio file under `source` (a pool)."""
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO)
    stems = [p for p in files if p.stem.lower() == stem]
    if stems:
        return stems
    others = {"vocals", "accompaniment", "mixture"}
    return [p for p in files if p.stem.lower() not in others]


def read_segment(path: Path, start_s: float, seconds: float) -> np.ndarray:
    """(n, channels) float32 at 44.1 kHz: `seconds` of `path` from `start_s`."""
    info = sf.info(path)
    start = int(start_s * info.samplerate)
    frames = int(np.ceil(seconds * info.samplerate)) + 1
    audio, rate = sf.read(path, start=start, frames=frames, dtype="float32", always_2d=True)
    if rate != RATE:
        import soxr

        audio = soxr.resample(audio, rate, RATE, quality="HQ").astype(np.float32)
    n = int(round(seconds * RATE))
    if len(audio) < n:
        audio = np.pad(audio, ((0, n - len(audio)), (0, 0)))
    return audio[:n]


def frame_db(mono: np.ndarray, frame: int = RATE // 10) -> np.ndarray:
    frames = mono[: len(mono) // frame * frame].reshape(-1, frame)
    return 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)


def sings(levels: np.ndarray) -> bool:
    """Whether a segment's 100-ms frame levels (frame_db) hold a voice: at least half of them within 30 dB of the
    loudest, and that not near silence."""
    return bool(np.mean(levels > levels.max() - 30) >= 0.5 and levels.max() > -50)


def pitch_profile(mono: np.ndarray) -> np.ndarray:
    """Energy-weighted mean chroma (12 pitch classes, C first), unit length."""
    import librosa

    chroma = librosa.feature.chroma_stft(y=mono, sr=RATE, n_fft=4096, hop_length=2048)
    energy = librosa.feature.rms(y=mono, frame_length=4096, hop_length=2048)[0][: chroma.shape[1]]
    profile = chroma[:, : len(energy)] @ energy
    return profile / (np.linalg.norm(profile) + 1e-12)


def agreement(vocal: np.ndarray, accompaniment: np.ndarray, shift: int) -> float:
    """Correlation of the vocal's pitch-class profile moved by `shift` semitones with the accompaniment's."""
    v = np.roll(vocal, shift)
    return float(np.corrcoef(v, accompaniment)[0, 1])


def best_shift(vocal: np.ndarray, accompaniment: np.ndarray) -> int:
    return int(SHIFTS[int(np.argmax([agreement(vocal, accompaniment, s) for s in SHIFTS]))])


def draw(rng: np.random.Generator, sources: list[list[tuple[Path, float]]], weights: list[float], seconds: float):
    """A source by `weights`, then a file of it by length, then a start in it."""
    files = sources[rng.choice(len(sources), p=np.array(weights) / sum(weights))]
    lengths = np.array([d for _, d in files])
    path, duration = files[rng.choice(len(files), p=lengths / lengths.sum())]
    return path, float(rng.uniform(0, max(0.0, duration - seconds)))


def write_pair(track: Path, vocals: np.ndarray, accompaniment: np.ndarray) -> None:
    track.mkdir(parents=True, exist_ok=True)
    for stem, data in (("accompaniment", accompaniment), ("vocals", vocals)):
        tmp = track / f".{stem}.partial.flac"
        sf.write(tmp, data, RATE, subtype="PCM_16")
        os.replace(tmp, track / f"{stem}.flac")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocals", nargs="+", type=Path, help="vocal pools or stems folders")
    parser.add_argument("--accompaniments", nargs="+", type=Path,
                        help="instrumental folders or stems folders (their accompaniment files)")
    parser.add_argument("--vocal-weights", help="comma-separated weight per --vocals source [equal]")
    parser.add_argument("--accompaniment-weights", help="comma-separated weight per --accompaniments source [equal]")
    parser.add_argument("-o", "--output", type=Path)
    parser.add_argument("--count", type=int, default=720)
    parser.add_argument("--seconds", type=float, default=6.5)
    parser.add_argument("--vocal-db", type=float, nargs=2, default=(-6.0, 2.0), metavar=("LOW", "HIGH"))
    parser.add_argument("--reverb-prob", type=float, default=0.7, help="share of mono vocals given a room")
    parser.add_argument("--exclude", default="", help="comma-separated name parts of files to leave out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard", default="0/1", help="I/N: make only the remixes whose number is I modulo N "
                        "(run N processes side by side; each keeps its own report)")
    parser.add_argument("--calibrate", nargs="+", type=Path, metavar="STEMS",
                        help="only measure real songs (stems folders): how far their vocals agree with their own "
                             "accompaniment's key by this measure, against the remixes' figures")
    args = parser.parse_args()
    if args.calibrate:
        for folder in args.calibrate:
            calibrate(folder, args.seconds)
        return
    if not (args.vocals and args.accompaniments and args.output):
        raise SystemExit("Error: --vocals, --accompaniments and -o are needed (or --calibrate STEMS...)")
    from vocal_remover.data.augment import add_reverb, pan_gains
    from vocal_remover.data.vocal_variants import vocal_variant

    try:
        shard, shards = (int(v) for v in args.shard.split("/"))
        assert 0 <= shard < shards
    except (ValueError, AssertionError):
        raise SystemExit(f"Error: --shard must be I/N with 0 <= I < N, got {args.shard!r}") from None
    excluded = [part for part in args.exclude.split(",") if part]

    def usable(files: list[Path]) -> list[tuple[Path, float]]:
        out = []
        for f in files:
            if any(part in str(f) for part in excluded):
                continue
            try:
                duration = sf.info(f).duration
            except RuntimeError:
                continue  # a file libsndfile cannot open (hyperrogue has three)
            if duration >= args.seconds:
                out.append((f, duration))
        return out

    def weights(text: str | None, sources: list[Path], option: str) -> list[float]:
        if text is None:
            return [1.0] * len(sources)
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            values = []
        if len(values) != len(sources) or min(values) < 0 or sum(values) <= 0:
            raise SystemExit(f"Error: {option} needs {len(sources)} non-negative numbers, got {text!r}")
        return values

    vocal_sources = [usable(audio_files(s, "vocals")) for s in args.vocals]
    accompaniment_sources = [usable(audio_files(s, "accompaniment")) for s in args.accompaniments]
    for source, files in zip(args.vocals + args.accompaniments, vocal_sources + accompaniment_sources):
        if not files:
            raise SystemExit(f"Error: no audio file of {args.seconds:g} s or more in {source}")
    vocal_weights = weights(args.vocal_weights, args.vocals, "--vocal-weights")
    accompaniment_weights = weights(args.accompaniment_weights, args.accompaniments, "--accompaniment-weights")
    print(f"vocal files {[len(f) for f in vocal_sources]}, accompaniment files "
          f"{[len(f) for f in accompaniment_sources]}", file=sys.stderr)
    report_path = args.output / ("report.json" if shards == 1 else f"report-{shard}of{shards}.json")
    report = json.loads(report_path.read_text()) if report_path.exists() else {"remixes": {}}
    mine = range(shard, args.count, shards)
    for i in mine:
        name = f"{i:04d}"
        if name in report["remixes"]:
            continue
        rng = np.random.default_rng([args.seed, i])
        for _ in range(50):  # a segment where the voice sings
            vocal_path, vocal_start = draw(rng, vocal_sources, vocal_weights, args.seconds)
            vocal = read_segment(vocal_path, vocal_start, args.seconds)
            levels = frame_db(vocal.mean(axis=1))
            if sings(levels):
                break
        for _ in range(50):  # and the accompaniment plays
            acc_path, acc_start = draw(rng, accompaniment_sources, accompaniment_weights, args.seconds)
            accompaniment = read_segment(acc_path, acc_start, args.seconds)
            if frame_db(accompaniment.mean(axis=1)).max() > -40:
                break
        if accompaniment.shape[1] == 1:
            accompaniment = np.repeat(accompaniment, 2, axis=1)
        random_shift = int(rng.choice(SHIFTS))
        room = vocal.shape[1] == 1 and rng.random() < args.reverb_prob
        room_seconds, room_wet_db, room_seed = rng.uniform(0.3, 1.5), rng.uniform(-12, -3), int(rng.integers(2**31))
        pan = rng.uniform(-0.5, 0.5)
        vocal_db = rng.uniform(*args.vocal_db)
        v_profile, a_profile = pitch_profile(vocal.mean(axis=1)), pitch_profile(accompaniment.mean(axis=1))
        matched_shift = best_shift(v_profile, a_profile)
        entry = {"vocal": f"{vocal_path}@{vocal_start:.2f}", "accompaniment": f"{acc_path}@{acc_start:.2f}"}
        active_mask = np.repeat(levels > levels.max() - 30, RATE // 10)
        acc_rms = np.sqrt(np.mean(accompaniment ** 2) + 1e-12)
        for pool, shift in (("key-matched", matched_shift), ("random-key", random_shift)):
            moved = vocal_variant(vocal, RATE, float(shift)) if shift else vocal.copy()
            if moved.shape[1] == 1:
                left, right = pan_gains(pan)
                moved = np.concatenate([moved * left, moved * right], axis=1)
                if room:
                    moved = add_reverb(moved.T, RATE, room_seconds, 10 ** (room_wet_db / 20), room_seed).T
            mask = active_mask[: len(moved)]
            vocal_rms = np.sqrt(np.mean(moved[: len(mask)][mask] ** 2) + 1e-12)
            moved = moved * (acc_rms / vocal_rms * 10 ** (vocal_db / 20))
            peak = np.abs(moved + accompaniment).max()
            scale = min(1.0, 0.98 / peak) if peak > 0 else 1.0
            write_pair(args.output / pool / name, (moved * scale).astype(np.float32),
                       (accompaniment * scale).astype(np.float32))
            entry[pool] = {"shift": shift, "agreement": round(agreement(v_profile, a_profile, shift), 4)}
        report["remixes"][name] = entry
        if len(report["remixes"]) % 20 == 0 or i == mine[-1]:
            summarise(report)
            tmp = report_path.with_name(".report.partial.json")
            tmp.write_text(json.dumps(report, indent=1))
            os.replace(tmp, report_path)
            print(f"[{len(report['remixes'])}/{len(mine)}] key agreement: matched {report['matched_agreement_mean']:+.3f}, "
                  f"random {report['random_agreement_mean']:+.3f}", file=sys.stderr, flush=True)


def calibrate(folder: Path, seconds: float, every_s: float = 30.0, per_track: int = 6) -> None:
    """Print the key agreement of a stems folder's real pairs: segments every `every_s` seconds where the voice
    sings, their agreement at the true key (shift 0), averaged over all shifts, and how often shift 0 scores best."""
    tracks = sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    rows = []
    for track in tracks:
        stems = {p.stem.lower(): p for p in sorted(track.iterdir()) if p.suffix.lower() in AUDIO}
        if "vocals" not in stems or "accompaniment" not in stems:
            continue  # not a stems track
        vocal_file, acc_file = stems["vocals"], stems["accompaniment"]
        duration = sf.info(vocal_file).duration
        for start in np.arange(0, duration - seconds, every_s)[:per_track]:
            vocal = read_segment(vocal_file, start, seconds).mean(axis=1)
            if not sings(frame_db(vocal)):
                continue
            v, a = pitch_profile(vocal), pitch_profile(read_segment(acc_file, start, seconds).mean(axis=1))
            rows.append((agreement(v, a, 0), best_shift(v, a)))
    if not rows:
        raise SystemExit(f"Error: no sung segment of {seconds:g} s in a stems track (<track>/vocals.*, "
                         f"<track>/accompaniment.*) under {folder}")
    true_key = np.array([r[0] for r in rows])
    best = np.array([r[1] for r in rows])
    print(f"{folder}: {len(rows)} sung segments of {seconds:g} s; agreement at the true key {true_key.mean():+.3f} "
          f"(any shift averages 0 by construction); the true key scores best in {np.mean(best == 0):.0%} "
          f"(chance {1 / len(SHIFTS):.0%}), within a semitone in {np.mean(np.abs(best) <= 1):.0%}")


def summarise(report: dict) -> None:
    entries = list(report["remixes"].values())
    report["count"] = len(entries)
    report["matched_agreement_mean"] = float(np.mean([e["key-matched"]["agreement"] for e in entries]))
    report["random_agreement_mean"] = float(np.mean([e["random-key"]["agreement"] for e in entries]))
    report["matched_shift_histogram"] = {int(s): int(sum(e["key-matched"]["shift"] == s for e in entries)) for s in SHIFTS.tolist()}


if __name__ == "__main__":
    main()
