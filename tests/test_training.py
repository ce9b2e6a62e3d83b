"""The training loop on real tiny runs: exact resume after an interruption, pretrain objective runs."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from helpers import HANG, make_music
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


def test_adversarial_run_resumes_exactly_also_from_a_checkpoint_of_earlier_versions(stems_dir, tmp_path):
    """GAN finetuning stopped and resumed ends with the same generator and discriminator as a run that
    never stopped, also from a checkpoint as earlier versions wrote it (with Python's and numpy's RNG
    states, which nothing draws from)."""
    import random

    from vocal_remover.train.adversarial import DISCRIMINATOR_KEYS
    from vocal_remover.train.checkpoint import save_checkpoint

    gan = dict(adversarial=True, cropsizes=[64], batch_sizes=[1], steps=4)
    Trainer(_config(stems_dir, tmp_path / "a", **gan)).run()

    def stop_after_three(event):
        if event.kind == "step" and event.step == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        Trainer(_config(stems_dir, tmp_path / "b", **gan), callback=stop_after_three).run()
    last = tmp_path / "b" / "checkpoints" / "last.pt"
    state = load_checkpoint(last)
    assert state["step"] == 2 and set(DISCRIMINATOR_KEYS) <= set(state)
    assert "python" not in state["rng"] and "numpy" not in state["rng"]
    state["rng"].update(python=list(random.getstate()[1]), numpy=torch.from_numpy(np.random.get_state()[1].copy()))
    save_checkpoint(state, last)
    Trainer(_config(stems_dir, tmp_path / "b", **gan), resume=True).run()

    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")
    b = load_checkpoint(last)
    assert a["step"] == b["step"] == 4
    for part in ("model", "discriminator"):
        for name, tensor in a[part].items():
            assert torch.equal(tensor, b[part][name]), (part, name)


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

    from helpers import REPO

    model = PRESETS["tiny"].replace(norm="frame", dropout=0.0).to_dict()
    (tmp_path / "model.json").write_text(json.dumps(model))
    common = ["finetune", "--data", str(stems_dir), "--model-config", str(tmp_path / "model.json"), "--steps", "3",
              "--cropsizes", "32", "--warmup", "1", "--samples-per-epoch", "8", "--val-every", "0",
              "--device", "cpu", "--seed", "5", "-q"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    single = subprocess.run([sys.executable, "-m", "vocal_remover", *common, "--batch-size", "2",
                             "--run-dir", str(tmp_path / "one")], capture_output=True, text=True, env=env, timeout=HANG)
    assert single.returncode == 0, single.stderr
    import socket

    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                          "127.0.0.1", "--master_port", port, "-m", "vocal_remover", *common, "--batch-size", "1", "--run-dir",
                          str(tmp_path / "two")], capture_output=True, text=True, env=env, timeout=HANG)
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


class Ticker:
    """A clock for the run that advances `dt` seconds each time it is read (once per step): the run's
    timing, and so its plan, is the same on any machine, however loaded."""

    def __init__(self, dt: float):
        self.now, self.dt = 0.0, dt

    def __call__(self) -> float:
        now = self.now
        self.now += self.dt
        return now


def test_time_budgeted_run_fits_its_schedule_to_the_budget(stems_dir, tmp_path):
    """--steps 0 --max-minutes M: after the calibration steps the total is fixed (and written to
    config.json), and the run ends on it with the learning rate at its floor, inside the budget."""
    import json

    from vocal_remover.train.loop import CALIBRATION_STEPS

    cfg = _config(stems_dir, tmp_path / "t", steps=0, max_minutes=0.5, warmup=3, checkpoint_every=1000)
    summary = Trainer(cfg, clock=Ticker(1.0)).run()  # every step "takes" 1 s of a 30 s budget
    records = [json.loads(line) for line in (tmp_path / "t" / "metrics.jsonl").read_text().splitlines()]
    plan = next(r for r in records if r["kind"] == "plan")
    calibrated = 5 + CALIBRATION_STEPS
    # 5 s left after 25 steps of 1 s, 10% kept for validation and checkpoints: 4 more steps
    assert plan == {"kind": "plan", "step": calibrated, "steps": calibrated + 4, "seconds_per_step": 1.0}
    assert json.loads((tmp_path / "t" / "config.json").read_text())["train"]["steps"] == plan["steps"]
    train = [r for r in records if r["kind"] == "train"]
    assert not summary["out_of_time"] and summary["steps"] == plan["steps"] == train[-1]["step"]
    # the last step runs one decay step above the floor (the floor is the LR after it)
    last_decay = (cfg.lr - cfg.lr_floor) / (plan["steps"] - cfg.warmup)
    assert cfg.lr_floor < train[-1]["lr"] <= cfg.lr_floor + last_decay * 1.0001 < train[-2]["lr"]
    assert summary["wall_seconds"] <= 60 * 0.5


class SpeedChange(Ticker):
    """A run clock whose steps take `dt` seconds for the first `reads` readings and `after` seconds from then
    on: the calibration ran beside another job that has since ended."""

    def __init__(self, dt: float, reads: int, after: float):
        super().__init__(dt)
        self.reads, self.after = reads, after

    def __call__(self) -> float:
        self.reads -= 1
        if self.reads == 0:
            self.dt = self.after
        return super().__call__()


def test_time_budgeted_run_replans_when_its_steps_speed_up(stems_dir, tmp_path):
    """Steps twice as slow during calibration as afterwards: the run re-plans at its checkpoints, uses
    its budget instead of ending early, and last.pt and config.json agree on the new total."""
    import json

    from vocal_remover.train.loop import CALIBRATION_STEPS

    calibrated = 5 + CALIBRATION_STEPS
    cfg = _config(stems_dir, tmp_path / "r", steps=0, max_minutes=1.0, warmup=3, checkpoint_every=4, keep_last=1)
    # 2 s per step up to the calibration (50 s of a 60 s budget), then 0.5 s
    summary = Trainer(cfg, clock=SpeedChange(2.0, reads=calibrated + 1, after=0.5)).run()
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    plans = [r for r in records if r["kind"] == "plan"]
    # calibration: 10 s left at 2 s per step, 10% kept back: 4 more steps
    assert plans[0] == {"kind": "plan", "step": calibrated, "steps": calibrated + 4, "seconds_per_step": 2.0}
    # at the checkpoint of step 28: 0.5 s per step since step 25, 8.5 s left, 5% kept back: 16 more steps
    assert plans[1] == {"kind": "plan", "step": 28, "steps": 28 + 16, "seconds_per_step": 0.5}
    assert len(plans) == 2  # later checkpoints measure the same speed: the total stands
    assert not summary["out_of_time"] and summary["steps"] == 44
    assert 59.0 <= summary["wall_seconds"] <= 60.0  # the budget is used, not 52 s of it as planned first
    saved = load_checkpoint(tmp_path / "r" / "checkpoints" / "last.pt")
    assert saved["step"] == 44 and saved["train_config"]["steps"] == 44
    assert json.loads((tmp_path / "r" / "config.json").read_text())["train"]["steps"] == 44
    train = [r for r in records if r["kind"] == "train"]
    last_decay = (cfg.lr - cfg.lr_floor) / (44 - cfg.warmup)
    assert cfg.lr_floor < train[-1]["lr"] <= cfg.lr_floor + last_decay * 1.0001


def test_hard_stop_at_the_time_budget(stems_dir, tmp_path):
    """--max-minutes with a fixed --steps: the run stops (and saves) at the budget, by its clock."""
    cfg = _config(stems_dir, tmp_path / "h", steps=1000, max_minutes=0.1, checkpoint_every=1000)
    summary = Trainer(cfg, clock=Ticker(1.0)).run()  # 6 s budget, 1 s per step
    assert summary["out_of_time"] and summary["steps"] == 7  # the first step past the budget ends the run
    assert load_checkpoint(tmp_path / "h" / "checkpoints" / "last.pt")["step"] == 7


def test_eval_mode_trains_the_weights_but_keeps_the_batchnorm_statistics(stems_dir, tmp_path):
    """--eval-mode: the weights move as in a normal run, the running statistics stay those of the start (a normal
    run moves them), and dropout is off (the trained model reports training == False throughout)."""
    seen_modes = []

    def watch(event):
        if event.kind == "step":
            seen_modes.append(trainer.model.training)

    trainer = Trainer(_config(stems_dir, tmp_path / "eval", eval_mode=True, steps=3), callback=watch)
    trainer.run()
    normal = Trainer(_config(stems_dir, tmp_path / "normal", steps=3))
    normal.run()
    start = {k: v.clone() for k, v in Trainer(_config(stems_dir, tmp_path / "fresh", steps=3)).model.state_dict().items()}
    frozen = load_checkpoint(tmp_path / "eval" / "checkpoints" / "last.pt")["model"]
    moved = load_checkpoint(tmp_path / "normal" / "checkpoints" / "last.pt")["model"]
    stats = [k for k in start if k.endswith(("running_mean", "running_var"))]
    assert stats and seen_modes == [False] * 3
    for k in stats:
        assert torch.equal(frozen[k], start[k]), k
    assert all(not torch.equal(moved[k], start[k]) for k in stats if k.endswith("running_mean"))
    weights = [k for k in start if k.endswith("conv.weight")]
    assert weights and all((frozen[k] - start[k]).abs().max() > 1e-6 for k in weights)
    # From scratch the statistics would never be learned: said before training.
    assert any("--eval-mode" in w for w in _config(stems_dir, tmp_path / "x", eval_mode=True).warnings())
    assert not _config(stems_dir, tmp_path / "y", eval_mode=True, init_from=str(tmp_path / "normal")).warnings()


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


# ------------------------------------------------------------------------------ the CLI around a run (issue 9)


def cli(*args: str):
    from typer.testing import CliRunner

    from vocal_remover.cli import app

    return CliRunner().invoke(app, list(args))


def tiny_args(stems_dir, run_dir, *extra: str) -> list[str]:
    return ["finetune", "--data", str(stems_dir), "--preset", "tiny", "--cropsizes", "32", "--batch-size", "2",
            "--warmup", "1", "--samples-per-epoch", "8", "--val-every", "0", "--device", "cpu",
            "--run-dir", str(run_dir), *extra]


def train_steps(run_dir) -> list[int]:
    import json

    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["step"] for line in lines if '"train"' in line]


@pytest.mark.parametrize("sig,status", [("SIGINT", 130), ("SIGTERM", 143)])
def test_ctrl_c_or_sigterm_saves_a_checkpoint_to_resume_from(stems_dir, tmp_path, sig, status):
    import json
    import os
    import signal
    import subprocess
    import sys

    from helpers import REPO

    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "vocal_remover",
                             *tiny_args(stems_dir, run_dir, "--steps", "1000", "--progress", "json")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in proc.stderr:  # two steps done (the default --checkpoint-every 100 saved none yet): stop
        if line.startswith("{") and json.loads(line)["stage"] == "step" and json.loads(line)["done"] >= 2:
            break
    proc.send_signal(getattr(signal, sig))
    out, err = proc.communicate(timeout=HANG)
    assert proc.returncode == status, err
    assert "Traceback" not in err and out == ""
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    stopped = next(e for e in events if e["stage"] == "interrupted")
    saved = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert saved["step"] == stopped["done"] >= 2 and train_steps(run_dir)[-1] == saved["step"]
    r = cli("finetune", "--resume", "--run-dir", str(run_dir), "--steps", str(saved["step"] + 1), "-q")
    assert r.exit_code == 0, r.output
    assert train_steps(run_dir) == list(range(1, saved["step"] + 2))


def test_a_run_whose_gradient_vanished_stops_with_a_one_line_error(stems_dir, tmp_path):
    """A mask saturated everywhere (the output layer's bias at +100: the sigmoid is exactly 1, its slope exactly 0)
    passes no gradient to any weight. The run stops after COLLAPSE_STEPS such steps with a one-line error that says
    what to do, instead of spending its budget; a healthy start with the same settings is not stopped."""
    import json

    from vocal_remover.train.checkpoint import save_checkpoint
    from vocal_remover.train.loop import COLLAPSE_STEPS

    Trainer(_config(stems_dir, tmp_path / "start", steps=1)).run()
    state = load_checkpoint(tmp_path / "start" / "checkpoints" / "last.pt")
    (bias,) = [k for k in state["model"] if k.endswith("out.bias")]
    saturated = dict(state, model={**state["model"], bias: torch.full_like(state["model"][bias], 100.0)})
    save_checkpoint(saturated, tmp_path / "saturated.pt")

    def args(start, run_dir):
        return ["finetune", "--checkpoint", str(start), "--data", str(stems_dir), "--cropsizes", "32",
                "--batch-size", "2", "--warmup", "1", "--samples-per-epoch", "8", "--val-every", "0",
                "--checkpoint-every", "20", "--device", "cpu", "--precision", "fp32",
                "--steps", str(COLLAPSE_STEPS + 20), "--lr", "1e-3", "--run-dir", str(run_dir), "-q"]

    run_dir = tmp_path / "dead"
    r = cli(*args(tmp_path / "saturated.pt", run_dir))
    assert r.exit_code == 1 and r.stderr.count("\n") == 1, r.output
    assert "exactly 0 since step 1" in r.stderr and "lower --lr" in r.stderr and "Traceback" not in r.output
    assert train_steps(run_dir) == list(range(1, COLLAPSE_STEPS + 1))
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["kind"] == "collapsed" and records[-1]["since_step"] == 1
    grads = [r["grad_norm"] for r in records if r["kind"] == "train"]
    assert grads == [0.0] * COLLAPSE_STEPS
    # The checkpoints saved while it was dead stay (they are what the run was); none is saved at the stop.
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == 40

    healthy = tmp_path / "healthy"
    r = cli(*args(tmp_path / "start" / "checkpoints" / "last.pt", healthy))
    assert r.exit_code == 0, r.output
    assert train_steps(healthy)[-1] == COLLAPSE_STEPS + 20


def test_a_run_folder_in_use_is_refused_unless_overwritten(stems_dir, tmp_path):
    run_dir = tmp_path / "run"
    assert cli(*tiny_args(stems_dir, run_dir, "--steps", "2", "-q")).exit_code == 0
    (run_dir / "checkpoints" / "last.pt").unlink()  # as if stopped before its first checkpoint: still a run
    r = cli(*tiny_args(stems_dir, run_dir, "--steps", "3", "-q"))
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "--overwrite" in r.stderr, r.output
    assert train_steps(run_dir) == [1, 2]  # nothing appended
    r = cli("finetune", "--resume", "--run-dir", str(run_dir))
    assert r.exit_code == 2 and "--overwrite" in r.stderr, r.output
    r = cli(*tiny_args(stems_dir, run_dir, "--steps", "3", "--overwrite", "-q"))
    assert r.exit_code == 0, r.output
    assert train_steps(run_dir) == [1, 2, 3]  # a new run, not appended to the old one


def test_resume_takes_allowed_changes_and_refuses_the_others(stems_dir, tmp_path):
    run_dir = tmp_path / "run"
    assert cli(*tiny_args(stems_dir, run_dir, "--steps", "3", "-q")).exit_code == 0
    resume = ["finetune", "--resume", "--run-dir", str(run_dir), "-q"]
    for extra, option in ((["--lr", "0.1"], "--lr 0.1"), (["--cropsizes", "64"], "--cropsizes 64"),
                          (["--preset", "small"], "--preset"), (["--seed", "9"], "--seed 9"),
                          (["--batch-size", "3"], "--batch-size 3"), (["--steps", "2"], "--steps 2")):
        r = cli(*resume, *extra)
        assert r.exit_code == 2 and r.stderr.startswith(f"Error: {option}") and r.stderr.count("\n") == 1, r.output
    r = cli(*resume, "--lr", "0.0001", "--batch-size", "2")  # the run's own values: nothing changes
    assert r.exit_code == 0, r.output
    r = cli(*resume, "--steps", "5", "--checkpoint-every", "1")  # more steps: they are trained
    assert r.exit_code == 0, r.output
    assert train_steps(run_dir) == [1, 2, 3, 4, 5]
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("step-*.pt")) == [
        "step-00000003.pt", "step-00000004.pt", "step-00000005.pt"]


def test_a_moved_run_folder_resumes_where_it_is_now(stems_dir, tmp_path):
    """A run folder copied or moved elsewhere (another disk, a backup) resumes in its new place: the
    checkpoints and metrics go there, and the folder it came from is left as it was."""
    import json
    import shutil

    old, new = tmp_path / "old", tmp_path / "moved"
    assert cli(*tiny_args(stems_dir, old, "--steps", "2", "-q")).exit_code == 0
    shutil.copytree(old, new)
    before = sorted(p.name for p in old.rglob("*"))
    r = cli("finetune", "--resume", "--run-dir", str(new), "--steps", "4", "--checkpoint-every", "1", "-q")
    assert r.exit_code == 0, r.output
    assert train_steps(new) == [1, 2, 3, 4]
    assert (new / "checkpoints" / "step-00000004.pt").is_file()
    assert sorted(p.name for p in old.rglob("*")) == before and train_steps(old) == [1, 2]
    assert json.loads((new / "config.json").read_text())["train"]["run_dir"] == str(new)


def test_a_run_resumes_with_its_data_in_a_new_place_and_refuses_other_data(stems_dir, tmp_path):
    """A dataset moved after training started: the resume names its new place with --data; the same data
    there continues the run exactly, other data or another number of folders is a one-line error."""
    import shutil

    data = tmp_path / "stems"
    shutil.copytree(stems_dir, data)
    run, straight = tmp_path / "run", tmp_path / "straight"
    assert cli(*tiny_args(data, straight, "--steps", "2", "-q")).exit_code == 0
    assert cli("finetune", "--resume", "--run-dir", str(straight), "--steps", "4", "-q").exit_code == 0
    assert cli(*tiny_args(data, run, "--steps", "2", "-q")).exit_code == 0
    moved = tmp_path / "moved-stems"
    data.rename(moved)
    resume = ["finetune", "--resume", "--run-dir", str(run), "--steps", "4", "-q"]

    r = cli(*resume)
    assert r.exit_code == 2 and r.stderr.count("\n") == 1, r.output
    assert r.stderr.startswith(f"Error: the run's --data {data}: is not there; if it moved, give the new places "
                               "with --data"), r.output
    other = tmp_path / "other"
    shutil.copytree(moved, other)
    sf.write(other / "track0" / "vocals.wav", make_music(3.0, seed=99) * 0.5, 44100)
    r = cli(*resume, "--data", str(other))
    assert r.exit_code == 2 and "is not the data this run trained on" in r.stderr, r.output
    assert r.stderr.count("\n") == 1 and train_steps(run) == [1, 2]
    r = cli(*resume, "--data", str(moved), "--data", str(other))
    assert r.exit_code == 2 and "for its own folders only, in its order" in r.stderr, r.output

    r = cli(*resume, "--data", str(moved))
    assert r.exit_code == 0, r.output
    assert train_steps(run) == [1, 2, 3, 4]
    a = torch.load(run / "checkpoints" / "last.pt", weights_only=False)["model"]
    b = torch.load(straight / "checkpoints" / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in b)  # the same as resuming where the data was


def test_settings_that_cannot_work_are_refused_or_warned(stems_dir, tmp_path):
    r = cli(*tiny_args(stems_dir, tmp_path / "a", "--steps", "2", "--warmup", "100", "--progress", "none"))
    assert r.exit_code == 0, r.output
    assert "Note: --warmup 100 is longer than the run (--steps 2): the learning rate never gets above 2% of --lr" \
        in r.stderr
    for extra, message in ((["--cropsizes", "512"], "--cropsizes 512: above the model's max_cropsize 256"),
                           (["--precision", "fp16"], "--precision fp16: not supported for training on the CPU")):
        r = cli(*tiny_args(stems_dir, tmp_path / "b", "--steps", "2", *extra))
        assert r.exit_code == 2 and r.stderr.startswith(f"Error: {message}"), r.output
    assert not (tmp_path / "b").exists()


def test_training_precision_hint_names_the_faster_precision_for_this_cpu(stems_dir, tmp_path, monkeypatch):
    """On a CPU with native bf16, `auto` (fp32) training gets a hint that bf16 is faster; on one without, an
    explicit bf16 gets a hint that it is emulated. Checked for this machine's CPU through the CLI, and for both
    kinds of CPU through the flags the hint reads."""
    from vocal_remover import device

    r = cli(*tiny_args(stems_dir, tmp_path / "a", "--steps", "1"))
    assert r.exit_code == 0, r.output
    assert ("Note: this CPU computes bf16 natively: --precision bf16 trains about 1.7-2x faster" in r.stderr) \
        == device.cpu_has_native_bf16()
    cpu = torch.device("cpu")
    for flags, auto_hint, bf16_hint in ((frozenset({"avx2", "fma"}), False, True),
                                        (frozenset({"avx2", "avx512f", "avx512_bf16"}), True, False),
                                        (frozenset({"avx512f", "amx_tile", "amx_bf16"}), True, False)):
        monkeypatch.setattr(device, "_cpu_flags", lambda flags=flags: flags)
        assert (device.training_precision_note(cpu, "auto") is not None) == auto_hint
        assert (device.training_precision_note(cpu, "bf16") is not None) == bf16_hint
        assert device.training_precision_note(cpu, "fp32") is None
        assert device.training_precision_note(torch.device("cuda"), "auto") is None


@pytest.mark.slow
def test_compiled_training_on_the_cpu_matches_eager(stems_dir, tmp_path, monkeypatch):
    """`--compile` on the CPU trains (torch 2.13's inductor used to fail on dynamic shapes, then segfault in the
    channels-last backward of the (k, 1) convolutions) and ends where the eager run does. A two-level model without
    dropout (the compiled graph draws its own random numbers) keeps the compile time down; the inductor cache is
    this test's own, so nothing compiled earlier is reused."""
    from vocal_remover.model import get_preset

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    model = {**get_preset("tiny").to_dict(), "depth": 2, "num_res_encoders": 1, "num_res_decoders": 1, "dropout": 0.0}
    runs = {}
    for name, compiled in (("eager", False), ("compiled", True)):
        Trainer(_config(stems_dir, tmp_path / name, model=model, steps=2, checkpoint_every=1, compile=compiled)).run()
        runs[name] = [load_checkpoint(tmp_path / name / "checkpoints" / f"step-{s:08d}.pt")["model"] for s in (1, 2)]

    def largest_difference(a, b):
        return max((a[k] - b[k]).abs().max().item() for k in a if a[k].is_floating_point())

    step = largest_difference(runs["eager"][0], runs["eager"][1])  # what one optimizer step moves
    apart = largest_difference(runs["eager"][1], runs["compiled"][1])
    print(f"one step moves weights by up to {step:.2e}; compiled and eager end {apart:.2e} apart")
    assert step > 0 and apart < 0.05 * step


def test_progress_when_not_on_a_terminal(stems_dir, tmp_path):
    """A log file (no terminal) gets plain status lines; JSON progress has separate's keys."""
    import json

    r = cli(*tiny_args(stems_dir, tmp_path / "a", "--steps", "3"))
    assert r.exit_code == 0, r.output
    lines = r.stderr.splitlines()
    steps = [line for line in lines if line.startswith("step ")]
    # the first and the last step always; others every --status-every seconds (30 by default)
    assert steps[0].startswith("step 1/3  loss ") and steps[-1].startswith("step 3/3  loss ")
    assert all(" lr " in line and " s/step  ETA " in line for line in steps)
    assert lines[-1].startswith("Done: 3 steps")
    r = cli(*tiny_args(stems_dir, tmp_path / "b", "--steps", "2", "--progress", "json"))
    events = [json.loads(line) for line in r.stderr.splitlines()]
    assert all({"stage", "done", "total"} <= set(e) for e in events)
    assert [(e["stage"], e["done"], e["total"]) for e in events if e["stage"] in ("step", "done")] == [
        ("step", 1, 2), ("step", 2, 2), ("done", 2, 2)]


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


def test_a_run_folder_deleted_under_a_live_run_is_a_one_line_error(stems_dir, tmp_path):
    import shutil

    from vocal_remover.errors import ConfigError

    run = tmp_path / "gone"

    def delete_at_step_one(event):
        if event.kind == "step" and event.step == 1:
            shutil.rmtree(run)

    with pytest.raises(ConfigError, match="was removed while training"):
        Trainer(_config(stems_dir, run), callback=delete_at_step_one).run()
    assert not run.exists()  # nothing was re-created half-way

    # Through the CLI, in its own process: delete the folder once the first checkpoint is there.
    import subprocess
    import sys
    import time

    args = tiny_args(stems_dir, run, "--steps", "100000", "--checkpoint-every", "5", "--progress", "none")
    proc = subprocess.Popen([sys.executable, "-m", "vocal_remover", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + HANG
    while not (run / "checkpoints" / "last.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    # The live run may write a file between rmtree's listing and its rmdir (ENOTEMPTY), as a
    # user's `rm -rf` can race too: delete until the folder is gone.
    while run.exists() and time.monotonic() < deadline:
        shutil.rmtree(run, ignore_errors=True)
    assert not run.exists()
    out, err = proc.communicate(timeout=HANG)
    assert proc.returncode not in (0, None), err
    assert "was removed while training" in err and "Traceback" not in err, err
    assert not run.exists()


def test_decay_to_start_holds_finetuning_near_its_checkpoint_and_resumes_exactly(stems_dir, tmp_path):
    """--decay-to-start (L2-SP): at the same seed, data and steps the finetuned weights end much nearer the
    starting checkpoint than with no weight decay at all, and a run stopped and resumed ends where an
    uninterrupted one does (the pull's target is rebuilt from --checkpoint)."""
    from vocal_remover.errors import ConfigError

    Trainer(_config(stems_dir, tmp_path / "start", steps=2)).run()
    start_path = tmp_path / "start" / "checkpoints" / "last.pt"
    start = load_checkpoint(start_path)["model"]
    common = dict(init_from=str(start_path), lr=1e-3, weight_decay=300.0, seed=5)

    def distance(run):
        end = load_checkpoint(tmp_path / run / "checkpoints" / "last.pt")["model"]
        return sum(float((end[k].float() - v.float()).square().sum()) for k, v in start.items()
                   if v.is_floating_point() and "running" not in k) ** 0.5

    Trainer(_config(stems_dir, tmp_path / "plain", **{**common, "weight_decay": 0.0})).run()
    Trainer(_config(stems_dir, tmp_path / "anchored", decay_to_start=True, **common)).run()
    assert 0 < distance("anchored") < 0.6 * distance("plain")

    def stop_after_three(event):
        if event.kind == "step" and event.step == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        Trainer(_config(stems_dir, tmp_path / "resumed", decay_to_start=True, **common), callback=stop_after_three).run()
    Trainer(_config(stems_dir, tmp_path / "resumed", decay_to_start=True, **common), resume=True).run()
    a = load_checkpoint(tmp_path / "anchored" / "checkpoints" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pt")["model"]
    for name, tensor in a.items():
        assert torch.equal(tensor, b[name]), name

    with pytest.raises(ConfigError, match="--decay-to-start"):
        _config(stems_dir, tmp_path / "none", decay_to_start=True)
