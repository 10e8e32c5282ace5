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


def _pair(run: str, lat: float, en: float, trained: float) -> dict:
    return {"space": "nb201", "run": run, "seed": 0, "prior_lxe": 1.0, "latency_ms": lat, "energy_mj": en,
            "latency_x_energy": lat * en, "trained": trained, "engine": run.removeprefix("fixed ")}


def test_objective_summary_scores_error_and_cost_together():
    terms = {"nb201": [("latency_ms", 0.02, 0.5), ("energy_mj", 0.04, 0.5)]}
    rows = [_pair("co-search", 0.02, 0.04, 0.6),  # objective 0.4
            _pair("fixed cheap", 0.005, 0.01, 0.1),  # lowest latency x energy, collapsed accuracy: 0.9 * 0.25
            _pair("fixed good", 0.04, 0.04, 0.7),  # 0.3 * sqrt(2) = 0.4243
            _pair("fixed worse", 0.04, 0.08, 0.5)]  # 0.5 * 2 = 1.0, dominated by the co-search
    bench = _bench()
    assert bench._objective(rows[0], terms["nb201"]) == pytest.approx(0.4)
    text = bench._summary(rows, terms)
    # by latency x energy alone the co-search loses to the collapsed network ...
    assert text.splitlines()[1].split()[5] == "16.000"  # 0.8 against the best fixed 0.05 (1e-3 ms·mJ)
    obj = next(line for line in text.splitlines() if line.startswith("nb201") and "0.4000" in line).split()
    # ... by the objective the best fixed search is the collapsed one (0.225), and the co-search beats two of three
    assert obj[2:5] == ["0.4000", "0.2250", "1.778"] and obj[5:8] == ["2", "of", "3"]
    assert obj[8:10] == ["1", "0"] and obj[-1] == "cheap"  # dominates 'worse'; nothing dominates it
    assert "at 0 of 1 seeds" in text.splitlines()[-2]
