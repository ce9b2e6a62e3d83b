"""The training loop on real tiny runs: exact resume after an interruption, pretrain objective runs."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import make_music
from vocal_remover.model import PRESETS
from vocal_remover.train.checkpoint import load_checkpoint
from vocal_remover.train.config import TrainConfig
from vocal_remover.train.loop import Trainer


@pytest.fixture(scope="module")
def stems_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("stems")
    for i in range(3):
        track = root / f"track{i}"
        track.mkdir()
        sf.write(track / "vocals.wav", make_music(3.0, seed=10 + i) * 0.5, 44100)
        sf.write(track / "accompaniment.wav", make_music(3.0, seed=20 + i), 44100)
    return root


def _config(stems_dir, run_dir, mode="finetune", **kw):
    base = dict(mode=mode, data=[str(stems_dir)], run_dir=str(run_dir), model=PRESETS["tiny"].to_dict(),
                steps=6, cropsizes=[32], batch_sizes=[2], warmup=2, samples_per_epoch=8, val_every=0,
                checkpoint_every=2, device="cpu", seed=3)
    base.update(kw)
    return TrainConfig(**base)


class Interrupt(Exception):
    pass


def test_resumed_run_ends_with_the_same_weights(stems_dir, tmp_path):
    full = Trainer(_config(stems_dir, tmp_path / "a")).run()
    assert full["steps"] == 6

    def stop_after_three(event):
        if event.kind == "step" and event.step == 3:
            raise Interrupt  # like a crash between the checkpoints of steps 2 and 4

    with pytest.raises(Interrupt):
        Trainer(_config(stems_dir, tmp_path / "b"), callback=stop_after_three).run()
    assert load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")["step"] == 2
    Trainer(_config(stems_dir, tmp_path / "b"), resume=True).run()

    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")
    assert a["step"] == b["step"] == 6
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    # And training changed the weights at all.
    first = load_checkpoint(sorted((tmp_path / "a" / "checkpoints").glob("step-*.pt"))[0])
    assert any(not torch.equal(first["model"][k], v) for k, v in a["model"].items())


def test_pretraining_runs_and_logs_metrics(stems_dir, tmp_path):
    summary = Trainer(_config(stems_dir, tmp_path / "p", mode="pretrain", steps=3)).run()
    assert summary["steps"] == 3 and summary["skipped_steps"] == 0
    lines = (tmp_path / "p" / "metrics.jsonl").read_text().splitlines()
    import json

    records = [json.loads(line) for line in lines if '"train"' in line]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(np.isfinite(r["loss"]) and r["loss"] > 0 for r in records)


def test_ddp_two_processes_match_one_process_with_the_same_global_batch(stems_dir, tmp_path):
    """Real torchrun, 2 CPU ranks over gloo, 1 crop each == 1 process with 2 crops (per-frame norm and
    no dropout, so per-rank batch statistics and random masks cannot differ)."""
    import json
    import os
    import subprocess
    import sys

    from conftest import REPO

    model = PRESETS["tiny"].replace(norm="frame", dropout=0.0).to_dict()
    (tmp_path / "model.json").write_text(json.dumps(model))
    common = ["finetune", "--data", str(stems_dir), "--model-config", str(tmp_path / "model.json"), "--steps", "3",
              "--cropsizes", "32", "--warmup", "1", "--samples-per-epoch", "8", "--val-every", "0",
              "--device", "cpu", "--seed", "5", "-q"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    single = subprocess.run([sys.executable, "-m", "vocal_remover", *common, "--batch-size", "2",
                             "--run-dir", str(tmp_path / "one")], capture_output=True, text=True, env=env, timeout=300)
    assert single.returncode == 0, single.stderr
    import socket

    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                          "127.0.0.1", "--master_port", port, "-m", "vocal_remover", *common, "--batch-size", "1", "--run-dir",
                          str(tmp_path / "two")], capture_output=True, text=True, env=env, timeout=300)
    # a failing rank's one-line error comes first, the launcher's report of it last
    assert ddp.returncode == 0, ddp.stderr[:1500] + "\n...\n" + ddp.stderr[-1500:]

    def losses(run):
        lines = (tmp_path / run / "metrics.jsonl").read_text().splitlines()
        return [json.loads(line)["loss"] for line in lines if '"train"' in line]

    one, two = losses("one"), losses("two")
    assert len(one) == len(two) == 3
    assert np.allclose(one, two, rtol=1e-4), (one, two)
    a = load_checkpoint(tmp_path / "one" / "checkpoints" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "two" / "checkpoints" / "last.pt")["model"]
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-5


def test_time_budgeted_run_fits_its_schedule_to_the_budget(stems_dir, tmp_path):
    """--steps 0 --max-minutes M: after the calibration steps the total is fixed (and written to
    config.json), and the run ends on it with the learning rate at its floor, inside the budget."""
    import json

    from vocal_remover.train.loop import CALIBRATION_STEPS

    cfg = _config(stems_dir, tmp_path / "t", steps=0, max_minutes=0.15, warmup=3, checkpoint_every=1000)
    summary = Trainer(cfg).run()
    records = [json.loads(line) for line in (tmp_path / "t" / "metrics.jsonl").read_text().splitlines()]
    plan = next(r for r in records if r["kind"] == "plan")
    assert plan["step"] == 5 + CALIBRATION_STEPS and plan["steps"] > plan["step"]
    assert json.loads((tmp_path / "t" / "config.json").read_text())["train"]["steps"] == plan["steps"]
    train = [r for r in records if r["kind"] == "train"]
    if not summary["out_of_time"]:  # a loaded machine may hit the hard stop first; then it says so
        assert summary["steps"] == plan["steps"] == train[-1]["step"]
        # the last step runs one decay step above the floor (the floor is the LR after it)
        last_decay = (cfg.lr - cfg.lr_floor) / (plan["steps"] - cfg.warmup)
        assert cfg.lr_floor < train[-1]["lr"] <= cfg.lr_floor + last_decay * 1.0001 < train[-2]["lr"]
    assert summary["wall_seconds"] < 60 * 0.15 + 5


def test_data_weights_steer_sampling_between_datasets(stems_dir, tmp_path):
    """--data-weights 0,1: every crop comes from the second dataset (caches kept apart by path)."""
    import shutil

    from vocal_remover.data import ensure_cache

    other = tmp_path / "other"
    shutil.copytree(stems_dir, other)
    trainer = Trainer(_config(stems_dir, tmp_path / "w", data=[str(stems_dir), str(other)], data_weights=[0.0, 1.0]))
    second = ensure_cache(other)
    ds = trainer.dataset
    for pool in (ds.pairs, ds.vocals, ds.instrumentals):
        assert pool.entries and {c.path for c, _ in pool.entries} == {second}
    assert len(ds.instrumentals.entries) == 3


def test_cli_finetune_from_a_pretraining_run_and_adversarial(stems_dir, tmp_path):
    """pretrain -> finetune --checkpoint RUN (weights carried over) -> finetune --adversarial, all via the CLI."""
    import json

    from typer.testing import CliRunner

    from vocal_remover.cli import app

    runner = CliRunner()
    common = ["--data", str(stems_dir), "--preset", "tiny", "--cropsizes", "32", "--batch-size", "2", "--warmup", "1",
              "--samples-per-epoch", "8", "--device", "cpu", "-q"]
    r = runner.invoke(app, ["pretrain", *common, "--steps", "2", "--val-every", "0", "--run-dir", str(tmp_path / "pre")])
    assert r.exit_code == 0, r.output
    pre = load_checkpoint(tmp_path / "pre" / "checkpoints" / "last.pt")["model"]
    # pretraining can also continue from earlier weights (a run, a checkpoint or a model folder)
    r = runner.invoke(app, ["pretrain", *common, "--checkpoint", str(tmp_path / "pre"), "--steps", "1",
                            "--lr", "1e-12", "--lr-floor", "0", "--val-every", "0", "--run-dir", str(tmp_path / "pre2")])
    assert r.exit_code == 0, r.output
    pre2 = load_checkpoint(tmp_path / "pre2" / "checkpoints" / "last.pt")["model"]
    assert max((pre2[k].float() - v.float()).abs().max().item() for k, v in pre.items()
               if "running" not in k and "num_batches" not in k) < 1e-6
    r = runner.invoke(app, ["finetune", *common, "--checkpoint", str(tmp_path / "pre" / "checkpoints" / "last.pt"),
                            "--steps", "1", "--lr", "1e-12", "--lr-floor", "0", "--val-every", "0",
                            "--run-dir", str(tmp_path / "ft")])
    assert r.exit_code == 0, r.output
    ft = load_checkpoint(tmp_path / "ft" / "checkpoints" / "last.pt")
    assert ft["train_config"]["init_from"].endswith("last.pt")
    moved = max((ft["model"][k].float() - v.float()).abs().max().item() for k, v in pre.items() if "running" not in k
                and "num_batches" not in k)
    assert moved < 1e-6  # started from the pretrained weights (lr ~0: they barely move)
    # a model folder (what `export` writes and what ships) is a starting point too: how every session
    # continues training the packaged default model
    from vocal_remover.export import export_model

    export_model(tmp_path / "ft", tmp_path / "folder")
    r = runner.invoke(app, ["finetune", *common, "--checkpoint", str(tmp_path / "folder"), "--steps", "1",
                            "--lr", "1e-12", "--lr-floor", "0", "--val-every", "0", "--run-dir", str(tmp_path / "ft2")])
    assert r.exit_code == 0, r.output
    ft2 = load_checkpoint(tmp_path / "ft2" / "checkpoints" / "last.pt")
    assert ft2["model_config"] == ft["model_config"]
    assert max((ft2["model"][k].float() - v.float()).abs().max().item() for k, v in ft["model"].items()
               if "running" not in k and "num_batches" not in k) < 1e-6
    gan_args = ["finetune", *common, "--checkpoint", str(tmp_path / "ft"), "--adversarial", "--steps", "2",
                "--val-data", str(stems_dir), "--val-every", "2", "--run-dir", str(tmp_path / "gan")]
    r = runner.invoke(app, gan_args)  # crops of 32 frames are too short for the discriminator
    assert r.exit_code == 2 and "at least 64 frames" in r.output
    r = runner.invoke(app, gan_args + ["--cropsizes", "64"])
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in (tmp_path / "gan" / "metrics.jsonl").read_text().splitlines()]
    train = [x for x in records if x["kind"] == "train"]
    assert len(train) == 2 and all(np.isfinite(x["d_loss"]) and np.isfinite(x["g_adv"]) for x in train)
    assert any(x["kind"] == "validation" and np.isfinite(x["vocals_sdr"]) for x in records)
    gan = load_checkpoint(tmp_path / "gan" / "checkpoints" / "last.pt")
    assert "discriminator" in gan and "disc_optimizer" in gan


def test_bad_budget_and_weights_are_one_line_errors(stems_dir, tmp_path):
    from typer.testing import CliRunner

    from vocal_remover.cli import app

    runner = CliRunner()
    base = ["finetune", "--data", str(stems_dir), "--preset", "tiny", "--run-dir", str(tmp_path / "x")]
    for extra, message in ((["--steps", "0"], "needs --max-minutes"),
                           (["--data-weights", "1,2"], "one non-negative weight per --data"),
                           (["--data-weights", "a"], "comma-separated numbers"),
                           (["--max-minutes", "-1"], "must not be negative")):
        r = runner.invoke(app, base + extra)
        assert r.exit_code == 2, (extra, r.output)
        assert message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "x").exists()


def test_two_validation_sets_and_augment_overrides_via_the_cli(stems_dir, tmp_path):
    """`--val-data A --val-data B` reports both sets (B's keys prefixed with its folder name) and picks the
    best checkpoint on their mean; `--augment` reaches the dataset; bad overrides are one-line errors."""
    import json
    import shutil

    from typer.testing import CliRunner

    from vocal_remover.cli import app

    held_out, first = tmp_path / "Held Out", tmp_path / "first"
    shutil.copytree(stems_dir / "track0", held_out / "track0")
    shutil.copytree(stems_dir / "track1", first / "track1")
    runner = CliRunner()
    args = ["finetune", "--data", str(stems_dir), "--preset", "tiny", "--cropsizes", "32", "--batch-size", "2",
            "--warmup", "1", "--samples-per-epoch", "8", "--device", "cpu", "-q", "--steps", "2",
            "--val-data", str(first), "--val-data", str(held_out), "--val-every", "2",
            "--augment", "vocal_pan_prob=0.5,instrumental_gain_db=-3:3", "--run-dir", str(tmp_path / "run")]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    val = [x for x in records if x["kind"] == "validation"][-1]
    assert {"vocals_sdr", "instrumental_sdr", "held_out_vocals_sdr", "held_out_instrumental_sdr"} <= set(val)
    best = load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")["metrics"]["best_val"]
    expected = np.mean([(val["vocals_sdr"] + val["instrumental_sdr"]) / 2,
                        (val["held_out_vocals_sdr"] + val["held_out_instrumental_sdr"]) / 2])
    assert best["score"] == pytest.approx(expected)
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert cfg["augment"] == {"vocal_pan_prob": 0.5, "instrumental_gain_db": [-3.0, 3.0]}
    assert cfg["extra_val_data"] == [str(held_out)]
    for bad, message in (("vocal_pan_prob=2", "vocal_pan_prob must be in [0, 1]"),
                         ("no_such_field=1", "no_such_field"), ("vocal_pan_prob", "name=number")):
        r = runner.invoke(app, args[:-4] + ["--augment", bad, "--run-dir", str(tmp_path / "bad")])
        assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, (bad, r.output)
    assert not (tmp_path / "bad").exists()
