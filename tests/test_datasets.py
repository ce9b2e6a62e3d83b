"""Training datasets: masking statistics, voxaug arithmetic, determinism across workers, DDP shards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from helpers import MUSDB_VALID, make_music
from torch.utils.data import DataLoader

from vocal_remover.data import (
    AudioCache,
    AugmentConfig,
    EpochSampler,
    PretrainDataset,
    SupervisedDataset,
    ValidationCrops,
    apply_token_masking,
    build_cache,
    sample_token_modes,
)
from vocal_remover.data.augment import (EQ_ANCHORS_HZ, MIXED_VOCAL_BALANCE_DB, add_reverb, band_balance, band_limit,
                                        compress, db_to_gain, equalise, equalise_keeping_level, match_balance,
                                        pan_gains)
from vocal_remover.data.masking import NOISED, SET_TO_ONE, UNCHANGED, UNSELECTED
from vocal_remover.errors import DataError
from vocal_remover.spec import stft

RATE = 44100
W = 32  # frames per training crop in these tests
S = (W - 1) * 1024


def write(path: Path, audio: np.ndarray, rate: int = RATE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, rate, subtype="FLOAT")


def gated_vocal(seconds: float, seed: int) -> np.ndarray:
    """Singing only in the first 30 % of the stem, digital silence after it."""
    v = make_music(seconds, seed=seed)
    v[int(0.3 * len(v)):] = 0
    return v


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> AudioCache:
    root = tmp_path_factory.mktemp("ds")
    for i, sec in enumerate((8.0, 5.0, 6.0)):
        write(root / "mystems" / f"song{i}" / "vocals.wav", gated_vocal(sec, 10 + i))
        write(root / "mystems" / f"song{i}" / "accompaniment.wav", make_music(sec, seed=20 + i))
    write(root / "mypools" / "vocals" / "v.wav", make_music(4.0, seed=30))
    write(root / "mypools" / "instrumentals" / "i.wav", make_music(7.0, seed=31))
    write(root / "mymixes" / "m.wav", make_music(9.0, seed=32))
    out = root / "cache"
    build_cache([root / "mystems", root / "mypools", root / "mymixes"], out)
    return AudioCache.open(out)


# --------------------------------------------------------------------------- masking


def test_token_mode_statistics():
    rng = np.random.default_rng(0)
    modes = np.stack([sample_token_modes(rng, 2048) for _ in range(3000)])  # 32 tokens of 64 frames each
    tokens = modes.reshape(3000, 32, 64)
    assert (tokens == tokens[:, :, :1]).all()  # constant within a token
    tok = tokens[:, :, 0]
    selected = tok > 0
    p_none = 0.8 ** 32
    assert abs(selected.mean() - (0.2 + p_none / 32)) < 0.006  # 96,000 tokens: ~4.5 sigma
    assert selected.any(axis=1).all()
    sel = tok[selected]
    assert abs((sel == SET_TO_ONE).mean() - 0.8) < 0.012
    assert abs((sel == NOISED).mean() - 0.1) < 0.009
    assert abs((sel == UNCHANGED).mean() - 0.1) < 0.009
    # at least one token, even with rate 0; a short last token
    for _ in range(50):
        m = sample_token_modes(rng, 100, 64, rate=0.0)
        assert m.shape == (100,) and len(np.unique(m[[0, 99]] > 0)) >= 1
        assert ((m[:64] > 0).all() and (m[64:] == 0).all()) or ((m[:64] == 0).all() and (m[64:] > 0).all())


def test_token_modes_from_a_torch_generator():
    a = sample_token_modes(300, torch.Generator().manual_seed(3))
    b = sample_token_modes(300, torch.Generator().manual_seed(3))
    assert isinstance(a, torch.Tensor) and a.dtype == torch.int64 and a.shape == (300,)
    assert torch.equal(a, b) and (a > 0).any()
    assert sample_token_modes(300, None).shape == (300,)


def test_pretrain_token_modes_have_the_seeds_rate(cache):
    ds = PretrainDataset(cache, 2048, samples_per_epoch=2000, seed=4)
    tok = np.stack([ds.plan(i)["token_mode"][::64] for i in range(2000)])  # plans read no audio
    assert tok.shape == (2000, 32)
    assert abs((tok > 0).mean() - 0.2) < 0.007
    assert abs((tok[tok > 0] == SET_TO_ONE).mean() - 0.8) < 0.015


def test_apply_token_masking():
    g = torch.Generator().manual_seed(0)
    mag = torch.rand(3, 2, 16, 256, generator=g) * 0.5
    rng = np.random.default_rng(1)
    mode = torch.from_numpy(np.stack([sample_token_modes(rng, 256, 64, 0.5) for _ in range(3)]))
    inp, target, loss_mask = apply_token_masking(mag, mode, torch.Generator().manual_seed(7))
    noise = torch.rand(mag.shape, generator=torch.Generator().manual_seed(7))
    m = mode.view(3, 1, 1, 256).expand_as(mag)
    assert torch.equal(target, mag)
    assert torch.equal(loss_mask, (mode > 0).view(3, 1, 1, 256))
    assert (inp[m == SET_TO_ONE] == 1).all()
    assert torch.equal(inp[(m == UNSELECTED) | (m == UNCHANGED)], mag[(m == UNSELECTED) | (m == UNCHANGED)])
    assert torch.equal(inp[m == NOISED], (mag + noise).clamp(0, 1)[m == NOISED])
    assert (m == NOISED).any() and (m == SET_TO_ONE).any()
    with pytest.raises(ValueError):
        apply_token_masking(mag, mode[:, :10])


# --------------------------------------------------------------------------- pretraining items


def test_pretrain_items_are_mixture_crops_and_deterministic(cache):
    ds = PretrainDataset(cache, W, samples_per_epoch=40, seed=1)
    twin = PretrainDataset(cache, W, samples_per_epoch=40, seed=1)
    swaps, layouts = 0, set()
    for i in range(40):
        item, p = ds[i], ds.plan(i)
        assert item["audio"].shape == (2, S) and item["token_mode"].shape == (W,)
        t = cache.track(p["track"])
        layouts.add(t.layout)
        # mixtures, and instrumental-only pool recordings (music too); never a vocals-only recording
        role = "mixture" if t.has("mixture") else "instrumental"
        assert t.has(role) and (t.layout != "pools" or t.stored == ("instrumental",))
        ref = cache.read(t.id, role, p["start"], S)
        ref = ref[:, ::-1] if p["swap"] else ref
        assert torch.equal(item["audio"], torch.from_numpy(np.ascontiguousarray(ref.T)))
        assert torch.equal(item["audio"], twin[i]["audio"]) and torch.equal(item["token_mode"], twin[i]["token_mode"])
        swaps += p["swap"]
    assert 10 <= swaps <= 30
    assert layouts == {"stems", "pools", "mixes"}
    assert stft(ds[0]["audio"], 2048, 1024).shape[-1] == W  # exactly W centred frames
    ds.set_epoch(1)
    assert not torch.equal(ds[0]["audio"], twin[0]["audio"])
    ds.set_cropsize(64)
    assert ds[0]["audio"].shape == (2, 63 * 1024) and ds[0]["token_mode"].shape == (64,)


# --------------------------------------------------------------------------- supervised items


def expected_item(ds: SupervisedDataset, p: dict) -> tuple[np.ndarray, np.ndarray]:
    """An independent rendering of a plan: what the item must contain."""

    def example(e):
        if e["kind"] == "voxaug":
            i = e["instrumental"]
            inst = i["cache"].read(i["track"], "instrumental", i["start"], ds.segment) * i["gain"]
            voc = np.zeros_like(inst)
            for v in e["vocals"]:
                x = v["cache"].read(v["track"], "vocals", v["start"], ds.segment)
                if "match" in v:
                    x = match_balance(np.ascontiguousarray(x.T, np.float32), v["cache"].sample_rate, v["match"]).T
                if "eq" in v:
                    x = equalise_keeping_level(np.ascontiguousarray(x.T, np.float32), v["cache"].sample_rate,
                                               v["eq"]).T
                if "compress" in v:
                    x = compress(np.ascontiguousarray(x.T, np.float32), v["cache"].sample_rate, **v["compress"]).T
                x = x[:, ::-1] if v["swap"] else x
                x = x * (-v["gain"] if v["invert"] else v["gain"])
                if v["mute"] >= 0:
                    x[:, v["mute"]] = 0
                if "pan" in v:
                    x = x * np.array(v["pan"])
                voc = voc + x
        else:
            inst = e["cache"].read(e["track"], "instrumental", e["start"], ds.segment)
            voc = e["cache"].read(e["track"], "vocals", e["start"], ds.segment)
        if e["swap"]:
            inst, voc = inst[:, ::-1], voc[:, ::-1]
        if e["identity"]:
            voc = 0 * voc
        return inst, voc

    inst, voc = example(p)
    if "mixup" in p:
        lam = p["mixup"]["lam"]
        inst2, voc2 = example(p["mixup"]["other"])
        inst, voc = lam * inst + (1 - lam) * inst2, lam * voc + (1 - lam) * voc2
    return inst, voc


def test_supervised_items_mix_equals_instrumental_plus_vocals(cache):
    ds = SupervisedDataset(cache, W, samples_per_epoch=60, seed=2)
    kinds = {"voxaug": 0, "pair": 0, "mixup": 0, "identity": 0, "two_vocals": 0}
    for i in range(60):
        item, p = ds[i], ds.plan(i)
        assert set(item) == {"mix", "instrumental", "vocals"}
        assert all(v.shape == (2, S) and v.dtype == torch.float32 for v in item.values())
        assert torch.equal(item["mix"], item["instrumental"] + item["vocals"])  # exactly
        inst, voc = expected_item(ds, p)
        np.testing.assert_allclose(item["instrumental"].numpy(), inst.T, atol=2e-6)
        np.testing.assert_allclose(item["vocals"].numpy(), voc.T, atol=2e-6)
        kinds[p["kind"]] += 1
        kinds["mixup"] += "mixup" in p
        kinds["two_vocals"] += p["kind"] == "voxaug" and len(p["vocals"]) == 2
    assert kinds["mixup"] > 10 and kinds["voxaug"] > 50
    # rates of the seed's scheme, from plans (cheap: no audio)
    plans = [ds.plan(i) for i in range(60)] + [SupervisedDataset(cache, W, samples_per_epoch=3000, seed=9).plan(i)
                                              for i in range(3000)]
    vox = np.mean([p["kind"] == "voxaug" for p in plans])
    assert abs(vox - 0.98) < 0.01
    assert abs(np.mean(["mixup" in p for p in plans]) - 0.5) < 0.04
    assert abs(np.mean([p["swap"] for p in plans]) - 0.5) < 0.04
    assert 0.01 < np.mean([p["identity"] for p in plans]) < 0.045
    lams = [p["mixup"]["lam"] for p in plans if "mixup" in p]
    assert abs(np.mean(lams) - 0.5) < 0.04 and abs(np.var(lams) - 0.25 / 1.8) < 0.02  # Beta(0.4, 0.4)


def test_vocal_panning_is_constant_power_and_keeps_the_sum(cache):
    assert pan_gains(0.0) == pytest.approx((1.0, 1.0))
    for pos in (-1.0, -0.3, 0.4, 1.0):
        left, right = pan_gains(pos)
        assert left ** 2 + right ** 2 == pytest.approx(2.0)  # the centre's power, anywhere
    assert pan_gains(-1.0)[1] == pytest.approx(0.0, abs=1e-12) and pan_gains(1.0)[0] == pytest.approx(0.0, abs=1e-12)
    aug = AugmentConfig(vocal_pan_prob=1.0, vocal_pan_width=0.8, mixup_prob=0.0, identity_prob=0.0)
    ds = SupervisedDataset(cache, W, samples_per_epoch=40, seed=4, augment=aug)
    positions = []
    for i in range(40):
        item, p = ds[i], ds.plan(i)
        assert torch.equal(item["mix"], item["instrumental"] + item["vocals"])
        inst, voc = expected_item(ds, p)
        np.testing.assert_allclose(item["vocals"].numpy(), voc.T, atol=2e-6)
        if p["kind"] == "voxaug":
            left, right = p["vocals"][0]["pan"]
            positions.append(right ** 2 - left ** 2)
    assert min(positions) < -0.3 and max(positions) > 0.3  # spread over the stereo field, both sides
    # Off (the default) draws nothing: the plans of existing configurations are unchanged.
    plain = SupervisedDataset(cache, W, samples_per_epoch=40, seed=4)
    assert all("pan" not in v for i in range(40) if plain.plan(i)["kind"] == "voxaug"
               for v in plain.plan(i)["vocals"])
    with pytest.raises(ValueError):
        AugmentConfig(vocal_pan_width=1.5)


def test_vocal_reverb_adds_a_decaying_room_and_keeps_the_sum(cache):
    rate = 44100
    impulse = np.zeros((2, 3 * rate), np.float32)
    impulse[:, 0] = 1.0
    out = add_reverb(impulse, rate, seconds=1.0, wet_gain=0.5, seed=3)
    assert out.shape == impulse.shape and out.dtype == np.float32
    wet = out - impulse
    assert np.sum(wet[0] ** 2) == pytest.approx(0.25, rel=1e-4)  # unit-energy response at the wet gain
    head = np.sqrt(np.mean(wet[0, : rate // 50] ** 2))
    tail = np.sqrt(np.mean(wet[0, rate - rate // 50: rate] ** 2))
    assert 20 * np.log10(tail / head) == pytest.approx(-60, abs=4)  # 60 dB down after `seconds`
    assert abs(np.corrcoef(wet[0, :rate], wet[1, :rate])[0, 1]) < 0.1  # a diffuse room: the channels differ
    np.testing.assert_array_equal(out, add_reverb(impulse, rate, seconds=1.0, wet_gain=0.5, seed=3))

    aug = AugmentConfig(vocal_reverb_prob=1.0, second_vocal_prob=0.0, mixup_prob=0.0, identity_prob=0.0)
    ds = SupervisedDataset(cache, W, samples_per_epoch=30, seed=5, augment=aug)
    checked = 0
    for i in range(30):
        item, p = ds[i], ds.plan(i)
        assert torch.equal(item["mix"], item["instrumental"] + item["vocals"])
        if p["kind"] != "voxaug":
            continue
        room = p["vocals"][0].pop("reverb")
        assert 0.3 <= room["seconds"] <= 1.5 and db_to_gain(-12) <= room["wet_gain"] <= db_to_gain(-3)
        _, dry = expected_item(ds, p)  # the plan without its room
        dry = dry[:, ::-1] if p["swap"] else dry  # the room is the vocal's own, before the whole example's swap
        wet = add_reverb(np.ascontiguousarray(dry.T, np.float32), cache.sample_rate, **room)
        wet = wet[::-1] if p["swap"] else wet
        np.testing.assert_allclose(item["vocals"].numpy(), wet, atol=2e-5)
        checked += 1
    assert checked > 10
    # Off (the default) draws nothing: the plans of existing configurations are unchanged.
    plain = SupervisedDataset(cache, W, samples_per_epoch=30, seed=5)
    assert all("reverb" not in v for i in range(30) if plain.plan(i)["kind"] == "voxaug"
               for v in plain.plan(i)["vocals"])
    with pytest.raises(ValueError):
        AugmentConfig(vocal_reverb_seconds=(0.0, 1.0))


def test_damped_room_dies_away_faster_in_the_highs_and_keeps_the_crops(cache):
    rate = 44100
    impulse = np.zeros((2, 2 * rate), np.float32)
    impulse[:, 0] = 1.0
    wet = add_reverb(impulse, rate, seconds=1.0, wet_gain=0.5, seed=3, damping=0.25) - impulse
    assert np.sum(wet[0] ** 2) == pytest.approx(0.25, rel=1e-4)  # still a unit-energy response at the wet gain
    assert abs(np.corrcoef(wet[0, :rate], wet[1, :rate])[0, 1]) < 0.1

    def fall_db(low_hz, high_hz):  # energy lost in the band from 0.05-0.10 s to 0.20-0.25 s
        def level(a, b):
            seg = wet[0, int(a * rate):int(b * rate)].astype(np.float64)
            freqs = np.fft.rfftfreq(len(seg), 1.0 / rate)
            return 10 * np.log10(np.mean(np.abs(np.fft.rfft(seg))[(freqs >= low_hz) & (freqs < high_hz)] ** 2))
        return level(0.05, 0.10) - level(0.20, 0.25)

    # 60 dB per decay time: 1 s below 500 Hz (9 dB in 0.15 s), 0.25 s above 8 kHz (36 dB), 0.5 s at 1.5-3 kHz.
    assert fall_db(50, 500) == pytest.approx(9.0, abs=2.0)
    assert fall_db(8000, 20000) == pytest.approx(36.0, abs=3.0)
    assert fall_db(1500, 3000) == pytest.approx(18.0, abs=3.0)
    # Undamped (1, the default) is the room it always was.
    np.testing.assert_array_equal(add_reverb(impulse, rate, 1.0, 0.5, 3, damping=1.0),
                                  add_reverb(impulse, rate, 1.0, 0.5, 3))

    common = dict(vocal_reverb_prob=0.7, second_vocal_prob=0.3, mixup_prob=0.0, identity_prob=0.0)
    ds = SupervisedDataset(cache, W, samples_per_epoch=30, seed=6,
                           augment=AugmentConfig(**common, vocal_reverb_damping=(0.2, 0.6)))
    plain = SupervisedDataset(cache, W, samples_per_epoch=30, seed=6, augment=AugmentConfig(**common))
    rooms = 0
    for i in range(30):
        p, q = ds.plan(i), plain.plan(i)
        for v in p.get("vocals", []):
            if "reverb" in v:
                assert 0.2 <= v["reverb"].pop("damping") <= 0.6
                rooms += 1
        assert p == q  # drawn last: the same crops, gains, swaps and rooms otherwise
    assert rooms > 10
    for i in range(30):  # rendered with the damping it drew
        p = ds.plan(i)
        if p["kind"] == "voxaug" and len(p["vocals"]) == 1 and "reverb" in p["vocals"][0]:
            room = p["vocals"][0].pop("reverb")
            _, dry = expected_item(ds, p)
            dry = dry[:, ::-1] if p["swap"] else dry
            expected = add_reverb(np.ascontiguousarray(dry.T, np.float32), cache.sample_rate, **room)
            np.testing.assert_allclose(ds[i]["vocals"].numpy(), expected[::-1] if p["swap"] else expected, atol=2e-5)
            break
    else:
        pytest.fail("no single damped vocal among 30 items")
    for bad in ((0.0, 0.5), (0.5, 1.5), (0.6, 0.2)):
        with pytest.raises(ValueError):
            AugmentConfig(vocal_reverb_damping=bad)


def drawn_vocal_settings(cache, key: str, seed: int, **extra) -> list:
    """Items of a dataset with one per-vocal extra enabled (AugmentConfig(**extra)), checked against an independent
    rendering and against the same seed without it (drawn last: the same crops, gains and swaps); returns the settings
    drawn under `key`, and checks that the extra off (the default) draws nothing."""
    common = dict(second_vocal_prob=0.3, mixup_prob=0.0, identity_prob=0.0)
    ds = SupervisedDataset(cache, W, samples_per_epoch=40, seed=seed, augment=AugmentConfig(**common, **extra))
    plain = SupervisedDataset(cache, W, samples_per_epoch=40, seed=seed, augment=AugmentConfig(**common))
    drawn = []
    for i in range(40):
        p, q = ds.plan(i), plain.plan(i)
        item = ds[i]
        assert torch.equal(item["mix"], item["instrumental"] + item["vocals"])
        inst, voc = expected_item(ds, p)  # renders each vocal's extra
        np.testing.assert_allclose(item["vocals"].numpy(), voc.T, atol=2e-5)
        drawn += [v.pop(key) for v in p.get("vocals", []) if key in v]
        assert p == q
    assert all(key not in v for i in range(40) if plain.plan(i)["kind"] == "voxaug" for v in plain.plan(i)["vocals"])
    return drawn


def test_vocal_compressor_narrows_the_dynamics_keeps_the_level_and_the_crops(cache):
    rate = 44100
    t = np.arange(4 * rate) / rate
    tone = np.sin(2 * np.pi * 220.0 * t)
    envelope = np.where(t < 2.0, 1.0, 0.1)  # a loud phrase, then one 20 dB quieter
    audio = np.stack([tone * envelope, 0.5 * tone * envelope]).astype(np.float32)
    out = compress(audio, rate, threshold_db=-12.0, ratio=4.0, attack_s=0.005, release_s=0.1)
    assert out.shape == audio.shape and out.dtype == np.float32
    assert np.mean(out.astype(np.float64) ** 2) == pytest.approx(np.mean(audio.astype(np.float64) ** 2), rel=1e-4)

    def rms_db(x, a, b):
        return 10 * np.log10(np.mean(x[:, int(a * rate):int(b * rate)].astype(np.float64) ** 2))

    # The static curve: the loud phrase lies 2.96 dB above the crop's RMS, 14.96 dB over the threshold, and a ratio of
    # 4 takes 3/4 of that off; the quiet phrase (17 dB below the RMS) is under the threshold and untouched.
    narrowed = rms_db(out, 0.5, 1.5) - rms_db(out, 2.5, 3.5)
    assert narrowed == pytest.approx(20.0 - 0.75 * (10 * np.log10(2 / 1.01) + 12.0), abs=0.3)
    assert out[1] == pytest.approx(0.5 * out[0], abs=1e-6)  # stereo-linked: the placement is kept
    silent = np.zeros((2, rate), np.float32)
    np.testing.assert_array_equal(compress(silent, rate, -6.0, 4.0, 0.01, 0.1), silent)

    drawn = drawn_vocal_settings(cache, "compress", seed=8, vocal_compress_prob=0.5)
    assert 8 <= len(drawn) <= 35
    for settings in drawn:
        assert -12.0 <= settings["threshold_db"] <= 0.0 and 2.0 <= settings["ratio"] <= 8.0
        assert 0.002 <= settings["attack_s"] <= 0.02 and 0.05 <= settings["release_s"] <= 0.3
    with pytest.raises(ValueError):
        AugmentConfig(vocal_compress_ratio=(0.5, 4.0))
    with pytest.raises(ValueError):
        AugmentConfig(vocal_compress_threshold_db=(0.0, -12.0))


def test_vocal_tone_match_moves_a_voice_towards_the_mixed_balance_and_keeps_the_crops(cache):
    rate = 44100
    t = np.arange(2 * rate) / rate
    for k, f in enumerate(EQ_ANCHORS_HZ):  # a sine at an anchor: all of its energy in that anchor's band
        tone = np.stack([np.sin(2 * np.pi * f * t)] * 2).astype(np.float32)
        assert int(np.argmax(band_balance(tone, rate))) == k and band_balance(tone, rate)[k] > -0.1
    assert band_balance(np.zeros((2, rate), np.float32), rate) is None
    # Noise through a curve 12 dB down at 160 Hz and 10 dB down from 2.5 kHz: far from a mixed vocal in most bands.
    noise = np.random.default_rng(0).standard_normal((2, 4 * rate)).astype(np.float32)
    dark = equalise(noise, rate, [0.0, -12.0, 0.0, 0.0, -10.0, -10.0, -10.0])
    target = np.asarray(MIXED_VOCAL_BALANCE_DB)
    before = np.abs(band_balance(dark, rate) - target)
    out = match_balance(dark, rate, 1.0)
    assert out.shape == dark.shape and out.dtype == np.float32
    assert np.mean(out.astype(np.float64) ** 2) == pytest.approx(np.mean(dark.astype(np.float64) ** 2), rel=1e-4)
    after = np.abs(band_balance(out, rate) - target)
    assert after.mean() < 0.5 * before.mean()  # a full match more than halves the distance to a mixed vocal
    halfway = np.abs(band_balance(match_balance(dark, rate, 0.5), rate) - target)
    assert after.mean() < halfway.mean() < before.mean()
    np.testing.assert_allclose(match_balance(dark, rate, 0.0), dark, atol=1e-5)  # strength 0 changes nothing
    # A band-limited recording's empty top is left alone, not raised by 12 dB of noise.
    narrow = band_limit(noise, rate, 8000.0)
    matched = match_balance(narrow, rate, 1.0)
    spectrum = np.sum(np.abs(np.fft.rfft(matched, axis=1)) ** 2, axis=0)
    freqs = np.fft.rfftfreq(matched.shape[1], 1.0 / rate)
    assert spectrum[freqs > 10500].sum() / spectrum.sum() < 1e-5
    np.testing.assert_array_equal(match_balance(np.zeros((2, rate), np.float32), rate, 1.0), 0.0)

    drawn = drawn_vocal_settings(cache, "match", seed=9, vocal_match_prob=0.5)
    assert 8 <= len(drawn) <= 35 and all(0.5 <= strength <= 1.0 for strength in drawn)
    with pytest.raises(ValueError):
        AugmentConfig(vocal_match_strength=(0.5, 1.5))


def test_vocal_random_tone_reshapes_remixed_voices_only_and_keeps_their_level(cache):
    rate = 44100
    noise = np.random.default_rng(2).standard_normal((2, 2 * rate)).astype(np.float32)
    gains = [-8.0, -8.0, -8.0, 0.0, 8.0, 8.0, 8.0]  # a tilt: flat within the bands compared below
    out = equalise_keeping_level(noise, rate, gains)
    assert out.shape == noise.shape and out.dtype == np.float32
    assert np.mean(out.astype(np.float64) ** 2) == pytest.approx(np.mean(noise.astype(np.float64) ** 2), rel=1e-4)
    moved = band_balance(out, rate) - band_balance(noise, rate)
    assert moved[5] - moved[1] == pytest.approx(16.0, abs=0.5)  # 6.3 kHz raised, 160 Hz lowered, each by 8 dB

    drawn = drawn_vocal_settings(cache, "eq", seed=10, vocal_eq_prob=0.5)
    assert 8 <= len(drawn) <= 35
    assert all(len(curve) == len(EQ_ANCHORS_HZ) and all(-8.0 <= g <= 8.0 for g in curve) for curve in drawn)
    # Real pairs keep their stems: the tone is the remixed vocal's alone (stem_eq_prob shapes every stem).
    ds = SupervisedDataset(cache, W, samples_per_epoch=60, seed=10,
                           augment=AugmentConfig(vocal_eq_prob=1.0, voxaug_prob=0.5, mixup_prob=0.0))
    pairs = [i for i in range(60) if ds.plan(i)["kind"] == "pair"]
    assert pairs and all("eq" not in ds.plan(i) for i in pairs)
    with pytest.raises(ValueError):
        AugmentConfig(vocal_eq_db=(8.0, -8.0))


def test_stem_eq_shapes_each_stem_by_its_own_curve_and_keeps_the_sum(cache):
    rate = 44100
    t = np.arange(2 * rate) / rate
    gains = [-4.0, 2.0, -1.0, 3.0, 0.5, -3.0, 4.0]
    for k, f in enumerate(EQ_ANCHORS_HZ):  # a sine at an anchor comes out at that anchor's gain
        tone = np.stack([np.sin(2 * np.pi * f * t), 0.5 * np.sin(2 * np.pi * f * t)]).astype(np.float32)
        out = equalise(tone, rate, gains)
        assert out.shape == tone.shape and out.dtype == np.float32
        mid = slice(rate // 2, 3 * rate // 2)  # away from the crop's edges
        level = 10 * np.log10(np.sum(out[:, mid] ** 2) / np.sum(tone[:, mid] ** 2))
        assert level == pytest.approx(gains[k], abs=0.1)
    between = np.sqrt(EQ_ANCHORS_HZ[3] * EQ_ANCHORS_HZ[4])  # halfway in log-frequency: the mean of the two gains
    tone = np.sin(2 * np.pi * between * t)[None].astype(np.float32)
    out = equalise(tone, rate, gains)
    level = 10 * np.log10(np.sum(out[:, rate // 2: 3 * rate // 2] ** 2) / np.sum(tone[:, rate // 2: 3 * rate // 2] ** 2))
    assert level == pytest.approx((gains[3] + gains[4]) / 2, abs=0.15)
    noise = np.random.default_rng(0).standard_normal((2, rate)).astype(np.float32)
    np.testing.assert_allclose(equalise(noise, rate, [0.0] * 7), noise, atol=1e-5)  # a flat curve changes nothing
    with pytest.raises(ValueError):
        equalise(noise, rate, [0.0] * 3)

    aug = AugmentConfig(stem_eq_prob=0.5, mixup_prob=0.0, identity_prob=0.0)
    ds = SupervisedDataset(cache, W, samples_per_epoch=40, seed=6, augment=aug)
    seen = {"instrumental": 0, "vocals": 0}
    for i in range(40):
        item, p = ds[i], ds.plan(i)
        assert torch.equal(item["mix"], item["instrumental"] + item["vocals"])
        eq = p.pop("eq", {})
        for stem, curve in eq.items():
            assert len(curve) == 7 and all(-4.0 <= g <= 4.0 for g in curve)
            seen[stem] += 1
        inst, voc = expected_item(ds, p)  # the plan without its equaliser
        if p["swap"]:  # the equaliser acts on the stems before the whole example's swap
            inst, voc = inst[:, ::-1], voc[:, ::-1]
        inst = equalise(np.ascontiguousarray(inst.T, np.float32), cache.sample_rate, eq["instrumental"]) \
            if "instrumental" in eq else inst.T
        voc = equalise(np.ascontiguousarray(voc.T, np.float32), cache.sample_rate, eq["vocals"]) \
            if "vocals" in eq else voc.T
        if p["swap"]:
            inst, voc = inst[::-1], voc[::-1]
        np.testing.assert_allclose(item["instrumental"].numpy(), inst, atol=2e-5)
        np.testing.assert_allclose(item["vocals"].numpy(), voc, atol=2e-5)
    assert 8 <= seen["instrumental"] <= 32 and 8 <= seen["vocals"] <= 32  # each stem on its own, about half the time
    # Off (the default) draws nothing: the plans of existing configurations are unchanged.
    plain = SupervisedDataset(cache, W, samples_per_epoch=40, seed=6)
    assert all("eq" not in plain.plan(i) for i in range(40))
    with pytest.raises(ValueError):
        AugmentConfig(stem_eq_db=(4.0, -4.0))


def test_band_limit_removes_the_highs_of_every_stem_alike_and_keeps_the_rest(cache):
    rate = 44100
    t = np.arange(2 * rate) / rate
    mid = slice(rate // 2, 3 * rate // 2)

    def level(out, tone):
        return 10 * np.log10(np.sum(out[:, mid] ** 2) / np.sum(tone[:, mid] ** 2))

    for f, expected in ((1000.0, 0.0), (7500.0, 0.0), (7800.0, None), (8400.0, -80.0)):
        tone = np.stack([np.sin(2 * np.pi * f * t), 0.3 * np.sin(2 * np.pi * f * t)]).astype(np.float32)
        out = band_limit(tone, rate, 8000.0)
        assert out.shape == tone.shape and out.dtype == np.float32
        if expected == 0.0:  # the pass band is untouched
            assert level(out, tone) == pytest.approx(0.0, abs=0.01)
        elif expected is None:  # inside the transition: between the two
            assert -80.0 < level(out, tone) < -0.1
        else:  # above the cutoff: gone
            assert level(out, tone) < expected
    noise = np.random.default_rng(1).standard_normal((2, rate)).astype(np.float32)
    np.testing.assert_array_equal(band_limit(noise, rate, 30000.0), noise)  # above Nyquist: a copy

    aug = AugmentConfig(band_limit_prob=0.5, band_limit_hz=(4000.0, 16000.0), mixup_prob=0.0)
    ds = SupervisedDataset(cache, W, samples_per_epoch=40, seed=7, augment=aug)
    plain = SupervisedDataset(cache, W, samples_per_epoch=40, seed=7, augment=AugmentConfig(mixup_prob=0.0))
    limited = 0
    for i in range(40):
        p, q = ds.plan(i), plain.plan(i)
        cutoff = p.pop("band_limit", None)
        assert p == q  # drawn last: the same crops, gains and swaps as without it
        item = ds[i]
        assert torch.equal(item["mix"], item["instrumental"] + item["vocals"])
        if cutoff is None:
            reference = plain[i]
            assert all(torch.equal(item[k], reference[k]) for k in item)
            continue
        limited += 1
        assert 4000.0 <= cutoff <= 16000.0
        for stem in ("instrumental", "vocals"):
            spectrum = np.abs(np.fft.rfft(item[stem].numpy(), axis=1)) ** 2
            freqs = np.fft.rfftfreq(item[stem].shape[1], 1.0 / cache.sample_rate)
            total = spectrum.sum()
            if total > 0:  # a stem's energy above the cutoff (and leakage near it) is a tiny fraction
                assert spectrum[:, freqs > cutoff * 1.02].sum() / total < 1e-4
    assert 8 <= limited <= 32
    assert all("band_limit" not in plain.plan(i) for i in range(40))  # off (the default) draws nothing
    with pytest.raises(ValueError):
        AugmentConfig(band_limit_hz=(16000.0, 4000.0))
    with pytest.raises(ValueError):
        AugmentConfig(band_limit_hz=(0.0, 4000.0))


def test_identity_items_have_silent_vocals(cache):
    aug = AugmentConfig(identity_prob=1.0, mixup_prob=0.0)
    ds = SupervisedDataset(cache, W, samples_per_epoch=5, seed=0, augment=aug)
    for i in range(5):
        item = ds[i]
        assert torch.equal(item["mix"], item["instrumental"]) and not item["vocals"].any()


def test_voxaug_vocals_come_from_active_regions(cache):
    # Stems sing in only 30 % of their length; uniform crops would be silent most of the time.
    ds = SupervisedDataset(cache.select(layouts=["stems"]), W, samples_per_epoch=200, seed=3,
                           augment=AugmentConfig.none())
    silent = 0
    for i in range(200):
        p = ds.plan(i)
        v = p["vocals"][0]
        x = v["cache"].read(v["track"], "vocals", v["start"], S)
        silent += np.sqrt(np.mean(x ** 2)) < 10 ** (-50 / 20)
    assert silent <= 4  # a crop reaches into the singing unless the active run is at its very edge


def test_real_pairs_without_voxaug(cache):
    ds = SupervisedDataset(cache, W, samples_per_epoch=20, seed=0, voxaug=False, augment=AugmentConfig.none())
    for i in range(20):
        p, item = ds.plan(i), ds[i]
        assert p["kind"] == "pair" and cache.track(p["track"]).layout == "stems"
        voc = cache.read(p["track"], "vocals", p["start"], S)
        inst = cache.read(p["track"], "instrumental", p["start"], S)
        assert torch.equal(item["vocals"], torch.from_numpy(np.ascontiguousarray(voc.T)))
        assert torch.equal(item["instrumental"], torch.from_numpy(np.ascontiguousarray(inst.T)))


def test_pools_only_and_unusable_caches(cache):
    pools = cache.select(layouts=["pools"])
    ds = SupervisedDataset(pools, W, samples_per_epoch=10)
    assert all(ds.plan(i)["kind"] == "voxaug" for i in range(10))
    with pytest.raises(DataError):
        SupervisedDataset(pools, W, samples_per_epoch=10, voxaug=False)
    with pytest.raises(DataError):
        SupervisedDataset(cache.select(layouts=["mixes"]), W, samples_per_epoch=10)
    # instrumental pool recordings are music to pretrain on; vocals alone are not
    assert {PretrainDataset(pools, W, samples_per_epoch=10).plan(i)["track"] for i in range(10)} == {
        t.id for t in pools.tracks if t.stored == ("instrumental",)}
    with pytest.raises(DataError):
        PretrainDataset(pools.select(roles=["vocals"]), W, samples_per_epoch=10)
    with pytest.raises(DataError):
        ValidationCrops(pools, W)


def test_weights_change_how_often_sources_are_drawn(cache):
    def inst_share(ds, n=3000):
        picks = [ds.plan(i)["instrumental"]["track"] for i in range(n) if ds.plan(i)["kind"] == "voxaug"]
        return np.mean([cache.track(t).layout == "pools" for t in picks])

    lengths = {lay: sum(t.num_samples for t in cache.tracks if t.layout == lay and t.has("instrumental"))
               for lay in ("stems", "pools")}
    aug = AugmentConfig(mixup_prob=0.0)
    base = SupervisedDataset(cache, W, samples_per_epoch=3000, seed=5, augment=aug)
    expected = lengths["pools"] / (lengths["pools"] + lengths["stems"])
    assert abs(inst_share(base) - expected) < 0.03
    heavy = SupervisedDataset(cache, W, samples_per_epoch=3000, seed=5, augment=aug, weights={"mypools*": 4.0})
    expected = 4 * lengths["pools"] / (4 * lengths["pools"] + lengths["stems"])
    assert abs(inst_share(heavy) - expected) < 0.03
    none = SupervisedDataset(cache, W, samples_per_epoch=300, seed=5, augment=aug, weights={"mypools*": 0})
    assert inst_share(none, 300) == 0
    both = SupervisedDataset([cache, cache.select(layouts=["pools"])], W, samples_per_epoch=10, weights=[1.0, 0.0])
    assert len(both.instrumentals) == len(base.instrumentals)


# --------------------------------------------------------------------------- loaders, samplers, validation


def _batches(ds, sampler, workers):
    loader = DataLoader(ds, batch_size=4, sampler=sampler, num_workers=workers)
    return [b for b in loader]


def test_items_do_not_depend_on_loader_workers(cache):
    ds = SupervisedDataset(cache, W, samples_per_epoch=12, seed=7)
    sampler = EpochSampler(len(ds), seed=7)
    a = _batches(ds, sampler, 0)
    b = _batches(ds, sampler, 2)
    assert len(a) == len(b) == 3
    for x, y in zip(a, b):
        for k in x:
            assert torch.equal(x[k], y[k])
    ds.set_epoch(1)
    sampler.set_epoch(1)
    c = _batches(ds, sampler, 0)
    assert not torch.equal(a[0]["mix"], c[0]["mix"])
    pre = PretrainDataset(cache, W, samples_per_epoch=8, seed=7)
    pa, pb = _batches(pre, None, 0), _batches(pre, None, 2)
    assert all(torch.equal(x["audio"], y["audio"]) and torch.equal(x["token_mode"], y["token_mode"])
               for x, y in zip(pa, pb))


def test_epoch_sampler_shards_ranks_disjointly():
    ranks = [EpochSampler(103, seed=1, rank=r, world_size=4) for r in range(4)]
    lists = [list(s) for s in ranks]
    assert all(len(x) == 25 == len(s) for x, s in zip(lists, ranks))
    flat = [i for x in lists for i in x]
    assert len(set(flat)) == 100 and set(flat) <= set(range(103))  # disjoint, 3 dropped
    padded = [list(EpochSampler(103, seed=1, rank=r, world_size=4, drop_last=False)) for r in range(4)]
    assert all(len(x) == 26 for x in padded) and set(i for x in padded for i in x) == set(range(103))
    single = EpochSampler(103, seed=1)
    e0 = list(single)
    assert sorted(e0) == list(range(103)) and list(EpochSampler(103, seed=1)) == e0
    single.set_epoch(1)
    e1 = list(single)
    assert e1 != e0 and sorted(e1) == list(range(103))
    single.set_epoch(1, start_index=40)  # exact resume in the middle of an epoch
    assert list(single) == e1[40:] and len(single) == 63
    with pytest.raises(ValueError):
        single.set_epoch(1, start_index=104)
    with pytest.raises(ValueError):
        EpochSampler(10, seed=0, rank=2, world_size=2)


def test_validation_crops_are_fixed(cache):
    a = ValidationCrops(cache, W, crops_per_track=3)
    b = ValidationCrops(cache, W, crops_per_track=3)
    assert a.crops == b.crops and len(a) == 9  # 3 stems tracks x 3 crops
    for i in range(len(a)):
        x, y = a[i], b[i]
        assert torch.equal(x["mix"], y["mix"]) and torch.equal(x["mix"], x["instrumental"] + x["vocals"])
        _, tid, start = a.crops[i]
        ref = cache.read(tid, "vocals", start, S)
        assert torch.equal(x["vocals"], torch.from_numpy(np.ascontiguousarray(ref.T)))
    long = ValidationCrops(cache, 512)  # longer than every track: one zero-padded crop each
    assert [s for _, _, s in long.crops] == [0, 0, 0] and long[0]["mix"].shape == (2, 511 * 1024)


@pytest.mark.skipif(not MUSDB_VALID.is_dir(), reason=f"real data not found at {MUSDB_VALID}")
def test_validation_crops_on_real_musdb(tmp_path):
    tracks = sorted(p for p in MUSDB_VALID.iterdir() if p.is_dir())[:2]
    build_cache(tracks, tmp_path / "c")
    c = AudioCache.open(tmp_path / "c")
    v = ValidationCrops(c, 128, crops_per_track=2)
    assert len(v) == 4 and len({s for _, _, s in v.crops}) == 2
    n = c.tracks[0].num_samples
    seg = 127 * 1024  # crops centred at 1/4 and 3/4 of the track
    assert [s for _, t, s in v.crops if t == c.tracks[0].id] == [round(n / 4 - seg / 2), round(3 * n / 4 - seg / 2)]
    item = v[1]
    assert torch.equal(item["mix"], item["instrumental"] + item["vocals"])
    assert float(item["vocals"].abs().max()) > 0.01  # real singing
