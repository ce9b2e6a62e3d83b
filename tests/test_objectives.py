"""Training objectives: the network sees what separation shows it; the adversarial objective owns its
discriminator's training and checkpoint state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import make_music
from vocal_remover.artifacts import LoadedModel
from vocal_remover.evaluate import global_sdr
from vocal_remover.model import PRESETS, build_model
from vocal_remover.separator import Separator
from vocal_remover.train.adversarial import DISCRIMINATOR_KEYS, AdversarialObjective
from vocal_remover.train.objectives import PretrainObjective, SupervisedObjective, negative_sdr

CONFIG = PRESETS["tiny"]
SAMPLES = 63 * CONFIG.hop_length  # 64 frames: long enough for the discriminator


def crops() -> np.ndarray:
    """(3, SAMPLES, 2): a loud crop, a quiet one and silence (each item is scaled by its own peak)."""
    music = make_music(1.0, seed=4)
    return np.stack([music[:SAMPLES] * 2.5, music[SAMPLES: 2 * SAMPLES] * 0.01, np.zeros((SAMPLES, 2))]
                    ).astype(np.float32)


def recording_model() -> tuple[torch.nn.Module, list[torch.Tensor]]:
    torch.manual_seed(0)
    model = build_model(CONFIG)
    seen: list[torch.Tensor] = []
    model.register_forward_hook(lambda module, args, out: seen.append(args[0].detach().clone()))
    return model, seen


@torch.no_grad()
def test_training_and_separation_normalise_the_network_input_identically():
    segments = crops()
    model, seen = recording_model()
    separator = Separator(LoadedModel(model=model, config=CONFIG, metadata={"trained": True}), device="cpu",
                          precision="fp32", engine="torch", swap_channels=False, optimize_layout=False)
    separator._instrumental_segments(segments)  # one pass: the network input as given (not also swapped)
    (separating,) = seen
    seen.clear()

    audio = torch.from_numpy(segments.transpose(0, 2, 1).copy())  # (B, C, S), as the datasets give it
    SupervisedObjective(CONFIG)(model, {"mix": audio, "instrumental": audio * 0.5})
    adversarial = AdversarialObjective(SupervisedObjective(CONFIG), lambda_l1=100.0, lr=1e-4,
                                       device=torch.device("cpu"))
    adversarial(model, {"mix": audio, "instrumental": audio * 0.5})
    no_tokens_masked = torch.zeros(len(segments), separating.shape[-1], dtype=torch.long)
    PretrainObjective(CONFIG)(model, {"audio": audio, "token_mode": no_tokens_masked})
    assert len(seen) == 3
    for training in seen:
        assert torch.equal(training, separating)
    assert separating[0].max() == 1.0 and separating[1].max() == 1.0  # each crop scaled by its own peak
    assert torch.equal(separating[2], torch.zeros_like(separating[2]))  # silence stays 0


def test_supervised_target_is_on_the_mixtures_scale():
    """The instrumental is divided by the mixture's peak, not its own: an instrumental at half the
    mixture's level is matched exactly by a mask of one half."""
    audio = torch.from_numpy(crops()[:2].transpose(0, 2, 1).copy())
    objective = SupervisedObjective(CONFIG)
    loss, stats = objective(lambda x: torch.full_like(x, 0.5), {"mix": audio, "instrumental": audio * 0.5})
    assert loss.item() == pytest.approx(0.0, abs=1e-7) and set(stats) == {"spec_l1"}
    loss, _ = objective(lambda x: torch.ones_like(x), {"mix": audio, "instrumental": audio * 0.5})
    assert loss.item() > 0.01


def _trained_adversary(seed: int) -> AdversarialObjective:
    torch.manual_seed(seed)
    objective = AdversarialObjective(SupervisedObjective(CONFIG), lambda_l1=100.0, lr=1e-3,
                                     device=torch.device("cpu"))
    model, _ = recording_model()
    audio = torch.from_numpy(crops()[:2].transpose(0, 2, 1).copy())
    loss, stats = objective(model, {"mix": audio, "instrumental": audio * 0.5})
    loss.backward()
    assert set(stats) == {"spec_l1", "g_adv"} and np.isfinite(loss.item())
    after = objective.after_step()
    assert set(after) == {"d_loss"} and np.isfinite(after["d_loss"])
    return objective


def test_adversarial_objective_keeps_its_state_under_the_checkpoint_keys_of_earlier_runs():
    trained = _trained_adversary(seed=1)
    state = trained.state_dict()
    assert tuple(state) == DISCRIMINATOR_KEYS == ("discriminator", "disc_optimizer", "disc_scaler")
    assert state["disc_optimizer"]["state"]  # the discriminator has taken a step

    fresh = _trained_adversary(seed=2)
    fresh.load_state_dict({"model": {}, "step": 3, **state})  # a whole checkpoint, as the loop passes it
    for name, tensor in trained.discriminator.state_dict().items():
        assert torch.equal(tensor, fresh.discriminator.state_dict()[name]), name
    ours, theirs = fresh.optimizer.state_dict(), trained.optimizer.state_dict()
    assert ours["param_groups"] == theirs["param_groups"]
    for index, moments in theirs["state"].items():
        assert all(torch.equal(value, ours["state"][index][key]) for key, value in moments.items())


def test_plain_objectives_have_no_state_and_no_turn_after_the_step():
    for objective in (PretrainObjective(CONFIG), SupervisedObjective(CONFIG)):
        assert objective.state_dict() == {} and objective.after_step() == {}
        objective.load_state_dict({"model": {}})


def test_validation_loss_of_an_adversarial_run_is_the_supervised_loss():
    audio = torch.from_numpy(crops()[:2].transpose(0, 2, 1).copy())
    batch = {"mix": audio, "instrumental": audio * 0.5}
    model, _ = recording_model()
    model.eval()
    supervised = SupervisedObjective(CONFIG, wave_weight=0.5)
    adversarial = AdversarialObjective(supervised, lambda_l1=100.0, lr=1e-4, device=torch.device("cpu"))
    with torch.no_grad():
        assert torch.equal(adversarial.validation_loss(model, batch), supervised(model, batch)[0])


def test_the_sdr_loss_is_the_evaluation_metric_per_crop():
    """--sdr-weight trains on what `evaluate` reports: each crop's term is minus its global SDR (up to the
    floor of 1e-4 of the mixture's energy), the batch's is their mean, and a crop with silent stems stays finite."""
    rng = np.random.default_rng(0)
    music = torch.from_numpy(crops()[:2].transpose(0, 2, 1).copy())  # loud and quiet crops, (B, C, S)
    estimate = music * 0.9 + 0.05 * music.abs().amax() * torch.from_numpy(rng.standard_normal(music.shape)).float()
    mixture = music * 1.5
    per_crop = [negative_sdr(estimate[i:i + 1], music[i:i + 1], mixture[i:i + 1]).item() for i in range(2)]
    metric = [global_sdr(music[i].T.numpy(), estimate[i].T.numpy()) for i in range(2)]
    assert metric[0] > 10 and metric[1] < 0  # the same noise is small on the loud crop, large on the quiet one
    assert per_crop == pytest.approx([-m for m in metric], abs=0.05)
    assert negative_sdr(estimate, music, mixture).item() == pytest.approx(np.mean(per_crop), abs=1e-4)

    silent = torch.zeros(1, 2, SAMPLES, requires_grad=True)
    value = negative_sdr(silent, torch.zeros(1, 2, SAMPLES), torch.zeros(1, 2, SAMPLES))
    value.backward()
    assert value.item() == 0.0 and torch.isfinite(silent.grad).all()


def test_the_supervised_loss_adds_the_weighted_sdr_term_and_trains_through_it():
    audio = torch.from_numpy(crops()[:2].transpose(0, 2, 1).copy())
    batch = {"mix": audio, "instrumental": audio * 0.5}
    model, _ = recording_model()
    spectral = SupervisedObjective(CONFIG, wave_weight=0.0)
    sdr = SupervisedObjective(CONFIG, wave_weight=0.0, sdr_weight=1e-3)
    both = SupervisedObjective(CONFIG, wave_weight=0.2, sdr_weight=1e-3, sdr_floor=1e-2)
    model.eval()  # no dropout: both calls see the same network
    with torch.no_grad():
        base, _ = spectral(model, batch)
        total, stats = sdr(model, batch)
        mixed, mixed_stats = both(model, batch)
    assert total.item() == pytest.approx(base.item() + 1e-3 * stats["neg_sdr"], rel=1e-5)
    assert set(stats) == {"spec_l1", "neg_sdr"}
    assert mixed.item() == pytest.approx(base.item() + 0.2 * mixed_stats["wave_l1"] + 1e-3 * mixed_stats["neg_sdr"],
                                         rel=1e-5)
    assert mixed_stats["neg_sdr"] > stats["neg_sdr"]  # a higher floor pulls the ratio towards 0 dB
    loss, _ = sdr(model.train(), batch)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_spec_weight_zero_trains_on_the_sdr_term_alone():
    """--spec-weight 0 --sdr-weight W: the loss is W times the crops' mean negative SDR, the spectral L1 is still
    reported, and the gradient is the SDR term's alone."""
    audio = torch.from_numpy(crops()[:2].transpose(0, 2, 1).copy())
    batch = {"mix": audio, "instrumental": audio * 0.5}
    model, _ = recording_model()
    model.eval()
    alone = SupervisedObjective(CONFIG, wave_weight=0.0, sdr_weight=1e-3, spec_weight=0.0)
    both = SupervisedObjective(CONFIG, wave_weight=0.0, sdr_weight=1e-3)
    loss, stats = alone(model, batch)
    assert set(stats) == {"spec_l1", "neg_sdr"} and stats["spec_l1"] > 0
    assert loss.item() == pytest.approx(1e-3 * stats["neg_sdr"], rel=1e-6)
    with torch.no_grad():
        total, total_stats = both(model, batch)
    assert total.item() == pytest.approx(total_stats["spec_l1"] + 1e-3 * total_stats["neg_sdr"], rel=1e-5)
    loss.backward()
    from_alone = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad()
    spectral_only = SupervisedObjective(CONFIG, wave_weight=0.0)
    spectral_only(model, batch)[0].backward()
    from_spectral = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad()
    both(model, batch)[0].backward()
    from_both = [p.grad for p in model.parameters() if p.grad is not None]
    for a, s, b in zip(from_alone, from_spectral, from_both):
        assert torch.allclose(a + s, b, rtol=1e-4, atol=1e-9)
