"""Target kinds tpe:/lut:/measured: in COST_MODELS, ``hwnas targets`` and ``hwnas report --hardware``."""

from __future__ import annotations

import json

import pytest
import torch

from hwnas.api import ARCHS, COST_MODELS, SUPERNETS, UserError, collect_opspecs
from hwnas.cli import main
from hwnas.latency_models.tpe import tpe_from_name
from hwnas.search_spaces import DartsSpace, NB201Space, nb201_str_to_arch

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


@pytest.mark.parametrize("kind", ["tpe", "lut", "measured", "nb201", "fbnet", "predictor"])
def test_kinds_registered(kind):
    assert callable(COST_MODELS.get(kind)) and callable(COST_MODELS.get(kind).report)


def test_targets_cli_lists_kinds_and_devices(capsys):
    assert main(["targets", "--json"]) == 0
    rows = {r["kind"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"tpe", "lut", "measured", "nb201", "fbnet", "predictor"} <= set(rows)
    assert rows["tpe"]["metrics"] == ["latency_ms", "energy_mj", "cycles"]
    assert "tpe:systolic-32x32-ws-int8" in rows["tpe"]["examples"]
    assert "pixel3" in rows["nb201"]["devices"] and "raspi4" in rows["fbnet"]["devices"]
    assert main(["targets"]) == 0
    text = capsys.readouterr().out
    assert "measured:cpu" in text and "nb201:DEVICE" in text


def test_report_darts_v2_on_tpe(capsys):
    assert main(["report", "darts_v2", "--hardware", "tpe:systolic-32x32-ws-int8", "--json"]) == 0
    hw = json.loads(capsys.readouterr().out)["hardware"]
    for key in ("latency_ms", "energy_mj", "cycles", "utilization_pct", "energy_breakdown_pj"):
        assert key in hw, key
    assert set(hw["energy_breakdown_pj"]) == {"mac", "register", "sram", "dram", "leakage"}
    assert hw["energy_mj"] == pytest.approx(sum(hw["energy_breakdown_pj"].values()) * 1e-9)
    assert hw["latency_ms"] == pytest.approx(hw["cycles"] / (hw["freq_mhz"] * 1e3))
    assert 0 < hw["utilization_pct"] <= 100
    # The DARTS evaluation network at C=36, 20 cells: the same MACs as `hwnas report` counts.
    assert hw["macs"] == 528359040


def test_report_matches_engine_directly():
    arch = ARCHS.get("darts_v2")
    net = DartsSpace(C=4, layers=3).freeze(arch)
    got = COST_MODELS.get("tpe").report("tpe:systolic-16x16-os-int8", arch=arch, network=net, input_size=(3, 16, 16))
    direct = tpe_from_name("systolic-16x16-os-int8").evaluate_network(collect_opspecs(net, torch.zeros(1, 3, 16, 16)))
    assert got["cycles"] == direct.total_cycles and got["energy_mj"] == pytest.approx(direct.energy_mj)


def test_lut_and_measured_targets(tmp_path, monkeypatch):
    monkeypatch.setenv("HWNAS_LUT_CACHE", str(tmp_path / "cache"))
    lut_path = tmp_path / "lut.json"
    assert main(["profile", "--space", "nb201", "--space-kwargs", "{C: 4, N: 1}", "--input-size", "3x8x8",
                 "--tpe", "systolic-16x16-ws-int8", "--out", str(lut_path)]) == 0
    arch = nb201_str_to_arch(ARCH, C=4, N=1)
    space = NB201Space(C=4, N=1)
    net = space.freeze(arch)
    rep = COST_MODELS.get("lut").report(f"lut:{lut_path}", arch=arch, network=net, input_size=(3, 8, 8))
    direct = tpe_from_name("systolic-16x16-ws-int8").evaluate_network(collect_opspecs(net, torch.zeros(1, 3, 8, 8)))
    assert rep["cycles"] == direct.total_cycles
    # The lut: cost function at a one-hot distribution gives the table's cost of that architecture.
    sn = SUPERNETS.get("darts")(NB201Space(C=4, N=1))
    fn = COST_MODELS.get("lut")(f"lut:{lut_path}", metric="cycles", supernet=sn, example_input=torch.zeros(1, 3, 8, 8))
    with torch.no_grad():
        for label, name in arch.choices.items():
            a = sn.alpha_of(label)
            a.fill_(-30.0)
            a[space_candidates(sn, label).index(name)] = 30.0
    cost, details = fn(sn)
    assert float(cost.detach()) == pytest.approx(direct.total_cycles, rel=1e-6)
    assert details["cycles"] == float(cost.detach())
    # measured:cpu profiles the space once and caches the table.
    m = COST_MODELS.get("measured")
    m.warmup, m.repeats = 0, 1
    try:
        fn = m("measured:cpu", metric="latency_ms", supernet=sn, example_input=torch.zeros(1, 3, 8, 8))
        assert float(fn(sn)[0].detach()) > 0
        assert len(list((tmp_path / "cache").glob("lut-*.json"))) == 1
        m("measured:cpu", metric="latency", supernet=sn, example_input=torch.zeros(1, 3, 8, 8))
        assert len(list((tmp_path / "cache").glob("lut-*.json"))) == 1
        # with a run folder, the table is kept with the run, and the run's copy wins on a resume
        run = tmp_path / "run"
        m("measured:cpu", metric="latency_ms", supernet=sn, example_input=torch.zeros(1, 3, 8, 8), run_dir=run)
        kept = list((run / "luts").glob("lut-*.json"))
        assert [p.name for p in kept] == [p.name for p in (tmp_path / "cache").glob("lut-*.json")]
        for p in (tmp_path / "cache").glob("lut-*.json"):
            p.unlink()  # the shared cache is gone (another machine): the run's table is used, nothing re-measured
        table = kept[0].read_bytes()
        again = m("measured:cpu", metric="latency_ms", supernet=sn, example_input=torch.zeros(1, 3, 8, 8),
                  run_dir=run)
        assert float(again(sn)[0].detach()) == pytest.approx(float(fn(sn)[0].detach()))
        assert kept[0].read_bytes() == table and not list((tmp_path / "cache").glob("lut-*.json"))
        rep = m.report("measured:cpu", arch=arch, network=net, input_size=(3, 8, 8))
        assert rep["latency_ms"] > 0 and rep["threads"] == torch.get_num_threads()
    finally:
        m.warmup, m.repeats = type(m).warmup, type(m).repeats


def space_candidates(sn, label):
    from hwnas.api import collect_decisions

    return list(collect_decisions(sn.space)[label])


@pytest.mark.parametrize("target, metric, message", [
    ("tpe:", "latency_ms", "needs an engine name"),
    ("tpe:warp-9", "latency_ms", "bad TPE name"),
    ("tpe:systolic-8x8-ws-int8", "accuracy", "not 'accuracy'"),
    ("measured:cpu", "energy_mj", "not 'energy_mj'"),
    ("measured:tpu", "latency_ms", "not a valid torch device"),
    ("lut:", "latency_ms", "needs a path"),
    ("lut:/no/such/lut.json", "latency_ms", "does not exist"),
])
def test_target_errors(target, metric, message):
    sn = SUPERNETS.get("darts")(NB201Space(C=4, N=1))
    with pytest.raises(UserError, match=message):
        COST_MODELS.get(target.split(":")[0])(target, metric=metric, supernet=sn, example_input=torch.zeros(1, 3, 8, 8))


def test_lut_for_another_space_is_refused(tmp_path):
    lut_path = tmp_path / "lut.json"
    assert main(["profile", "--space", "darts", "--space-kwargs", "{C: 4, layers: 3}", "--input-size", "3x8x8",
                 "--tpe", "systolic-16x16-ws-int8", "--out", str(lut_path)]) == 0
    sn = SUPERNETS.get("darts")(NB201Space(C=4, N=1))
    with pytest.raises(UserError, match="no entry for label"):
        COST_MODELS.get("lut")(f"lut:{lut_path}", supernet=sn, example_input=torch.zeros(1, 3, 8, 8))
    with pytest.raises(UserError, match="not 'nb201'"):
        COST_MODELS.get("lut").report(f"lut:{lut_path}", arch=nb201_str_to_arch(ARCH))
