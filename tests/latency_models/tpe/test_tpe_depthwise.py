"""Depthwise (DP) topology rows whose Num Filter is the channel count, against SCALE-Sim 3.0 run on them.

``data/scalesim_dp_golden.json`` (``make_golden.py --dp``) holds what SCALE-Sim 3.0.0 reports for DP rows with
Num Filter = C (and 2C), next to the same rows with Num Filter 1 (or 2) and a one-channel conv.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from hwnas.api import collect_opspecs
from hwnas.cli import main
from hwnas.latency_models.tpe import SystolicArray, TopologyError, read_topology

GOLDEN = json.loads((Path(__file__).with_name("data") / "scalesim_dp_golden.json").read_text())
EXACT = ("compute_cycles", "overall_util_pct", "mapping_eff_pct", "compute_util_pct", "sram_ifmap_reads",
         "sram_filter_reads", "sram_ofmap_writes")
HEAD = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"


def _write(rows: list[list], path: Path) -> Path:
    path.write_text("\n".join([HEAD] + [", ".join(map(str, r)) + "," for r in rows]) + "\n")
    return path


def _sim(array: list[int], df: str, row: list) -> list[dict]:
    for c in GOLDEN["cases"]:
        if c["array"] == array and c["dataflow"] == df and c["layers"] == [row]:
            return c["results"]
    raise KeyError(row)


def _exact(d: dict) -> dict:
    return {k: d[k] for k in EXACT}


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: f"{c['array']}-{c['dataflow']}-{c['layers'][0][:1]}"
                                                          f"{c['layers'][0][5:7]}")
def test_per_channel_reading_reproduces_scalesim(case, tmp_path):
    layers = read_topology(_write(case["layers"], tmp_path / "t.csv"), scalesim=True, dp_num_filter="per_channel")
    sa = SystolicArray(*case["array"], case["dataflow"], scalesim_compat=True)
    assert [lay.name for lay in layers] == [r["name"] for r in case["results"]]
    for lay, ref in zip(layers, case["results"]):
        assert _exact(sa.evaluate_gemm(lay.gemm).to_dict()) == _exact(ref)


def test_scalesim_gives_every_channel_num_filter_filters():
    # The evidence for the departure: with Num Filter = C = 4, SCALE-Sim reads 4x the filter words per channel.
    many, one = _sim([4, 4], "ws", ["DPa", 9, 9, 3, 3, 4, 4, 1]), _sim([4, 4], "ws", ["DPa", 9, 9, 3, 3, 4, 1, 1])
    assert len(many) == len(one) == 4
    assert [r["sram_filter_reads"] for r in many] == [36] * 4 and [r["sram_filter_reads"] for r in one] == [9] * 4


@pytest.mark.parametrize("array", [[4, 4], [8, 8], [16, 4]])
@pytest.mark.parametrize("df", ["os", "ws", "is"])
@pytest.mark.parametrize("row, per_channel_row", [
    (["DPa", 9, 9, 3, 3, 4, 4, 1], ["DPa", 9, 9, 3, 3, 4, 1, 1]),
    (["DPb", 12, 10, 3, 3, 8, 8, 2], ["DPb", 12, 10, 3, 3, 8, 1, 2]),
    (["DPd", 10, 10, 3, 3, 20, 20, 1], ["DPd", 10, 10, 3, 3, 20, 1, 1]),
    (["DPc", 7, 7, 5, 5, 6, 12, 1], ["DPc", 7, 7, 5, 5, 6, 2, 1]),  # multiplier 2: two filters per channel
])
def test_compat_mode_reads_num_filter_as_the_layers_filters(array, df, row, per_channel_row, tmp_path):
    layers = read_topology(_write([row], tmp_path / "t.csv"), scalesim=True)
    sa = SystolicArray(*array, df, scalesim_compat=True)
    ref = _sim(array, df, per_channel_row)  # SCALE-Sim on the row written with filters per channel
    assert len(layers) == row[5] == len(ref)
    for lay, r in zip(layers, ref):
        assert lay.gemm.n == row[6] // row[5]
        assert _exact(sa.evaluate_gemm(lay.gemm).to_dict()) == _exact(r)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_one_channel_of_a_multiplier_two_row_is_scalesims_one_channel_conv(df, tmp_path):
    layers = read_topology(_write([["DPc", 7, 7, 5, 5, 6, 12, 1]], tmp_path / "t.csv"), scalesim=True)
    (conv,) = _sim([8, 8], df, ["cc", 7, 7, 5, 5, 1, 2, 1])
    sa = SystolicArray(8, 8, df, scalesim_compat=True)
    assert _exact(sa.evaluate_gemm(layers[3].gemm).to_dict()) == _exact(conv)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_default_mode_prices_a_dp_row_as_the_pytorch_depthwise_conv(df, tmp_path):
    (lay,) = read_topology(_write([["DPd", 10, 10, 3, 3, 20, 20, 1]], tmp_path / "t.csv"))
    assert (lay.gemm.m, lay.gemm.n, lay.gemm.k, lay.gemm.repeat) == (64, 1, 9, 20)
    conv = nn.Conv2d(20, 20, 3, groups=20, bias=False)
    (spec,) = [s for s in collect_opspecs(conv, torch.zeros(1, 20, 10, 10)) if s.kind == "conv"]
    sa = SystolicArray(8, 8, df)
    assert sa.evaluate_gemm(lay.gemm).to_dict() == sa.evaluate(spec).to_dict() | {"name": "DPd"}
    # SCALE-Sim's reading would price 20 filters per channel: 20x the MACs.
    (lay_pc,) = read_topology(_write([["DPd", 10, 10, 3, 3, 20, 20, 1]], tmp_path / "t.csv"),
                              dp_num_filter="per_channel")
    assert lay_pc.gemm.macs == 20 * lay.gemm.macs


def test_num_filter_that_is_no_multiple_of_channels_is_an_error(tmp_path):
    with pytest.raises(TopologyError, match=r"t.csv:2: a depthwise row's Num Filter \(6\).*Channels \(4\).*"
                                            r"per_channel"):
        read_topology(_write([["DPx", 9, 9, 3, 3, 4, 6, 1]], tmp_path / "t.csv"))
    with pytest.raises(TopologyError, match="unknown dp_num_filter 'each'"):
        read_topology(_write([["DPx", 9, 9, 3, 3, 4, 4, 1]], tmp_path / "t.csv"), dp_num_filter="each")


def test_cli_reports_the_reading(tmp_path, capsys):
    topo = _write([["DPa", 9, 9, 3, 3, 4, 4, 1]], tmp_path / "t.csv")
    assert main(["tpe", "--topology", str(topo), "--array", "4x4", "--scalesim-compat", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dp_num_filter"] == "total" and [r["sram_filter_reads"] for r in doc["layers"]] == [9] * 4
    assert main(["tpe", "--topology", str(topo), "--array", "4x4", "--scalesim-compat", "--dp-num-filter",
                 "per_channel", "--json"]) == 0
    assert [r["sram_filter_reads"] for r in json.loads(capsys.readouterr().out)["layers"]] == [36] * 4
