"""Engines: hand-checked cycles and traffic, energy/area breakdowns, networks, target names and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from hwnas.api import UserError, collect_opspecs
from hwnas.cli import main
from hwnas.latency_models.tpe import (
    EXAMPLE_NAMES,
    AdderTree,
    BitSerialColumn,
    Cube3D,
    Gemm,
    Matrix2D,
    SystolicArray,
    read_topology,
    tpe_from_name,
)

ENERGY_KEYS = {"mac", "register", "sram", "dram", "leakage"}


def test_systolic_cycles_by_dataflow() -> None:
    g = Gemm(m=20, n=10, k=12)  # R=4, C=3
    os_ = SystolicArray(4, 3, "os").evaluate_gemm(g)
    assert os_.compute_cycles == 5 * 4 * (12 + 4 + 3 - 2)  # folds ceil(20/4)*ceil(10/3), T=K
    assert os_.sram_ifmap_reads == 4 * 12 * 20 and os_.sram_filter_reads == 5 * 12 * 10
    assert os_.sram_ofmap_writes == 200
    ws = SystolicArray(4, 3, "ws").evaluate_gemm(g)
    assert ws.compute_cycles == 3 * 4 * (2 * 4 + 3 + 20 - 2)  # K x N folds, T=M
    assert ws.sram_filter_reads == 120 and ws.sram_ofmap_writes == 3 * 20 * 10 and ws.sram_ofmap_reads == 2 * 200
    is_ = SystolicArray(4, 3, "is").evaluate_gemm(g)
    assert is_.compute_cycles == 3 * 7 * (2 * 4 + 3 + 10 - 2)  # K x M folds, T=N
    for r in (os_, ws, is_):
        # (SCALE-Sim's ws/is compute utilization counts C-1 extra drain cycles per fold, so it can sit
        # below the overall utilization.)
        assert 0 < r.overall_util_pct <= r.mapping_eff_pct <= 100 and 0 < r.compute_util_pct <= r.mapping_eff_pct
        assert set(r.energy_pj) == ENERGY_KEYS and all(v > 0 for v in r.energy_pj.values())


def test_scalesim_compat_differs_by_one_cycle_and_ceil_size() -> None:
    g = Gemm(m=64, n=8, k=8)
    assert SystolicArray(8, 8, "os", scalesim_compat=True).evaluate_gemm(g).compute_cycles == \
        SystolicArray(8, 8, "os").evaluate_gemm(g).compute_cycles - 1


def test_other_engines_hand_checked() -> None:
    g = Gemm(m=64, n=64, k=64)
    cube = Cube3D(16, 16, 16).evaluate_gemm(g)
    assert cube.compute_cycles == 4 * 4 * 4 + 6  # tiles + adder-tree depth log2(16) + 2
    assert cube.mapping_eff_pct == 100.0
    assert cube.sram_ifmap_reads == 64 * 64 * 4 and cube.sram_filter_reads == 64 * 64 * 4
    tree = AdderTree(16, 16).evaluate_gemm(g)
    assert tree.compute_cycles == 4 * 4 * 64 + 16 * 7
    assert tree.sram_filter_reads == 64 * 64 and tree.sram_ofmap_writes == 64 * 64 * 4
    mat = Matrix2D(16, 16).evaluate_gemm(Gemm(m=20, n=16, k=10))
    assert mat.compute_cycles == 2 * 1 * 10 + 2 * 2
    assert mat.mapping_eff_pct == pytest.approx(100 * 20 * 16 / (2 * 256))
    bs = BitSerialColumn(16, 16)
    assert bs.evaluate_gemm(g).compute_cycles > Matrix2D(16, 16).evaluate_gemm(g).compute_cycles


def test_dram_counts_unique_data_when_it_fits_and_more_when_not() -> None:
    g = Gemm(m=64, n=64, k=64)
    big = SystolicArray(16, 16, "ws", sram_kb=(64, 64, 64)).evaluate_gemm(g)
    assert (big.dram_ifmap_reads, big.dram_filter_reads, big.dram_ofmap_writes) == (4096, 4096, 4096)
    small = SystolicArray(16, 16, "ws", sram_kb=(1, 1, 1)).evaluate_gemm(Gemm(m=256, n=256, k=256))
    assert small.dram_ifmap_reads + small.dram_filter_reads > 2 * 256 * 256  # operands re-streamed
    assert small.energy_pj["dram"] > 64 * big.energy_pj["dram"]
    # partial sums that do not fit: either spilled to DRAM or the filters re-read per chunk of outputs
    spill = small.dram_ofmap_writes > 256 * 256 and small.dram_ofmap_reads > 0
    assert spill or small.dram_filter_reads > 256 * 256
    slow = SystolicArray(16, 16, "ws", dram_gbps=0.5).evaluate_gemm(g)
    assert slow.stall_cycles > 0 and slow.total_cycles == slow.compute_cycles + slow.stall_cycles


def test_area_and_network() -> None:
    assert SystolicArray(32, 32).area_mm2 > SystolicArray(16, 16).area_mm2
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, groups=16, padding=1),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    specs = collect_opspecs(net, torch.zeros(1, 3, 16, 16))
    res = tpe_from_name("systolic-16x16-os-int8").evaluate_network(specs)
    assert len(res.layers) == 3 and res.macs == sum(r.macs for r in res.layers)
    assert res.latency_ms == pytest.approx(sum(r.latency_ms for r in res.layers))
    summ = res.summary()
    assert summ["energy_mj"] > 0 and set(summ["energy_pj"]) == ENERGY_KEYS and 0 < summ["overall_util_pct"] <= 100


def test_target_names() -> None:
    for name in EXAMPLE_NAMES:
        assert tpe_from_name(name).n_pe > 0
    e = tpe_from_name("systolic-32x32-ws-int8")
    assert isinstance(e, SystolicArray) and (e.rows, e.cols, e.dataflow, e.precision.name) == (32, 32, "ws", "int8")
    e = tpe_from_name("cube-4x8x16-fp16-opt1-opt2-sram32.32.16-mhz500")
    assert isinstance(e, Cube3D) and e.bitweight.options == ("opt1_carry_save", "opt2_shared_encoding")
    assert e.sram_kb == (32.0, 32.0, 16.0) and e.freq_base_mhz == 500.0
    assert tpe_from_name("systolic-8x8-os-scalesim").scalesim_compat
    assert tpe_from_name("tpe:matrix-4x4-int4").name == "matrix-4x4-int4"
    for bad, msg in [("gpu-8x8", "unknown kind"), ("systolic-8", "2 dimensions"), ("cube-8x8x8-ws", "only applies"),
                     ("tree-8x8-int8-turbo", "unknown token")]:
        with pytest.raises(UserError, match=msg):
            tpe_from_name(bad)


@pytest.mark.parametrize("name", [*EXAMPLE_NAMES, "bitserial-16x16-int8-ent-opt1", "tree-8x8-int8-ent",
                                  "systolic-8x8-os-int8-ent-opt1-opt2-scalesim", "cube-8x8x8-int8-opt1-opt2-opt3-opt4"])
def test_engine_name_says_the_whole_design(name: str) -> None:
    # A report's engine name must rebuild what was priced: encoding and options included.
    e = tpe_from_name(name)
    assert e.name == name
    again = tpe_from_name(e.name)
    assert again.bitweight == e.bitweight and again.area_mm2 == e.area_mm2
    assert tpe_from_name("tree-8x8-int8-opt1").name != tpe_from_name("tree-8x8-int8").name


def test_topology_dp_and_gemm(tmp_path: Path) -> None:
    conv = tmp_path / "c.csv"
    conv.write_text("Layer, H, W, R, S, C, F, Stride,\nDPconv, 8, 8, 3, 3, 3, 1, 1,\nc2, 8, 8, 1, 1, 3, 4, 1,\n")
    compat = read_topology(conv, scalesim=True)
    assert [x.name for x in compat] == ["DPconvChannel_0", "DPconvChannel_1", "DPconvChannel_2", "c2"]
    merged = read_topology(conv)
    assert merged[0].gemm.repeat == 3 and merged[0].gemm.macs == sum(x.gemm.macs for x in compat[:3])
    gemm = tmp_path / "g.csv"
    gemm.write_text("Layer, M, N, K,\ng1, 10, 20, 30,\n")
    assert [(x.gemm.m, x.gemm.n, x.gemm.k) for x in read_topology(gemm)] == [(10, 20, 30)]


@pytest.mark.parametrize("content,msg", [
    ("", "empty"),
    ("Layer, H, W, R, S, C, F, Stride,\nc1, 8, 8, 3,\n", "needs name, ifmap h"),
    ("Layer, H, W, R, S, C, F, Stride,\nc1, 8, eight, 3, 3, 3, 4, 1,\n", "not a number"),
    ("Layer, H, W, R, S, C, F, Stride,\nc1, 2, 2, 3, 3, 3, 4, 1,\n", "larger than the ifmap"),
    ("Layer, H, W, R, S, C, F, Stride,\n", "no layers"),
])
def test_cli_bad_files_give_one_line_errors(content: str, msg: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(content)
    assert main(["tpe", "--topology", str(f)]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_table_and_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "t.csv"
    f.write_text("Layer, H, W, R, S, C, F, Stride,\nc1, 16, 16, 3, 3, 8, 16, 1,\n")
    assert main(["tpe", "--topology", str(f), "--array", "8x8", "--dataflow", "is"]) == 0
    out = capsys.readouterr().out
    assert "systolic-8x8-is-int8" in out and "c1" in out and "total" in out
    assert main(["tpe", "--topology", str(f), "--engine", "tree-16x16-int8", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["layers"][0]
    assert row["compute_cycles"] > 0 and row["energy_total_pj"] == pytest.approx(sum(row["energy_pj"].values()))
    assert main(["tpe", "--topology", str(f), "--array", "8by8"]) == 2
