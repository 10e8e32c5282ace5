"""``hwnas tpe``: network totals beside the layers in --json, and why --scalesim-compat's energy differs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwnas.cli import build_parser, main

TOPOLOGY = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
Conv1, 34, 34, 3, 3, 3, 16, 1,
Conv2DP, 18, 18, 3, 3, 4, 4, 1,
FC, 1, 1, 1, 1, 256, 10, 1,
"""
# 32*32 outputs x 27 x 16 + 4 channels x 16*16 outputs x 9 x 1 filter (Num Filter 4 = C: multiplier 1) + 256 x 10
MACS = 442_368 + 9_216 + 2_560
SUMMED = ("macs", "compute_cycles", "total_cycles", "stall_cycles", "latency_ms", "energy_total_pj",
          "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "dram_ifmap_reads", "dram_ofmap_writes")


def _json(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    f = tmp_path / "t.csv"
    f.write_text(TOPOLOGY)
    assert main(["tpe", "--topology", str(f), "--array", "8x8", "--dataflow", "os", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("compat", [False, True], ids=["default", "scalesim"])
def test_totals_are_the_sums_of_the_layers(compat, tmp_path, capsys):
    doc = _json(tmp_path, capsys, *(["--scalesim-compat"] if compat else []))
    layers, t = doc["layers"], doc["totals"]
    assert t["layers"] == len(layers) == (6 if compat else 3)  # compat: the DP row is one layer per channel
    assert t["macs"] == MACS
    for k in SUMMED:
        assert t[k] == pytest.approx(sum(r[k] for r in layers), rel=1e-12), k
    for k, v in t["energy_pj"].items():
        assert v == pytest.approx(sum(r["energy_pj"][k] for r in layers), rel=1e-12)
    assert t["energy_mj"] == pytest.approx(t["energy_total_pj"] * 1e-9)
    assert t["overall_util_pct"] == pytest.approx(100 * MACS / (64 * t["compute_cycles"]))
    weights = [r["compute_cycles"] for r in layers]
    assert t["mapping_eff_pct"] == pytest.approx(
        sum(r["mapping_eff_pct"] * w for r, w in zip(layers, weights)) / sum(weights))
    assert doc["engine"]["n_pe"] == 64 and doc["scalesim_compat"] is compat
    assert ("energy_note" in doc) is compat


def test_scalesim_compat_says_why_its_energy_differs(tmp_path, capsys):
    plain, compat = _json(tmp_path, capsys), _json(tmp_path, capsys, "--scalesim-compat")
    assert plain["totals"]["energy_total_pj"] != compat["totals"]["energy_total_pj"]
    assert "SCALE-Sim reports no energy" in compat["energy_note"] and "tech_45nm.json" in compat["energy_note"]
    f = tmp_path / "t.csv"
    assert main(["tpe", "--topology", str(f), "--array", "8x8", "--dataflow", "os", "--scalesim-compat"]) == 0
    out = capsys.readouterr().out
    assert "# energy: SCALE-Sim reports no energy" in out and "# total: 6 layers" in out
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert "Energy differs from the default mode because" in " ".join(sub.choices["tpe"].format_help().split())
