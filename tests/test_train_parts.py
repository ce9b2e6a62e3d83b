"""Training building blocks that need no data: schedule, strategies, checkpoints, sources, config."""

from __future__ import annotations

import pytest
import torch

from vocal_remover.errors import ConfigError, ModelError
from vocal_remover.model import PRESETS, build_model
from vocal_remover.train.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from vocal_remover.train.config import TrainConfig
from vocal_remover.train.schedule import lr_at
from vocal_remover.train.strategies import param_groups


def test_schedule_warms_up_then_decays_to_the_floor():
    kw = dict(peak=1e-3, floor=1e-6, warmup=10, total=110, power=2.0)
    assert lr_at(0, **kw) == pytest.approx(1e-4)
    assert lr_at(9, **kw) == pytest.approx(1e-3)
    assert lr_at(10, **kw) == pytest.approx(1e-3)
    # Halfway through the decay span: floor + (peak - floor) * 0.5^2.
    assert lr_at(60, **kw) == pytest.approx(1e-6 + (1e-3 - 1e-6) * 0.25)
    assert lr_at(110, **kw) == pytest.approx(1e-6)
    assert lr_at(500, **kw) == pytest.approx(1e-6)
    values = [lr_at(s, **kw) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def _trainable(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


def test_strategies_select_the_right_parameters():
    model = build_model("tiny")
    names = {n for n, _ in model.named_parameters()}
    param_groups(model, "full", 1e-4, 0.01)
    assert _trainable(model) == names
    param_groups(model, "freeze-encoders", 1e-4, 0.01)
    assert not any(n.startswith(("encoders.", "primer_encoders.")) for n in _trainable(model))
    assert any(n.startswith("decoders.") for n in _trainable(model))
    param_groups(model, "transformer-only", 1e-4, 0.01)
    assert _trainable(model) and all(n.startswith(("primer_encoders.", "primer_decoders.")) for n in _trainable(model))
    param_groups(model, "last-n-decoders", 1e-4, 0.01, last_n=1)
    assert _trainable(model) == {n for n in names if n.startswith(("primer_decoders.0.", "out."))}
    groups = param_groups(model, "llrd", 1e-4, 0.01, llrd_decay=0.5)
    lrs = sorted({g["lr"] for g in groups})
    assert lrs[-1] == pytest.approx(1e-4) and lrs[0] == pytest.approx(1e-4 * 0.5 ** (len(lrs) - 1))
    assert _trainable(model) == names
    with pytest.raises(ConfigError, match="last-n"):
        param_groups(model, "last-n-decoders", 1e-4, 0.01, last_n=9)
    param_groups(model, "freeze-linear", 1e-4, 0.01)
    frozen = {f"{name}.{p}" for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)
              and ("attn." in name or ".ffn." in name) for p, _ in m.named_parameters()}
    # 3 levels, each with a primer encoder (4 projections; FFN: 2 weights, 2 biases) and a decoder (8 projections, FFN 4)
    assert len(frozen) == 3 * (8 + 12)
    assert _trainable(model) == names - frozen
    assert any(".bottleneck.linear." in n for n in _trainable(model))  # the 1 x C channel mixers are not frozen
    assert "out.weight" in _trainable(model) and any(n.startswith("encoders.0.") for n in _trainable(model))
    assert any(n.endswith("rel_table") for n in _trainable(model))


def test_checkpoint_round_trip_and_errors(tmp_path):
    model = build_model("tiny")
    path = save_checkpoint({"model_config": model.config.to_dict(), "model": model.state_dict(), "step": 3},
                           tmp_path / "c.pt")
    state = load_checkpoint(path)
    assert state["step"] == 3
    again = model_from_checkpoint(state)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="not a readable"):
        load_checkpoint(tmp_path / "bad.pt")
    torch.save({"hello": 1}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="not a vocal-remover"):
        load_checkpoint(tmp_path / "other.pt")


def test_resolve_source_tells_runs_checkpoints_and_folders_apart(tmp_path):
    from vocal_remover.artifacts import save_model_folder
    from vocal_remover.train.source import resolve_source

    torch.manual_seed(0)
    tiny = build_model("tiny").eval()
    state = {"model_config": tiny.config.to_dict(), "model": tiny.state_dict(), "step": 0}
    save_checkpoint(state, tmp_path / "run" / "checkpoints" / "last.pt")
    run = resolve_source(tmp_path / "run")  # no best.pt yet: falls back to last.pt
    assert (run.kind, run.path.name) == ("run", "last.pt") and run.model_config() == tiny.config
    loaded = run.load()
    assert not loaded.trained and loaded.training == {"source": str(run.path), "steps": 0}  # step 0: untrained
    checkpoint = resolve_source(str(run.path))
    assert (checkpoint.kind, checkpoint.path) == ("checkpoint", run.path)
    folder = save_model_folder(tiny, tmp_path / "m", trained=True)
    source = resolve_source(folder)
    assert source.kind == "folder" and source.model_config() == tiny.config
    loaded = source.load()
    assert loaded.trained and loaded.training == {"source": str(folder)}
    assert all(torch.equal(v, tiny.state_dict()[k]) for k, v in loaded.model.state_dict().items())

    (tmp_path / "m.onnx").write_bytes(b"onnx")
    with pytest.raises(ModelError, match="ONNX export cannot be exported again or trained from"):
        resolve_source(tmp_path / "m.onnx")
    with pytest.raises(ModelError, match="no such file or folder"):
        resolve_source(tmp_path / "default")  # a Path is never a registry name
    run.path.unlink()
    with pytest.raises(ModelError, match="no best.pt or last.pt"):
        resolve_source(tmp_path / "run")


def test_train_config_curriculum_and_validation():
    cfg = TrainConfig(mode="pretrain", data=["x"], run_dir="r", model=PRESETS["tiny"].to_dict(), steps=10,
                      cropsizes=[64, 128, 256], stage_steps=[3, 4], batch_sizes=[4, 2, 1], accum=[1])
    assert [cfg.stage_at(s) for s in range(10)] == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    assert cfg.accum == [1, 1, 1]
    with pytest.raises(ConfigError, match="stage-steps"):
        TrainConfig(mode="pretrain", data=["x"], run_dir="r", model={}, cropsizes=[64, 128], stage_steps=[])
    with pytest.raises(ConfigError, match="batch-sizes"):
        TrainConfig(mode="pretrain", data=["x"], run_dir="r", model={}, cropsizes=[64, 128], stage_steps=[1],
                    batch_sizes=[1, 2, 3])
    with pytest.raises(ConfigError, match="strategy"):
        TrainConfig(mode="finetune", data=["x"], run_dir="r", model={}, strategy="magic")
    for bad in ({"sdr_weight": -1.0}, {"wave_weight": -0.2}, {"spec_weight": -1.0}, {"sdr_floor": 0.0},
                {"sdr_floor": 1.0}):
        with pytest.raises(ConfigError, match="sdr-floor"):
            TrainConfig(mode="finetune", data=["x"], run_dir="r", model={}, **bad)
    with pytest.raises(ConfigError, match="nothing to train on"):
        TrainConfig(mode="finetune", data=["x"], run_dir="r", model={}, spec_weight=0.0, wave_weight=0.0)


def test_activation_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    model = build_model(PRESETS["tiny"].replace(dropout=0.0)).train()
    x = torch.rand(2, 2, model.config.num_bins, 16)
    model(x).square().mean().backward()
    plain = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model.gradient_checkpointing = True
    model(x).square().mean().backward()
    for a, p in zip(plain, model.parameters()):
        assert torch.allclose(a, p.grad, atol=1e-6)
