"""The model against the paper's figures (the cheap, closed-form part of benchmarks/tpe_paper.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hwnas.api import UserError
from hwnas.latency_models.tpe import Cube3D, SystolicArray, TechTable
from hwnas.latency_models.tpe.paper import KNOWN_MISSES, absolute_saed32, compare, model_figures, paper_figures

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def rows() -> dict[str, dict]:
    return {r["id"]: r for r in compare()}


def test_every_figure_within_tolerance_except_the_documented_misses(rows: dict[str, dict]) -> None:
    failing = {i for i, r in rows.items() if not r["ok"]}
    # A figure the model stops meeting, or one it starts meeting, must update KNOWN_MISSES and its reason.
    assert failing == set(KNOWN_MISSES)
    for i, r in rows.items():
        if i not in KNOWN_MISSES:
            assert abs(r["model"] / r["paper"] - 1.0) <= r["tol"], i
    assert len(rows) == 34 and sum(r["ok"] for r in rows.values()) == 27
    # the four architectures no longer move alike: energy gains split as the paper's do
    ee = {a: rows[f"abstract.{a}.energy_eff"]["model"] for a in ("systolic", "cube", "tree", "matrix")}
    assert ee["cube"] > ee["matrix"] > ee["systolic"] and ee["tree"] > ee["matrix"]
    assert min(ee["cube"], ee["tree"]) > 1.4 and ee["systolic"] < 1.1


def test_spot_values(rows: dict[str, dict]) -> None:
    assert rows["abstract.tree.energy_eff"]["model"] == pytest.approx(1.567, abs=0.005)
    assert rows["abstract.matrix.area_eff"]["model"] == pytest.approx(1.372, abs=0.005)
    assert rows["syn.cube.opt1_clock"]["model"] == pytest.approx(1.526, abs=0.005)
    assert rows["syn.cube.opt1_clock"]["paper"] == pytest.approx(6.3 / 4.0, abs=1e-4)
    assert rows["testbench.pp.k32.std20"]["model"] == pytest.approx(2.055, abs=0.001)
    assert rows["syn.tree_opt2.area_per_mult.n16"]["paper"] == pytest.approx(230216.343818 / 67171.784636 / 4, abs=1e-4)


def test_figures_are_data_with_sources() -> None:
    meta = paper_figures()
    assert re.fullmatch(r"[0-9a-f]{40}", meta["commit"]) and meta["corner"] == "saed32rvt_tt0p85v25c"
    for f in meta["figures"]:
        assert f["tol"] in (0.03, 0.10) and f["source"] and f["what"]
        if f["id"].startswith("syn."):
            assert f["source"].count("saed32rvt_tt0p85v25c/") == 2 and "_report_" in f["source"]
    assert meta["fastest"]["sa_os_mac"] == {"period_ns": 6.5, "cell_area_um2": 376683.089535}
    assert set(model_figures()) == {f["id"] for f in meta["figures"]}


def test_saed32_absolute_areas_and_clocks() -> None:
    absolute = {a["design"]: a for a in absolute_saed32()}
    pe = absolute["pe_mac"]
    # the SAED32 table is calibrated on this PE at its loosest clock (2.0 ns: 1287.7 um^2, 1.61 ns path)
    assert pe["area_um2"] == pytest.approx(1287.7, rel=0.01) and pe["clock_mhz"] == pytest.approx(1e3 / 1.61, rel=0.01)
    for key in ("sa_os_opt1", "cube_mac", "cube_opt1", "tree_opt2_n8", "tree_opt2_n32"):
        assert absolute[key]["area_um2"] == pytest.approx(absolute[key]["report_area_um2"], rel=0.10), key
    # array-level clocks are far below the PE's in the reports (wiring), which the model does not capture
    assert absolute["sa_os_mac"]["clock_mhz"] > 3 * absolute["sa_os_mac"]["report_clock_mhz"]


def test_tech_tables_by_name() -> None:
    t45, t28, s32 = (TechTable.named(n) for n in ("45nm", "28nm", "saed32"))
    assert t45 == TechTable.default() and s32.reg_um2_per_bit == 6.95 and s32.leakage["logic_mw_per_mm2"] == 25.3
    assert t28.op("int_mult_pj", 8) == pytest.approx(0.2 * 0.62)
    assert t28.op("int_mult_um2", 8) == pytest.approx(282 * 0.39)
    for t in (t28, s32):
        assert t.sources and all(isinstance(v, dict) and "source" in v for v in (t.register, t.sram, t.leakage))
    by_name = SystolicArray(16, 16, "os", tech="28nm")
    assert by_name.tech == t28 and by_name.area_mm2 < SystolicArray(16, 16, "os").area_mm2
    assert Cube3D(8, 8, 8, tech="saed32").max_clock_mhz == pytest.approx(374, abs=2)
    with pytest.raises(UserError, match="unknown technology table"):
        TechTable.named("7nm")
    with pytest.raises(UserError, match="no fa_delay_ps"):
        _ = SystolicArray(4, 4, tech=TechTable(name="x", arith={}, register={}, sram={}, dram={},
                                               leakage={"logic_mw_per_mm2": 1.0})).max_clock_mhz


def test_benchmark_prints_and_fails_on_misses() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "tpe_paper.py"), "--json"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1  # documented misses exist: the benchmark says so with its exit code
    data = json.loads(out.stdout)
    assert {r["id"] for r in data["figures"] if not r["ok"]} == set(KNOWN_MISSES)
    assert all(r["why"] for r in data["figures"] if not r["ok"]) and len(data["saed32_absolute"]) == 14


def test_what_each_figure_compares(rows: dict[str, dict]) -> None:
    # abstract.*: OPT1+OPT2 against the plain MAC design, PE-array efficiency at each design's own clock
    from hwnas.latency_models.tpe import AdderTree, BitSerialColumn, BitWeightConfig, DigitStats

    opt = AdderTree(16, 16, bitweight=BitWeightConfig(opt1_carry_save=True, opt2_shared_encoding=True))
    plain = AdderTree(16, 16)
    assert rows["abstract.tree.energy_eff"]["model"] == pytest.approx(
        opt.efficiency()["gops_per_w"] / plain.efficiency()["gops_per_w"])
    assert opt.freq_mhz > plain.freq_mhz  # each at its own clock
    # bit-slice: EN-T + OPT1 + OPT3 + OPT4 against the Laconic-like column walking both operands' Booth terms
    ours = BitSerialColumn(16, 16, bitweight=BitWeightConfig(encoding="ent", stats=DigitStats.from_testbench(30),
                                                             opt1_carry_save=True))
    booth = DigitStats.from_testbench(30, encoding="booth4")
    laconic = BitSerialColumn(16, 16, bitweight=BitWeightConfig(stats=booth, term_pairs=True), column_encoder=False)
    assert rows["abstract.bitslice.area_eff"]["model"] == pytest.approx(
        ours.efficiency()["gops_per_mm2"] / laconic.efficiency()["gops_per_mm2"])
    assert laconic.cost.n_encoders == 256 and ours.cost.n_encoders == 16
    assert laconic.cost.cycles_per_step == pytest.approx(booth.pair_product().expected_max(1))
    assert laconic.cost.cycles_per_step > 2.5 * ours.cost.cycles_per_step


def test_pair_product_statistics() -> None:
    from hwnas.latency_models.tpe import DigitStats

    s = DigitStats.from_testbench(30, encoding="booth4")
    pairs = s.pair_product()
    assert sum(pairs.pmf) == pytest.approx(1.0) and pairs.n_digits == 16
    assert pairs.expected_nonzero == pytest.approx(s.expected_nonzero**2)  # independent operands
    assert pairs.pmf[0] == pytest.approx(1 - (1 - s.pmf[0]) ** 2)
