"""The networks: exact seed sizes, shapes, relative positions, norms, configs."""

from __future__ import annotations

import pytest
import torch

from vocal_remover.errors import ConfigError
from vocal_remover.model import PRESETS, ModelConfig, build_model, count_parameters
from vocal_remover.model.attention import MultibandFrameAttention, relative_index
from vocal_remover.model.layers import FrameNorm


def test_seed_presets_have_the_readme_parameter_counts():
    # Built on the meta device: no memory, same parameter shapes.
    with torch.device("meta"):
        assert count_parameters(build_model("seed-150m")) == 150_617_664
        assert count_parameters(build_model("seed-121m")) == 121_503_734


def test_seed_150m_breakdown_matches_the_design_doc():
    with torch.device("meta"):
        model = build_model("seed-150m")
    primer = sum(count_parameters(m) for level in model.primer_decoders for m in level)
    assert primer == 150_614_218
    assert count_parameters(model) - primer == 3_446
    assert sum(len(level) for level in model.primer_decoders) == 20


@pytest.mark.parametrize("name", ["tiny", "small", "frame-resnet"])
def test_mask_shape_and_range(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    cfg = model.config
    width = 24
    x = torch.rand(2, 2, cfg.num_bins, width)
    with torch.no_grad():
        mask = model(x)
    assert mask.shape == (2, cfg.out_channels, cfg.num_bins, width)
    assert torch.isfinite(mask).all()
    assert 0 < mask.min() and mask.max() < 1


def test_frame_norm_variant_runs_on_windows_shorter_than_max_cropsize():
    cfg = PRESETS["tiny"].replace(norm="frame")
    model = build_model(cfg).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 2, cfg.num_bins, 40)).shape[-1] == 40
        with pytest.raises(ValueError, match="max_cropsize"):
            model(torch.rand(1, 2, cfg.num_bins, cfg.max_cropsize + 2))


def test_frame_norm_normalises_each_frame_over_bins_and_channels():
    norm = FrameNorm(16)
    x = torch.randn(3, 4, 10, 16) * 5 + 2
    y = norm(x)
    assert torch.allclose(y.mean(dim=(1, 2)), torch.zeros(3, 16), atol=1e-5)
    assert torch.allclose(y.var(dim=(1, 2), unbiased=False), torch.ones(3, 16), atol=1e-3)
    # Same as the seed's InstanceNorm2d(cropsize, affine=True) on x.transpose(1, 3).
    ref = torch.nn.InstanceNorm2d(16, affine=True)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-1, 1)
        ref.weight.copy_(norm.weight)
        ref.bias.copy_(norm.bias)
    assert torch.allclose(norm(x), ref(x.transpose(1, 3)).transpose(1, 3), atol=1e-5)


def test_relative_index_clips_offsets_to_the_table():
    idx = relative_index(6, 8, torch.device("cpu"))
    assert idx[0, 0] == 4 and idx[0, 1] == 5 and idx[1, 0] == 3
    assert idx[0, 5] == 7  # offset +5 clipped to +3
    assert idx[5, 0] == 0  # offset -5 clipped to -4
    # Depends only on j - i.
    assert torch.equal(idx[1:, 1:], idx[:-1, :-1])


def test_attention_scores_shift_with_the_input():
    """Shifting the frames by k shifts the pre-softmax scores by k (the position term is relative)."""
    torch.manual_seed(0)
    dim, width, k = 32, 40, 7
    attn = MultibandFrameAttention(dim, num_bands=4, max_cropsize=128).eval()
    seq = torch.randn(1, width + k, dim)
    with torch.no_grad():
        _, s1 = attn(seq[:, :width])
        _, s2 = attn(seq[:, k:k + width])
    # Away from the edges (the depthwise conv sees zero padding there): s2[i, j] == s1[i + k, j + k].
    inner1 = s1[..., k + 1:width - 1, k + 1:width - 1]
    inner2 = s2[..., 1:width - k - 1, 1:width - k - 1]
    assert torch.allclose(inner1, inner2, atol=1e-5)
    # And the position term matters: zeroing the table changes the scores.
    with torch.no_grad():
        attn.rel_table.zero_()
        _, s3 = attn(seq[:, :width])
    assert (s3 - s1).abs().max() > 1e-3


def test_attention_scores_chain_realformer_style():
    torch.manual_seed(0)
    attn = MultibandFrameAttention(16, num_bands=2, max_cropsize=32).eval()
    x = torch.randn(2, 10, 16)
    prev = torch.randn(2, 2, 10, 10)
    with torch.no_grad():
        _, plain = attn(x)
        _, chained = attn(x, prev_scores=prev)
    assert torch.allclose(chained, plain + prev, atol=1e-6)


def test_export_safe_attention_matches_the_default_path():
    """Exports gather from the whole position table instead of the window's slice: the same scores and output."""
    from vocal_remover.model.attention import make_export_safe

    torch.manual_seed(0)
    attn = MultibandFrameAttention(16, num_bands=2, max_cropsize=32).eval()
    for width in (3, 16, 40):  # shorter than, half of and longer than max_cropsize
        x = torch.randn(2, width, 16)
        with torch.no_grad():
            out, scores = attn(x)
            safe_out, safe_scores = make_export_safe(attn)(x)
        attn.export_safe = False
        assert torch.allclose(safe_scores, scores, atol=1e-6) and torch.allclose(safe_out, out, atol=1e-6)


def test_score_chain_is_shared_across_levels():
    """One encoder chain: the deepest primer encoder receives the scores of the first level."""
    torch.manual_seed(0)
    model = build_model("tiny").eval()
    seen = []
    for level in model.primer_encoders:
        for primer in level:
            primer.register_forward_pre_hook(lambda m, args: seen.append(args[1]))
    with torch.no_grad():
        model(torch.rand(1, 2, model.config.num_bins, 16))
    assert seen[0] is None
    assert all(s is not None and s.shape == (1, 2, 16, 16) for s in seen[1:])


@pytest.mark.parametrize("field,value,message", [
    ("depth", 12, "halved"),
    ("num_bands", 3, "num_bands"),
    ("norm", "layer", "norm"),
    ("arch", "unet", "arch"),
    ("channels", 0, "positive"),
    ("dropout", 1.5, "dropout"),
])
def test_invalid_configs_name_the_bad_value(field, value, message):
    with pytest.raises(ConfigError, match=message):
        PRESETS["tiny"].replace(**{field: value})


def test_config_round_trips_through_a_dict():
    cfg = PRESETS["seed-121m"]
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown field"):
        ModelConfig.from_dict({**cfg.to_dict(), "heads": 3})


def test_backward_pass_reaches_every_parameter():
    torch.manual_seed(0)
    model = build_model("tiny").train()
    x = torch.rand(2, 2, model.config.num_bins, 16)
    model(x).mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []
