"""Model folders: round trip, half precision, strict loading."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from vocal_remover.artifacts import load_model_folder, read_model_config, save_model_folder
from vocal_remover.errors import ModelError
from vocal_remover.model import build_model


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model("tiny").eval()


def _x(model):
    torch.manual_seed(1)
    return torch.rand(1, 2, model.config.num_bins, 32)


def test_round_trip_gives_bitwise_equal_outputs(tiny, tmp_path):
    folder = save_model_folder(tiny, tmp_path / "m", trained=False, training={"preset": "tiny"})
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    loaded = load_model_folder(folder)
    with torch.no_grad():
        assert torch.equal(tiny(_x(tiny)), loaded.model(_x(tiny)))
    assert loaded.config == tiny.config
    assert loaded.trained is False
    meta = json.loads((folder / "config.json").read_text())
    assert meta["format_version"] == 1 and meta["model"]["sample_rate"] == 44100
    assert "random weights" in (folder / "README.md").read_text()
    # Nothing temporary left beside it.
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_half_precision_weights_load_as_float32(tiny, tmp_path):
    folder = save_model_folder(tiny, tmp_path / "h", trained=True, half=True)
    stored = load_file(folder / "model.safetensors")
    # matrices and kernels float16; vectors (biases, norm scales and statistics) float32
    assert all(t.dtype == (torch.float16 if t.dim() >= 2 else torch.float32) for t in stored.values()
               if t.is_floating_point())
    loaded = load_model_folder(folder)
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    with torch.no_grad():
        diff = (tiny(_x(tiny)) - loaded.model(_x(tiny))).abs().max().item()
    assert diff < 1e-2


def test_existing_folder_is_not_overwritten_unless_asked(tiny, tmp_path):
    folder = save_model_folder(tiny, tmp_path / "m", trained=False)
    with pytest.raises(ModelError, match="already exists"):
        save_model_folder(tiny, folder, trained=False)
    save_model_folder(tiny, folder, trained=True, overwrite=True)
    assert load_model_folder(folder).trained is True
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


@pytest.fixture
def folder(tiny, tmp_path):
    return save_model_folder(tiny, tmp_path / "m", trained=False)


def _edit_config(folder, **changes):
    meta = json.loads((folder / "config.json").read_text())
    for key, value in changes.items():
        if key.startswith("model."):
            meta["model"][key[6:]] = value
        else:
            meta[key] = value
    (folder / "config.json").write_text(json.dumps(meta))


def test_unknown_format_version_is_refused(folder):
    _edit_config(folder, format_version=99)
    with pytest.raises(ModelError, match="unsupported format_version 99"):
        load_model_folder(folder)


def test_shape_mismatch_is_refused(folder):
    _edit_config(folder, **{"model.feedforward_dim": 96})
    with pytest.raises(ModelError, match="shape mismatch for .*linear1.weight"):
        load_model_folder(folder)


def test_missing_and_unexpected_tensors_are_refused(folder):
    state = load_file(folder / "model.safetensors")
    name = next(iter(state))
    del state[name]
    state["extra.weight"] = torch.zeros(3)
    save_file(state, folder / "model.safetensors")
    with pytest.raises(ModelError, match="1 missing .*1 unexpected"):
        load_model_folder(folder)


def test_missing_files_and_corrupt_weights_are_clear_errors(folder):
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="unreadable weights"):
        load_model_folder(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="model.safetensors is missing"):
        load_model_folder(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="unreadable"):
        read_model_config(folder)
    (folder / "config.json").unlink()
    with pytest.raises(ModelError, match="config.json is missing"):
        read_model_config(folder)


def test_invalid_model_config_is_a_model_error(folder):
    _edit_config(folder, **{"model.num_bands": 3})
    with pytest.raises(ModelError, match="invalid model config"):
        load_model_folder(folder)


def test_saved_folder_has_the_permissions_the_umask_allows(tiny, tmp_path):
    """Temporary files are created private (mkdtemp, safetensors); a saved model is readable by others."""
    import os

    old = os.umask(0o022)
    try:
        folder = save_model_folder(tiny, tmp_path / "shared", trained=False)
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o755
    assert {p.stat().st_mode & 0o777 for p in folder.iterdir()} == {0o644}
