"""The paper's figures beside the model's: what each figure compares, in closed form (milliseconds).

Figures come from ``paper_figures.json`` (written by ``tests/latency_models/tpe/data/make_paper_figures.py``
from github.com/wqzustc/High-Performance-Tensor-Processing-Engines and arXiv:2503.06342's abstract). How each
one is reproduced, and where the model *chooses*:

- ``abstract.<arch>.*``: OPT1+OPT2 against the plain MAC design of the same engine (int8, uniform operands,
  a dense 512^3 GEMM): systolic array 16x16 OS, 3D-Cube 8x8x8, multiplier-adder tree 16x16, 2D-Matrix 16x16.
  The paper's text is not in its repository; its RTL pairs OPT1 with the systolic arrays and the cube and
  OPT2 (with OPT1's compressor tree, ``OPT2/DW02_tree.sv``) with the tree, so "OPT1+OPT2" is taken for all
  four, as the issue's check did. Area efficiency is GOPS per mm^2 of PE array, energy efficiency GOPS/W of
  the PE array (MACs, registers, leakage; no SRAM or DRAM): :meth:`Engine.efficiency`. Each design runs at
  its own maximum clock (the critical-path model's).
- ``abstract.bitslice.*``: the bit-slice design is :class:`BitSerialColumn` 16x16 with EN-T digits, OPT1,
  OPT3 and OPT4 (one sparse encoder per column); *Laconic* is the same column engine walking the non-zero
  Booth terms of both operands, one term pair per cycle (``BitWeightConfig(term_pairs=True)``), with sparse
  encoders for both operands in every PE and a CPA accumulating each pair. Operands: the testbench's
  normal(0, 30). Laconic's own PE (one-hot term products into counters) is not modelled.
- ``testbench.pp.*``: :meth:`DigitStats.testbench_average` of :meth:`DigitStats.from_testbench`.
- ``syn.*``: ratios of the SAED32 synthesis reports, each design at its own fastest clock that meets timing,
  against the model's clock (critical path) and PE-array area ratios of the same pairs. The single PE is a
  1x1 output-stationary array, its area without an output CPA (the RTL's OPT1 PE emits sum and carry); the
  OPT2 trees are ``AdderTree(16, N)`` with OPT1+OPT2; the OPT3/OPT4C column is ``BitSerialColumn(N, 1)``
  with EN-T digits and OPT1. The reports' power figures are stored (``synthesis`` in the JSON) but not
  compared: Design Compiler estimated them with its default switching activity, not with operand data.

Example:
    >>> rows = {r["id"]: r for r in compare()}
    >>> rows["testbench.pp.k32.std20"]["paper"], round(rows["testbench.pp.k32.std20"]["model"], 2)
    (2.05, 2.05)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from hwnas.latency_models.tpe.bitweight import BitWeightConfig, DigitStats
from hwnas.latency_models.tpe.engine import Engine
from hwnas.latency_models.tpe.engines import AdderTree, BitSerialColumn, Cube3D, Matrix2D
from hwnas.latency_models.tpe.systolic import SystolicArray
from hwnas.latency_models.tpe.tech import TechTable

_FIGURES = Path(__file__).with_name("paper_figures.json")

_PLAIN = BitWeightConfig()
_OPT1 = BitWeightConfig(opt1_carry_save=True)
_OPT12 = BitWeightConfig(opt1_carry_save=True, opt2_shared_encoding=True)

_ARCHS: dict[str, Callable[[BitWeightConfig], Engine]] = {
    "systolic": lambda c: SystolicArray(16, 16, "os", bitweight=c),
    "cube": lambda c: Cube3D(8, 8, 8, bitweight=c),
    "tree": lambda c: AdderTree(16, 16, bitweight=c),
    "matrix": lambda c: Matrix2D(16, 16, bitweight=c),
}

# Why each figure the model misses is missed (printed by the benchmark; the test keeps this list exact).
_AT_MAX_CLOCK = ("the repository's SAED32 reports give OPT1 a {clk} faster clock at {area} the cell area; a model "
                 "that meets those gives OPT1+OPT2 about {clk_area} the area efficiency at each design's own "
                 "maximum clock. The abstract's {paper} (SMIC 28 nm; the comparison conditions, e.g. a common "
                 "clock, are not in the repository) would need a smaller clock gain. The model follows the reports.")
KNOWN_MISSES: dict[str, str] = {
    "abstract.systolic.area_eff": _AT_MAX_CLOCK.format(clk="1.50x (PE) to 1.67x (WS array)", area="1.03x-1.13x",
                                                       clk_area="1.45x", paper="1.27x"),
    "abstract.cube.area_eff": _AT_MAX_CLOCK.format(clk="1.58x", area="1.05x", clk_area="1.5x", paper="1.28x"),
    "abstract.bitslice.energy_eff": (
        "the model's Laconic (both operands' terms walked pair by pair) loses 4.6x area efficiency, more than the "
        "paper's 2.85x, but only 4.0x energy efficiency. The paper's pair (12.10x energy at 2.85x area) means "
        "its Laconic draws ~4.2x the power per mm^2 of the OPT3/OPT4 design; the same cells in the same "
        "technology cannot do that, so the paper's Laconic figures likely come from another design point or "
        "process (Laconic's own publication); the repository has no Laconic RTL to check."),
    "abstract.bitslice.area_eff": "see abstract.bitslice.energy_eff: a Laconic that walks term pairs loses more "
                                  "cycles (4.6x) than the paper's 2.85x allows.",
    "syn.pe.opt1_area": (
        "the reports put the OPT1 PE at 1.03x the MAC PE with each at its timing limit, and at 0.93x with both "
        "relaxed (opt1_mac_area_report_1.5: 1204 um^2, mac_area_report_2.0: 1288 um^2). The model counts the "
        "RTL's DW02_tree (OPT1/*/opt1_mac.v: four sign-extended partial products plus sum and carry, 32 bits "
        "wide) as full-adder rows over the whole width, where synthesis shares the sign-extension columns. "
        "Counting half of those columns would meet this figure (1.07x), but it would take the cube's OPT1 area "
        "to 0.95x (reported 1.05x, a miss) and the abstract's systolic and cube area efficiency further off "
        "(1.62x, 1.74x). The arrays hold OPT1 area that the single PE's report does not show."),
    "syn.sa_os.opt1_clock": (
        "the MAC-based OS array closes timing at 6.5 ns although its PE alone closes at 1.667 ns: wiring and "
        "fan-out of the array (every accumulator is an output port in this RTL) set that clock, not the MAC. "
        "The model's clock comes from the PE's path, so OS gets the PE's ratio (1.50x reported)."),
    "syn.sa_os.opt1_area": (
        "the same PE change gives 0.96x in the OS array and 1.13x in the WS array; the model gives both arrays "
        "the same PE, registers and ratio, meeting WS. The OS MAC array's area is inflated by the wiring-bound "
        "6.5 ns design (see syn.sa_os.opt1_clock), which the model does not have."),
}


@cache
def paper_figures() -> dict[str, Any]:
    """The stored figures: ``{"repo", "commit", "figures": [{id, paper, source, tol, what}], "synthesis", ...}``."""
    return json.loads(_FIGURES.read_text())


def _eff_ratio(opt: Engine, base: Engine) -> tuple[float, float]:
    e, b = opt.efficiency(), base.efficiency()
    return e["gops_per_mm2"] / b["gops_per_mm2"], e["gops_per_w"] / b["gops_per_w"]


def _pe_area(e: Engine) -> float:
    return e.area_breakdown_mm2["pe_array"]


def _one_pe_area(e: Engine) -> float:
    # A PE as the paper synthesised it: datapath, registers and its own encoder; the RTL PE has no CPA.
    c = e.cost
    return c.pe_area_um2 + c.encoder_area_um2 * c.n_encoders / e.n_pe


def _bitslice_pair(std: float = 30.0) -> tuple[Engine, Engine]:
    ours = BitSerialColumn(16, 16, bitweight=BitWeightConfig(
        encoding="ent", stats=DigitStats.from_testbench(std), opt1_carry_save=True))
    laconic = BitSerialColumn(16, 16, bitweight=BitWeightConfig(
        stats=DigitStats.from_testbench(std, encoding="booth4"), term_pairs=True), column_encoder=False)
    return ours, laconic


def _column(n: int) -> Engine:
    return BitSerialColumn(n, 1, bitweight=BitWeightConfig(encoding="ent", stats=DigitStats.from_testbench(30),
                                                           opt1_carry_save=True))


def model_figures() -> dict[str, float]:
    """The model's value of every figure id in ``paper_figures.json``."""
    out: dict[str, float] = {}
    for arch, make in _ARCHS.items():
        ae, ee = _eff_ratio(make(_OPT12), make(_PLAIN))
        out[f"abstract.{arch}.area_eff"], out[f"abstract.{arch}.energy_eff"] = ae, ee
    ours, laconic = _bitslice_pair()
    out["abstract.bitslice.area_eff"], out["abstract.bitslice.energy_eff"] = _eff_ratio(ours, laconic)
    for k in (32, 128):
        for std in (10, 20, 30, 40, 50):
            out[f"testbench.pp.k{k}.std{std}"] = DigitStats.from_testbench(std).testbench_average(k)
    pairs = {"pe": lambda c: SystolicArray(1, 1, "os", bitweight=c),
             "sa_os": lambda c: SystolicArray(16, 16, "os", bitweight=c),
             "sa_ws": lambda c: SystolicArray(16, 16, "ws", bitweight=c),
             "cube": lambda c: Cube3D(8, 8, 8, bitweight=c)}
    for key, make in pairs.items():
        opt, base = make(_OPT1), make(_PLAIN)
        out[f"syn.{key}.opt1_clock"] = opt.freq_mhz / base.freq_mhz
        area = _one_pe_area if key == "pe" else _pe_area
        out[f"syn.{key}.opt1_area"] = area(opt) / area(base)
    trees = {n: AdderTree(16, n, bitweight=_OPT12) for n in (4, 8, 16, 32)}
    for n in (8, 16, 32):
        out[f"syn.tree_opt2.area_per_mult.n{n}"] = _pe_area(trees[n]) / _pe_area(trees[4]) * 4 / n
    out["syn.tree_opt2.clock.n32"] = trees[32].freq_mhz / trees[4].freq_mhz
    out["syn.col_opt34.area.n32_n16_1ns"] = _pe_area(_column(32)) / _pe_area(_column(16))
    out["syn.col_opt34.clock.n32_n16"] = _column(32).freq_mhz / _column(16).freq_mhz
    return out


def compare() -> list[dict[str, Any]]:
    """Every figure: ``{id, what, paper, model, error, tol, ok, source, why}`` (error = model / paper - 1)."""
    model = model_figures()
    rows = []
    for f in paper_figures()["figures"]:
        m = model[f["id"]]
        err = m / f["paper"] - 1.0
        rows.append({"id": f["id"], "what": f["what"], "paper": f["paper"], "model": m, "error": err,
                     "tol": f["tol"], "ok": abs(err) <= f["tol"] + 1e-12, "source": f["source"],
                     "why": KNOWN_MISSES.get(f["id"], "")})
    return rows


def absolute_saed32() -> list[dict[str, Any]]:
    """Absolute PE-array areas (um^2) and clocks (MHz) of the model with the SAED32 table beside the reports."""
    tech = TechTable.named("saed32")
    fast = paper_figures()["fastest"]
    designs: dict[str, Engine] = {
        "pe_mac": SystolicArray(1, 1, "os", bitweight=_PLAIN, tech=tech),
        "pe_opt1": SystolicArray(1, 1, "os", bitweight=_OPT1, tech=tech),
        "sa_os_mac": SystolicArray(16, 16, "os", bitweight=_PLAIN, tech=tech),
        "sa_os_opt1": SystolicArray(16, 16, "os", bitweight=_OPT1, tech=tech),
        "sa_ws_mac": SystolicArray(16, 16, "ws", bitweight=_PLAIN, tech=tech),
        "sa_ws_opt1": SystolicArray(16, 16, "ws", bitweight=_OPT1, tech=tech),
        "cube_mac": Cube3D(8, 8, 8, bitweight=_PLAIN, tech=tech),
        "cube_opt1": Cube3D(8, 8, 8, bitweight=_OPT1, tech=tech),
        **{f"tree_opt2_n{n}": AdderTree(16, n, bitweight=_OPT12, tech=tech) for n in (4, 8, 16, 32)},
        **{f"col_opt34_n{n}": BitSerialColumn(n, 1, bitweight=BitWeightConfig(
            encoding="ent", stats=DigitStats.from_testbench(30), opt1_carry_save=True), tech=tech) for n in (16, 32)},
    }
    rows = []
    for key, e in designs.items():
        rep = fast[key]
        rows.append({"design": key, "area_um2": _pe_area(e) * 1e6, "report_area_um2": rep["cell_area_um2"],
                     "clock_mhz": e.max_clock_mhz, "report_clock_mhz": 1e3 / rep["period_ns"]})
    return rows
