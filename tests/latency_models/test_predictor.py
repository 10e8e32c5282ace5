"""Learned latency predictors: encodings, differentiability, adaptation, persistence, shipped predictors."""

from __future__ import annotations

import csv
import gzip
import random

import numpy as np
import pytest
import torch

from hwnas.api import ArchSpec, UserError
from hwnas.latency_models.predictor.additive import AdditivePredictor
from hwnas.latency_models.predictor.data import LatencyTable
from hwnas.latency_models.predictor.model import LatencyPredictor, fit_predictor, pretrain, train_direct
from hwnas.latency_models.predictor.schema import FBNET_OPS, NB201_OPS, PredictorError, get_schema

NB201_STR = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def _random_strings(space: str, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    if space == "fbnet":
        return ["-".join(rng.choice(FBNET_OPS) for _ in range(22)) for _ in range(n)]
    out = []
    for _ in range(n):
        ops = [rng.choice(NB201_OPS) for _ in range(6)]
        out.append(f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|")
    return out


def _one_hot_probs(schema, arch: ArchSpec) -> dict[str, torch.Tensor]:
    return {lb: torch.tensor([1.0 if c == arch.choices[lb] else 0.0 for c in cands])
            for lb, cands in zip(schema.labels, schema.candidates)}


@pytest.mark.parametrize("space", ["nb201", "fbnet"])
def test_one_hot_and_soft_encodings_agree(space):
    schema = get_schema(space)
    archs = [schema.parse(s) for s in _random_strings(space, 3, 0)]
    pred = LatencyPredictor.load(f"{space}:pixel3")
    for arch in archs:
        probs = _one_hot_probs(schema, arch)
        assert torch.equal(schema.encode([arch]), schema.encode(probs))
        assert schema.format(arch) == schema.format(schema.parse(schema.format(arch)))
        torch.testing.assert_close(pred.predict([arch]), pred.predict(probs))
        # the same through the gradient path (no one-hot shortcut)
        soft = {k: v.clone().requires_grad_(True) for k, v in probs.items()}
        torch.testing.assert_close(pred.predict(soft), pred.predict([arch]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("space", ["nb201", "fbnet"])
def test_prediction_is_differentiable_in_probabilities(space):
    schema = get_schema(space)
    pred = LatencyPredictor.load(f"{space}:raspi4")
    alpha = {lb: torch.randn(len(c), requires_grad=True) for lb, c in zip(schema.labels, schema.candidates)}
    probs = {lb: a.softmax(-1) for lb, a in alpha.items()}
    ms = pred.predict(probs)
    assert ms.shape == (1,) and float(ms.detach()) > 0
    ms.sum().backward()
    grads = torch.cat([a.grad for a in alpha.values()])
    assert torch.isfinite(grads).all() and grads.abs().sum() > 0
    # batched probabilities
    batch = {lb: torch.softmax(torch.randn(4, len(c)), -1) for lb, c in zip(schema.labels, schema.candidates)}
    assert pred.predict(batch).shape == (4,)


def test_table_trunk_is_the_expectation_of_log_latency():
    """At uniform probabilities the NB201 table trunk gives the mean log latency over all 15,625 cells."""
    pred = LatencyPredictor.load("nb201")
    schema = pred.schema
    uniform = {lb: torch.full((5,), 0.2, requires_grad=True) for lb in schema.labels}
    d = pred.devices.index("eyeriss")
    got = pred.trunk(schema.encode(uniform))[0, d]
    torch.testing.assert_close(got, pred.trunk.log_ms[d].mean(), rtol=1e-5, atol=1e-5)


def test_skip_connect_is_faster_than_conv_on_every_device():
    pred = LatencyPredictor.load("nb201")
    conv = NB201_STR.replace("skip_connect", "nor_conv_3x3").replace("avg_pool_3x3", "nor_conv_3x3")
    skip = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
    for dev in pred.devices:
        assert pred.predict([conv], device=dev) > pred.predict([skip], device=dev), dev


def test_adapt_recovers_a_scaled_device():
    """A new device that is 1.7x raspi4: 20 samples give near-exact ranking and scale."""
    base = LatencyPredictor.load("fbnet")
    strings = _random_strings("fbnet", 220, 1)
    with torch.no_grad():
        truth = 1.7 * base.predict(strings, device="raspi4")
    pred = base.without_device("raspi4").adapt(strings[:20], truth[:20], name="raspi4x")
    with torch.no_grad():
        got = pred.predict(strings[20:])
    rel = (got / truth[20:] - 1).abs()
    assert float(rel.median()) < 0.05
    r = np.corrcoef(np.argsort(np.argsort(got.numpy())), np.argsort(np.argsort(truth[20:].numpy())))[0, 1]
    assert r > 0.95
    assert pred.target == "raspi4x"


_TIED_MS = {"none": 0.0, "skip_connect": 0.2, "nor_conv_1x1": 0.9, "nor_conv_3x3": 2.3, "avg_pool_3x3": 0.6}


def _tied_device(strings: list[str]) -> np.ndarray:
    """A deterministic device (a cycle model): 1.5 ms + a cost per op, whichever edge it sits on."""
    schema = get_schema("nb201")
    return np.array([1.5 + sum(_TIED_MS[op] for op in schema.parse(s).choices.values()) for s in strings])


def test_adapt_is_exact_on_a_tied_cost_device_and_stays_differentiable():
    """No pretraining device is additive in ms; the tied-cost blend makes 20 samples enough to be exact."""
    strings = _random_strings("nb201", 300, 11)
    truth = _tied_device(strings)
    base = LatencyPredictor.load("nb201").without_device("eyeriss")
    head_only = base.adapt(strings[:20], truth[:20], name="sim", blend=False)
    assert head_only.meta["tied_mix"] == 0.0
    with torch.no_grad():
        rel_head = np.abs(head_only.predict(strings[20:]).numpy() / truth[20:] - 1)
    pred = LatencyPredictor.load("nb201").without_device("eyeriss").adapt(strings[:20], truth[:20], name="sim")
    assert pred.meta["tied_mix"] > 0.99
    with torch.no_grad():
        rel = np.abs(pred.predict(strings[20:]).numpy() / truth[20:] - 1)
    assert rel.max() < 0.01 < np.median(rel_head)
    # the blended prediction is still one differentiable function of the probabilities: gradient = finite difference
    schema = pred.schema
    alpha = {lb: torch.randn(len(c), dtype=torch.float64, generator=torch.Generator().manual_seed(i))
             for i, (lb, c) in enumerate(zip(schema.labels, schema.candidates))}

    def ms(a):
        return pred.double().predict({k: v.softmax(-1) for k, v in a.items()})[0]

    leaf = {k: v.clone().requires_grad_(True) for k, v in alpha.items()}
    ms(leaf).backward()
    eps = 1e-6
    bumped = {**alpha, "3<-1": alpha["3<-1"] + eps * torch.eye(5, dtype=torch.float64)[3]}
    fd = (ms(bumped) - ms(alpha)) / eps
    assert abs(float(leaf["3<-1"].grad[3]) - float(fd)) < 1e-4 * max(1.0, abs(float(fd)))


def test_blend_survives_save_load_and_old_files_load_without_it(tmp_path):
    strings = _random_strings("nb201", 60, 12)
    truth = _tied_device(strings)
    pred = LatencyPredictor.load("nb201").without_device("fpga").adapt(strings[:20], truth[:20], name="sim")
    again = LatencyPredictor.load(pred.save(tmp_path / "p.pt"))
    torch.testing.assert_close(again.predict(strings[20:]), pred.predict(strings[20:]))
    assert float(again.tied_mix) == float(pred.tied_mix) > 0.5
    # a file written before the blend existed: no tied_* buffers -> loads with the blend off
    raw = torch.load(tmp_path / "p.pt", weights_only=True)
    raw["state"] = {k: v for k, v in raw["state"].items() if not k.startswith("tied_")}
    torch.save(raw, tmp_path / "old.pt")
    old = LatencyPredictor.load(tmp_path / "old.pt")
    assert float(old.tied_mix) == 0.0
    with torch.no_grad():
        expected = torch.exp(pred.head_b + pred.features(pred.encode(strings[20:])) @ pred.head_w)
    torch.testing.assert_close(old.predict(strings[20:]), expected)
    old.load_state_dict(pred.state_dict())  # a plain state-dict load turns the blend on again
    torch.testing.assert_close(old.predict(strings[20:]), pred.predict(strings[20:]))
    raw["state"]["stray"] = torch.zeros(1)
    torch.save(raw, tmp_path / "bad.pt")
    with pytest.raises(PredictorError, match="unexpected"):
        LatencyPredictor.load(tmp_path / "bad.pt")
    # selecting a pretraining device switches the blend off again
    assert float(pred.select_device("pixel3").tied_mix) == 0.0


def test_without_device_forgets_only_that_device():
    pred = LatencyPredictor.load("fbnet")
    fewer = pred.without_device("lat_ms_pixel2")
    assert "pixel2" not in fewer.devices and len(fewer.devices) == len(pred.devices) - 1
    s = _random_strings("fbnet", 5, 2)
    torch.testing.assert_close(fewer.predict(s, device="pixel3"), pred.predict(s, device="pixel3"))
    with pytest.raises(PredictorError, match="unknown device 'pixel2'"):
        fewer.predict(s, device="pixel2")


def test_save_load_round_trip(tmp_path):
    pred = LatencyPredictor.load("fbnet").adapt(_random_strings("fbnet", 8, 4), np.linspace(5, 9, 8), name="x")
    path = pred.save(tmp_path / "p.pt")
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "hwnas.predictor/1" and raw["target"] == "x"
    again = LatencyPredictor.load(path)
    s = _random_strings("fbnet", 6, 5)
    torch.testing.assert_close(again.predict(s), pred.predict(s))
    assert again.target == "x" and again.devices == pred.devices


def test_bad_inputs_raise_user_errors(tmp_path):
    pred = LatencyPredictor.load("nb201")
    with pytest.raises(UserError, match="bad NB201 arch string"):
        pred.schema.encode(["|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
    with pytest.raises(UserError, match="no target device"):
        pred.predict([NB201_STR])
    with pytest.raises(UserError, match="must be finite and > 0"):
        pred.adapt([NB201_STR], [0.0])
    with pytest.raises(UserError, match="1 architectures but 2 latencies"):
        pred.adapt([NB201_STR], [1.0, 2.0])
    with pytest.raises(UserError, match="need 22 ops"):
        get_schema("fbnet").parse("k3_e1-skip")
    with pytest.raises(UserError, match="probabilities of '1<-0' must have 5 entries"):
        pred.schema.encode({lb: torch.ones(4) for lb in pred.schema.labels})
    with pytest.raises(UserError, match="does not exist"):
        LatencyPredictor.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a predictor")
    with pytest.raises(UserError, match="not a valid hwnas predictor file"):
        LatencyPredictor.load(tmp_path / "junk.pt")


def test_additive_baseline_fits_additive_data():
    schema = get_schema("fbnet")
    rng = np.random.default_rng(0)
    cost = rng.uniform(0.1, 2.0, schema.dim)
    strings = _random_strings("fbnet", 300, 6)
    y = schema.encode(strings).double().numpy() @ cost + 3.0
    a = AdditivePredictor("fbnet").fit(strings, y)
    np.testing.assert_allclose(a.predict(strings).numpy(), y, rtol=1e-6)


def test_pretrain_mlp_and_train_direct_on_a_user_table():
    rng = np.random.default_rng(0)
    index = rng.integers(0, 9, (200, 22))
    schema = get_schema("fbnet")
    lat = np.stack([1 + index.sum(1) * s for s in (0.1, 0.2, 0.3)], 1).astype(float)
    table = LatencyTable("fbnet", index, ["a", "b", "c"], lat)
    pred = pretrain(schema, table, trunk="mlp", steps=150, hidden=32)
    assert pred.devices == ["a", "b", "c"] and pred.meta["trunk"] == "mlp"
    with pytest.raises(PredictorError, match="cannot forget"):
        pred.without_device("a")
    strings = ["-".join(FBNET_OPS[i] for i in row) for row in index[:50]]
    direct = train_direct("fbnet", strings, lat[:50, 0], trunk="additive")
    assert direct.target == "target"
    got = direct.predict(strings).detach().numpy()
    assert np.corrcoef(got, lat[:50, 0])[0, 1] > 0.95


def _shared_rows(shared_data, space):
    key = "arch_str" if space == "nb201" else "ops"
    with gzip.open(shared_data / f"{space}_hw.csv.gz", "rt") as f:
        return [(r[key], r) for r in csv.DictReader(f)]


@pytest.mark.parametrize(("space", "device", "floor"), [("nb201", "titanx_32", 0.9), ("fbnet", "pixel3", 0.85)])
def test_shipped_predictor_ranks_a_held_out_device(shared_data, space, device, floor):
    rows = _shared_rows(shared_data, space)
    rng = random.Random(0)
    picked = rng.sample(rows, 220)
    train = [(a, float(r[f"lat_ms_{device}"])) for a, r in picked[:20]]
    pred = fit_predictor(space, train, exclude_device=device)
    assert device not in pred.devices
    test = picked[20:]
    with torch.no_grad():
        got = pred.predict([a for a, _ in test]).numpy()
    truth = np.array([float(r[f"lat_ms_{device}"]) for _, r in test])
    rho = np.corrcoef(np.argsort(np.argsort(got)), np.argsort(np.argsort(truth)))[0, 1]
    assert rho > floor, rho


def test_excluding_a_device_the_predictor_never_used_is_allowed():
    pairs = list(zip(_random_strings("nb201", 6, 7), [3.0, 4.0, 5.0, 6.0, 7.0, 8.0]))
    pred = fit_predictor("nb201", pairs, exclude_device="nnmeter_cpu")
    assert pred.target == "nnmeter_cpu" and len(pred.devices) == 27


def test_predictor_targets_give_a_differentiable_cost_and_a_report():
    from hwnas.api import COST_MODELS
    from hwnas.search_spaces import NB201Space, nb201_str_to_arch
    from hwnas.supernets.darts import DartsSupernet

    supernet = DartsSupernet(NB201Space(C=4, N=1))
    cost_fn = COST_MODELS.get("nb201")("nb201:pixel3", metric="latency_ms", supernet=supernet)
    ms, details = cost_fn(supernet)
    assert ms.requires_grad and details["latency_ms"] == pytest.approx(float(ms.detach()))
    ms.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in supernet.arch_parameters())
    rep = COST_MODELS.get("nb201").report("nb201:pixel3", arch=nb201_str_to_arch(NB201_STR))
    assert rep["latency_ms"] == pytest.approx(17.2381, rel=1e-4)  # the measured pixel3 value of this cell
    with pytest.raises(UserError, match="needs a device"):
        COST_MODELS.get("nb201")("nb201", supernet=supernet)
    with pytest.raises(UserError, match="latency_ms only"):
        COST_MODELS.get("nb201")("nb201:pixel3", metric="energy_mj", supernet=supernet)
