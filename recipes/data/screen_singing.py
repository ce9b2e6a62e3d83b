"""Screen an instrumental pool for singing, and write the parts that do not sing as a clean pool.

Method: the packaged default model separates each file; for every 10-second chunk the energy of its
vocal estimate relative to the chunk's mixture energy (dB) is the chunk's "vocal score". Instruments leak
into a separation model's vocal estimate too, so the score of a purely instrumental chunk is not -inf: the
threshold is chosen on material with known stems (`calibrate`): chunks of real accompaniments (no vocals)
against chunks of real mixtures whose true vocals are audible. A chunk scoring above the threshold is
dropped; so is a near-silent one (mixture below -50 dBFS RMS: it teaches nothing). Runs of kept chunks are
written as FLAC files; files are capped at --max-seconds from their start (game music loops).

    # 1. the threshold, from stems you know (folders of <track>/{vocals,accompaniment}.*) that the model did not
    #    train on: on its own training stems it scores accompaniments far lower than on new music (session 35:
    #    at -12 dB it dropped 2% of trained-on accompaniment chunks and 31% of held-out ones)
    python recipes/data/screen_singing.py calibrate ../shared/data/musdb7/valid data/eir-valid \
        --report data/screen-calibration.json
    # 2. screen the pool (resumable: per-file results are kept in OUT/.screen/)
    python recipes/data/screen_singing.py screen data/debian-instrumentals/instrumentals \
        -o data/debian-screened --threshold DB

    # 3. look at the decisions closest to the line (spectrogram pictures + an index)
    python recipes/data/screen_singing.py spotcheck data/debian-instrumentals/instrumentals data/debian-screened \
        -o data/screen-spotcheck
    # 4. what it dropped (less packages sung by design), as voice-free pairs: hard negatives for training
    python recipes/data/screen_singing.py negatives data/debian-instrumentals/instrumentals data/debian-screened \
        -o data/hard-negatives --exclude wesnoth-1.16-music

The screened pool is OUT/instrumentals/<package>/<file>__<start>s.flac (an instrumental-only `pools`
layout for `vocal-remover cache`), and OUT/screen-report.json lists every chunk's score and decision.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

CHUNK_SECONDS = 10.0
SILENCE_DBFS = -50.0
RATE = 44100
AUDIO = (".ogg", ".opus", ".flac", ".wav", ".mp3")


def _separator(threads: int):
    import torch

    from vocal_remover.separator import Separator

    torch.set_num_threads(threads)
    # Non-overlapping 256-frame windows: seams do not matter for an energy estimate, and it is the cheapest.
    return Separator("default", device="cpu", window=256, overlap=0.0, offline=True)


def _energy_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def chunk_scores(sep, audio: np.ndarray) -> list[dict]:
    """Per 10-s chunk of (n, 2) audio at 44.1 kHz: mixture level (dBFS) and vocal score (dB)."""
    vocals = sep.separate_array(audio, RATE)["vocals"]
    size = int(CHUNK_SECONDS * RATE)
    out = []
    for start in range(0, len(audio), size):
        mix, voc = audio[start:start + size], vocals[start:start + size]
        if len(mix) < RATE:  # a last sliver under a second joins nothing and is dropped
            break
        level = _energy_db(mix)
        out.append({"start": start / RATE, "end": (start + len(mix)) / RATE, "level_dbfs": round(level, 2),
                    "vocal_score_db": round(_energy_db(voc) - level, 2)})
    return out


def _read(path: Path, max_seconds: float | None = None) -> np.ndarray:
    from vocal_remover.audio import read_audio, to_stereo

    audio, _ = read_audio(path, RATE)
    if max_seconds:
        audio = audio[:int(max_seconds * RATE)]
    return to_stereo(audio)


def calibrate(args: argparse.Namespace) -> None:
    """Scores of accompaniment chunks (negatives) and of mixture chunks with audible true vocals
    (positives, true vocal energy above -20 dB of the mixture), and the trade-off of thresholds."""
    sep = _separator(args.threads)
    negatives, positives, positive_true = [], [], []
    tracks = sorted(p for root in args.stems for p in Path(root).iterdir() if p.is_dir())
    for k, track in enumerate(tracks, 1):
        files = {f.stem.lower(): f for f in track.iterdir() if f.suffix.lower() in AUDIO}
        if "vocals" not in files or "accompaniment" not in files:
            continue
        voc, acc = _read(files["vocals"]), _read(files["accompaniment"])
        n = min(len(voc), len(acc))
        voc, acc = voc[:n], acc[:n]
        for c in chunk_scores(sep, acc):
            if c["level_dbfs"] > SILENCE_DBFS:
                negatives.append(c["vocal_score_db"])
        mix = acc + voc
        for c in chunk_scores(sep, mix):
            s, e = int(c["start"] * RATE), int(c["end"] * RATE)
            true_ratio = _energy_db(voc[s:e]) - _energy_db(mix[s:e])
            if c["level_dbfs"] > SILENCE_DBFS and true_ratio > -20:
                positives.append(c["vocal_score_db"])
                positive_true.append(round(true_ratio, 2))
        print(f"[{k}/{len(tracks)}] {track.name}: {len(negatives)} negative, {len(positives)} positive chunks",
              file=sys.stderr, flush=True)
    neg, pos = np.array(negatives), np.array(positives)
    table = []
    for t in np.arange(-30.0, 0.01, 0.5):
        table.append({"threshold_db": float(t), "singing_caught": float(np.mean(pos > t)),
                      "instrumental_dropped": float(np.mean(neg > t))})
    report = {"chunks": {"negative": len(neg), "positive": len(pos)},
              "negative_percentiles": {str(q): float(np.percentile(neg, q)) for q in (50, 90, 95, 99)},
              "positive_percentiles": {str(q): float(np.percentile(pos, q)) for q in (1, 5, 10, 50)},
              "tradeoff": table, "negatives": negatives, "positives": positives,
              "positive_true_vocal_ratio_db": positive_true}
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(report, indent=1))
    for row in table[::2]:
        print(f"threshold {row['threshold_db']:6.1f} dB: singing caught {100 * row['singing_caught']:5.1f}%, "
              f"instrumental dropped {100 * row['instrumental_dropped']:5.1f}%")


def _runs(chunks: list[dict], wanted=lambda c: c["keep"]) -> list[tuple[float, float]]:
    """Contiguous runs of wanted (by default: kept) chunks as (start, end) seconds."""
    runs: list[tuple[float, float]] = []
    for c in chunks:
        if wanted(c):
            if runs and abs(runs[-1][1] - c["start"]) < 1e-6:
                runs[-1] = (runs[-1][0], c["end"])
            else:
                runs.append((c["start"], c["end"]))
    return runs


def screen(args: argparse.Namespace) -> None:
    import soundfile as sf

    src, out = Path(args.pool), Path(args.output)
    state = out / ".screen"
    state.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO)
    index, count = (int(v) for v in args.shard.split("/"))
    mine = set(files[index::count])  # parallel screening: each process takes every count-th file
    sep = None
    report = []
    for k, f in enumerate(files, 1):
        rel = f.relative_to(src)
        key = hashlib.sha1(f"{rel}|{args.max_seconds}".encode()).hexdigest()[:16]
        done = state / f"{key}.json"
        audio = None
        if done.exists():  # resumable: this file was scored (and written) before
            entry = json.loads(done.read_text())
            if entry.get("threshold_db") == args.threshold or "error" in entry:
                report.append(entry)
                continue
            # Scored under another threshold: decide again from the stored scores, rewrite the kept runs.
            for old in entry.get("written", []):
                (out / old).unlink(missing_ok=True)
            chunks = entry["chunks"]
        else:
            if f not in mine:
                continue
            sep = sep or _separator(args.threads)
            entry = {"file": str(rel)}
            try:
                audio = _read(f, args.max_seconds)
            except Exception as exc:  # a file that does not decode is reported and skipped
                entry["error"] = str(exc).splitlines()[0][:200]
                chunks = []
            else:
                chunks = chunk_scores(sep, audio)
        entry["threshold_db"] = args.threshold
        for c in chunks:
            c["keep"] = c["level_dbfs"] > SILENCE_DBFS and c["vocal_score_db"] <= args.threshold
        entry["chunks"] = chunks
        entry["written"] = []
        for s, e in _runs(chunks):
            if e - s < args.min_seconds:
                continue
            name = f"{rel.with_suffix('').as_posix().replace('/', '__')}__{int(s):04d}s.flac"
            dest = out / "instrumentals" / rel.parts[0] / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if audio is None:
                audio = _read(f, args.max_seconds)
            tmp = dest.with_name(f".{dest.name}.partial")
            sf.write(tmp, audio[int(s * RATE):int(e * RATE)], RATE, subtype="PCM_16", format="FLAC")
            os.replace(tmp, dest)
            entry["written"].append(str(dest.relative_to(out)))
        tmp = done.with_suffix(".partial")
        tmp.write_text(json.dumps(entry))
        os.replace(tmp, done)
        report.append(entry)
        kept = sum(c["end"] - c["start"] for c in chunks if c["keep"])
        total = sum(c["end"] - c["start"] for c in chunks)
        print(f"[{k}/{len(files)}] {rel}: kept {kept:.0f} of {total:.0f} s", file=sys.stderr, flush=True)
    if len(report) < len(files):
        print(f"{len(files) - len(report)} files are left to other shards: run once more without --shard "
              "for the report", file=sys.stderr)
        return
    summary = {"threshold_db": args.threshold, "max_seconds": args.max_seconds, "files": len(report),
               "errors": [e["file"] for e in report if "error" in e]}
    by_pkg: dict[str, dict[str, float]] = {}
    for e in report:
        pkg = Path(e["file"]).parts[0]
        d = by_pkg.setdefault(pkg, {"seconds": 0.0, "sung_seconds": 0.0, "silent_seconds": 0.0, "kept_seconds": 0.0})
        for c in e["chunks"]:
            span = c["end"] - c["start"]
            d["seconds"] += span
            if c["level_dbfs"] <= SILENCE_DBFS:
                d["silent_seconds"] += span
            elif c["vocal_score_db"] > args.threshold:
                d["sung_seconds"] += span
            if c["keep"]:
                d["kept_seconds"] += span
    summary["packages"] = {k: {n: round(v / 60, 1) for n, v in d.items()} | {"unit": "minutes"}
                           for k, d in sorted(by_pkg.items())}
    (out / "screen-report.json").write_text(json.dumps({"summary": summary, "files": report}, indent=1))
    print(json.dumps(summary, indent=1))


def _screen_report(screened: str) -> dict:
    """The screen's report in `screened`, or a one-line error when the screen has not finished there."""
    path = Path(screened) / "screen-report.json"
    if not path.is_file():
        raise SystemExit(f"Error: no {path}: run `screen` on the whole pool first (without --shard)")
    return json.loads(path.read_text())


def negatives(args: argparse.Namespace) -> None:
    """The chunks the screen dropped as sung (not the near-silent ones), as a `pairs` layout whose mixture and
    instrumental are the same file: music the model hears as voice, labelled as having none (hard negatives).
    Packages named in --exclude are left out (choral music is sung: it must not be labelled voice-free)."""
    import soundfile as sf

    report = _screen_report(args.screened)
    threshold = report["summary"]["threshold_db"]
    out = Path(args.output)
    (out / "mixtures").mkdir(parents=True, exist_ok=True)
    (out / "instruments").mkdir(parents=True, exist_ok=True)
    excluded = set(args.exclude.split(",")) if args.exclude else set()
    written = left_out = 0.0
    for entry in report["files"]:
        rel = Path(entry["file"])
        runs = _runs(entry.get("chunks", []),
                     lambda c: c["level_dbfs"] > SILENCE_DBFS and c["vocal_score_db"] > threshold)
        runs = [(s, e) for s, e in runs if e - s >= args.min_seconds]
        if rel.parts[0] in excluded:
            left_out += sum(e - s for s, e in runs)
            continue
        audio = _read(Path(args.pool) / rel, report["summary"]["max_seconds"]) if runs else None
        for s, e in runs:
            name = f"{rel.with_suffix('').as_posix().replace('/', '__')}__{int(s):04d}s.flac"
            mix, inst = out / "mixtures" / name, out / "instruments" / name
            if not (mix.exists() and inst.exists()):
                # one file under both names (a hard link), each name appearing only once complete
                tmp, tmp_inst = mix.with_name(f".{name}.partial"), inst.with_name(f".{name}.partial")
                sf.write(tmp, audio[int(s * RATE):int(e * RATE)], RATE, subtype="PCM_16", format="FLAC")
                tmp_inst.unlink(missing_ok=True)  # left by an interrupted run
                os.link(tmp, tmp_inst)
                os.replace(tmp_inst, inst)
                os.replace(tmp, mix)
            written += e - s
    print(f"{written / 60:.1f} minutes of hard negatives in {out} ({left_out / 60:.1f} minutes of excluded packages "
          f"left out)")


def _log_spectrogram(x: np.ndarray, rate: int, height: int = 240, width: int = 600) -> np.ndarray:
    """(height, width) in [0, 1]: 70 dB of a mono signal's STFT on a log-frequency axis, 80 Hz to 8 kHz
    (bottom to top), so that the curved, vibrato-bearing harmonics of a voice stand out from steady tones."""
    n, hop = 2048, max(1, (len(x) - 2048) // width)
    frames = np.stack([x[i:i + n] * np.hanning(n) for i in range(0, len(x) - n, hop)][:width])
    db = 20 * np.log10(np.abs(np.fft.rfft(frames, axis=1)) + 1e-6)
    freqs = np.fft.rfftfreq(n, 1 / rate)
    rows = np.geomspace(80, 8000, height)
    img = np.stack([np.interp(rows, freqs, f) for f in db], axis=1)[::-1]
    return np.clip((img - img.max() + 70) / 70, 0, 1)


def spotcheck(args: argparse.Namespace) -> None:
    """Pictures of decisions to look at: the highest-scoring dropped chunks, and the kept chunks closest
    to the threshold, one stacked PNG each, with an index (file, start, score) in a Markdown file."""
    from vocal_remover.audio import read_audio
    from vocal_remover.images import encode_png

    report = _screen_report(args.screened)
    threshold = report["summary"]["threshold_db"]
    chunks = [(c["vocal_score_db"], e["file"], c["start"]) for e in report["files"] for c in e["chunks"]
              if c["level_dbfs"] > SILENCE_DBFS and c["end"] - c["start"] >= CHUNK_SECONDS - 0.1]
    def one_per_file(group):  # the top chunk of each file, so that one loud file does not fill the page
        seen: set[str] = set()
        return [c for c in sorted(group, reverse=True) if not (c[1] in seen or seen.add(c[1]))][:args.count]

    dropped = one_per_file(c for c in chunks if c[0] > threshold)
    kept = one_per_file(c for c in chunks if c[0] <= threshold)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    index = [f"# Screening spot check (threshold {threshold} dB)", ""]
    for name, group in (("dropped", dropped), ("kept-near-threshold", kept)):
        tiles = []
        index += [f"## {name}.png, top to bottom", "", "| score dB | file | start s |", "|---|---|---|"]
        for score, file, start in group:
            audio, rate = read_audio(Path(args.pool) / file, 22050)
            segment = audio[int(start * rate):int((start + CHUNK_SECONDS) * rate)].mean(axis=1)
            tiles.append(_log_spectrogram(segment, rate))
            tiles.append(np.ones((4, tiles[-1].shape[1])))  # a white rule between tiles
            index.append(f"| {score} | {file} | {start:.0f} |")
        index.append("")
        if tiles:
            gray = (np.concatenate(tiles) * 255).astype(np.uint8)
            (out / f"{name}.png").write_bytes(encode_png(np.repeat(gray[:, :, None], 3, axis=2)))
    (out / "index.md").write_text("\n".join(index), encoding="utf-8")
    print(out / "index.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("calibrate", help="choose the threshold on stems with known vocals")
    c.add_argument("stems", nargs="+", help="folders of <track>/{vocals,accompaniment}.*")
    c.add_argument("--report", default="screen-calibration.json")
    c.add_argument("--threads", type=int, default=1)
    s = sub.add_parser("screen", help="score every chunk of a pool and write what does not sing")
    s.add_argument("pool", help="folder of instrumental music (one subfolder per source)")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--threshold", type=float, required=True, help="vocal score (dB) above which a chunk sings")
    s.add_argument("--max-seconds", type=float, default=240.0, help="use at most this much of each file")
    s.add_argument("--min-seconds", type=float, default=10.0, help="shortest run of kept chunks written")
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--shard", default="0/1", help="I/N: screen only every N-th file, from the I-th (run N at once)")
    k = sub.add_parser("spotcheck", help="spectrogram pictures of the decisions closest to the line")
    k.add_argument("pool", help="the pool that was screened")
    k.add_argument("screened", help="the screen's output folder (with screen-report.json)")
    k.add_argument("-o", "--output", required=True)
    k.add_argument("--count", type=int, default=8)
    n = sub.add_parser("negatives", help="what the screen dropped, as voice-free pairs (hard negatives)")
    n.add_argument("pool", help="the pool that was screened")
    n.add_argument("screened", help="the screen's output folder (with screen-report.json)")
    n.add_argument("-o", "--output", required=True)
    n.add_argument("--min-seconds", type=float, default=10.0, help="shortest run of dropped chunks written")
    n.add_argument("--exclude", default="", help="comma-separated packages (first folder) to leave out")
    args = parser.parse_args()
    {"calibrate": calibrate, "screen": screen, "spotcheck": spotcheck, "negatives": negatives}[args.command](args)


if __name__ == "__main__":
    main()
