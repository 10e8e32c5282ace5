"""The summary of ``benchmarks/cosearch.py --seeds N``: ratios, the a-priori pick and the count of beaten searches."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "cosearch.py"


def _bench():
    spec = importlib.util.spec_from_file_location("cosearch_benchmark", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _row(run: str, seed: int, lxe: float | None, prior: float | None = None, trained: float = 0.5) -> dict:
    row = {"space": "nb201", "run": run, "seed": seed, "prior_lxe": prior}
    if lxe is None:
        return {**row, "error": "no hardware configuration meets the budget"}
    return {**row, "latency_x_energy": lxe, "trained": trained, "engine": run.removeprefix("fixed ")}


def test_summary_sets_the_co_search_against_hindsight_and_the_a_priori_pick():
    rows = [
        _row("co-search", 0, 2e-3), _row("co-search, most probable hw", 0, 9e-3),
        _row("fixed a", 0, 4e-3, prior=1.0), _row("fixed b", 0, None, prior=0.5), _row("fixed c", 0, 1e-3, prior=2.0),
        _row("co-search", 1, 1e-3),
        _row("fixed a", 1, 4e-3, prior=1.0), _row("fixed b", 1, 3e-3, prior=0.5), _row("fixed c", 1, 2e-3, prior=2.0),
    ]
    lines = _bench()._summary(rows).splitlines()
    s0, s1, total = lines[1].split(), lines[2].split(), lines[3]
    # seed 0: the a-priori pick (b, lowest prior) broke a budget; the best in hindsight is c; beats a and b
    assert s0[:5] == ["nb201", "0", "2.0000", "over", "budget"]
    assert s0[5:7] == ["1.0000", "2.000"] and s0[7:10] == ["2", "of", "3"] and s0[-1] == "c"
    # seed 1: a-priori b gave 3.0; the co-search beats all three
    assert s1[2:6] == ["1.0000", "3.0000", "2.0000", "0.500"] and s1[6:9] == ["3", "of", "3"]
    assert "at 1 of 2 seeds" in total
    assert float(total.rsplit(" ", 1)[1]) == pytest.approx((2.0 * 0.5) ** 0.5, abs=1e-3)


def test_summary_names_a_co_search_without_a_pair():
    rows = [_row("co-search", 0, None), _row("fixed a", 0, 4e-3, prior=1.0)]
    assert "the co-search found no pair within the budgets" in _bench()._summary(rows)
