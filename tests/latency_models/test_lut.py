"""Lookup tables: TPE tables equal direct TPE pricing of frozen networks, JSON round trip, malformed files."""

from __future__ import annotations

import json

import pytest
import torch

from hwnas.api import InputChoice, collect_decisions, collect_opspecs, freeze, magnitude_arch
from hwnas.latency_models import LatencyLUT, LUTError, lut_from_tpe
from hwnas.latency_models.tpe import tpe_from_name
from hwnas.search_spaces import DartsSpace, NB201Space, ProxylessSpace
from hwnas.search_spaces.fbnet import FBNetSpace

SPACES = {
    "nb201": lambda: NB201Space(C=4, N=1),
    "darts": lambda: DartsSpace(C=4, layers=4),
    "proxyless": lambda: ProxylessSpace(variant="cifar", width_mult=0.25, num_classes=10),
    "fbnet": lambda: FBNetSpace(width_mult=0.25),
}


def _random_arch(space, seed):
    g = torch.Generator().manual_seed(seed)
    dec = collect_decisions(space)
    probs = {k: torch.rand(len(v), generator=g) for k, v in dec.items() if not isinstance(v, InputChoice)}
    weights = {k: torch.rand(v.n_candidates, generator=g) for k, v in dec.items() if isinstance(v, InputChoice)}
    return magnitude_arch(space, probs, weights)


@pytest.mark.parametrize("name", sorted(SPACES))
@pytest.mark.parametrize("engine", ["systolic-16x16-ws-int8", "cube-8x8x8-fp16"])
def test_tpe_lut_equals_tpe_on_frozen_network(name, engine):
    space = SPACES[name]()
    x = torch.zeros(1, 3, 16, 16)
    eng = tpe_from_name(engine)
    lut = lut_from_tpe(space, eng, x)
    for seed in range(2):
        arch = _random_arch(space, seed)
        direct = eng.evaluate_network(collect_opspecs(freeze(space, arch), x))
        got = lut.cost(arch)
        # Exact up to float summation order: the TPE prices conv/linear layers one by one, and the frozen
        # network holds exactly the fixed part's layers plus the chosen candidates of the kept edges.
        assert got["cycles"] == direct.total_cycles
        assert got["latency_ms"] == pytest.approx(direct.latency_ms, rel=1e-12)
        assert got["energy_mj"] == pytest.approx(direct.energy_mj, rel=1e-12)


def test_round_trip(tmp_path):
    lut = lut_from_tpe(NB201Space(C=4, N=1), tpe_from_name("systolic-16x16-ws-int8"), torch.zeros(1, 3, 8, 8))
    path = lut.save(tmp_path / "sub" / "lut.json")
    back = LatencyLUT.load(path)
    assert back.to_dict() == lut.to_dict()
    d = json.loads(path.read_text())
    assert d["format"] == "hwnas-lut/1" and d["input_size"] == [3, 8, 8] and d["space"] == "nb201"
    assert set(d["entries"]["1<-0"]["nor_conv_3x3"]) == {"latency_ms", "energy_mj", "cycles"}
    assert d["device"]["kind"] == "tpe" and d["target"] == "tpe:systolic-16x16-ws-int8"
    dl = lut_from_tpe(DartsSpace(C=4, layers=3), tpe_from_name("systolic-16x16-ws-int8"), torch.zeros(1, 3, 8, 8))
    assert LatencyLUT.load(dl.save(tmp_path / "d.json")).input_edges == dl.input_edges


def _good():
    return {"format": "hwnas-lut/1", "space": "toy", "metrics": ["latency_ms"], "input_size": [3, 8, 8],
            "entries": {"op": {"a": {"latency_ms": 1.0}, "b": {"latency_ms": 2.0}}}, "fixed": {"latency_ms": 0.5}}


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(format="other/9"), "format must be"),
    (lambda d: d.pop("entries"), "missing field"),
    (lambda d: d["entries"]["op"]["a"].pop("latency_ms"), "lacks metric 'latency_ms'"),
    (lambda d: d["entries"]["op"]["b"].update(latency_ms=-1), "non-negative"),
    (lambda d: d["entries"]["op"]["b"].update(latency_ms="fast"), "number"),
    (lambda d: d["fixed"].update(latency_ms=float("nan")), "finite"),
    (lambda d: d.update(entries={}), "non-empty"),
    (lambda d: d.update(metrics="latency_ms"), "metrics"),
    (lambda d: d.update(input_size=[3, "x"]), "input_size"),
    (lambda d: d.update(input_edges={"op": {"index": 0}}), "input_edges"),
])
def test_malformed_files_are_clear_errors(tmp_path, mutate, message):
    d = _good()
    LatencyLUT.from_dict(d)
    mutate(d)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    with pytest.raises(LUTError, match=message):
        LatencyLUT.load(p)


def test_not_json_or_missing_file(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(LUTError, match="not valid JSON"):
        LatencyLUT.load(p)
    with pytest.raises(LUTError, match="does not exist"):
        LatencyLUT.load(tmp_path / "none.json")
    p.write_text("[1, 2]")
    with pytest.raises(LUTError, match="JSON object"):
        LatencyLUT.load(p)


def test_space_mismatch_and_bad_choice():
    lut = LatencyLUT.from_dict(_good())
    with pytest.raises(LUTError, match="no entry for label"):
        lut.check_space(NB201Space(C=4, N=1))
    with pytest.raises(LUTError, match="not in the lookup table"):
        lut.cost({"op": "c"})
    assert lut.cost({"op": "b"}) == {"latency_ms": 2.5}
    with pytest.raises(LUTError, match="no metric 'energy_mj'"):
        lut.vectors("energy_mj", {"op": ("a", "b")})
