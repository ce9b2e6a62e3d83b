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
