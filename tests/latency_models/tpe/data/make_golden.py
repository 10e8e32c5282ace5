"""Regenerate ``scalesim_golden.json`` by running SCALE-Sim 3.0 (dev only; not a test, not a runtime dependency).

    pip install scalesim            # SCALE-Sim 3.0.0 needs numpy < 2.3 (it calls int() on 1-element arrays)
    python tests/latency_models/tpe/data/make_golden.py [--out FILE] [--seed 0] [--random 40]

Every case is one SCALE-Sim run (config + topology written to a temporary folder, CALC bandwidth mode)
and records, per SCALE-Sim layer, what COMPUTE_REPORT.csv and DETAILED_ACCESS_REPORT.csv say.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import random
import tempfile
import time
from pathlib import Path

_CFG = """[general]
run_name = run

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: {ikb}
FilterSramSzkB: {fkb}
OfmapSramSzkB: {okb}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth: 10
Dataflow: {df}
MemoryBanks: 1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"
GEMM_HEADER = "Layer, M, N, K,"


def topology_text(layers: list[list], gemm: bool) -> str:
    lines = [GEMM_HEADER if gemm else CONV_HEADER]
    lines += [", ".join(str(x) for x in row) + "," for row in layers]
    return "\n".join(lines) + "\n"


def run_scalesim(layers: list[list], rows: int, cols: int, df: str, *, gemm: bool = False,
                 sram_kb: tuple[int, int, int] = (64, 64, 64)) -> list[dict]:
    from scalesim.scale_sim import scalesim

    d = Path(tempfile.mkdtemp(prefix="scalesim_"))
    topo = d / "topo.csv"
    topo.write_text(topology_text(layers, gemm))
    cfg = d / "run.cfg"
    cfg.write_text(_CFG.format(rows=rows, cols=cols, df=df, ikb=sram_kb[0], fkb=sram_kb[1], okb=sram_kb[2]))
    with contextlib.redirect_stdout(io.StringIO()):
        sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg), topology=str(topo), layout=str(topo),
                       input_type_gemm=gemm)
        sim.run_scale(top_path=str(d))
    comp = list(csv.reader(open(d / "run" / "COMPUTE_REPORT.csv")))[1:]
    det = list(csv.reader(open(d / "run" / "DETAILED_ACCESS_REPORT.csv")))[1:]
    names = sim.topo.get_layer_names()
    out = []
    for i, (c, a) in enumerate(zip(comp, det)):
        c, a = [x.strip() for x in c], [x.strip() for x in a]
        out.append({"name": names[i], "total_cycles_incl_prefetch": int(c[1]), "compute_cycles": int(c[2]),
                    "stall_cycles": int(c[3]), "overall_util_pct": float(c[4]), "mapping_eff_pct": float(c[5]),
                    "compute_util_pct": float(c[6]), "sram_ifmap_reads": int(float(a[3])),
                    "sram_filter_reads": int(float(a[6])), "sram_ofmap_writes": int(float(a[9])),
                    "dram_ifmap_reads": int(float(a[12])), "dram_filter_reads": int(float(a[15])),
                    "dram_ofmap_writes": int(float(a[18]))})
    return out


def _conv_layers(rng: random.Random, n: int, prefix: str) -> list[list]:
    layers = []
    for i in range(n):
        k = rng.choice([1, 1, 3, 3, 5, 7])
        h = rng.randint(k, 20)
        w = rng.randint(k, 20)
        kw = k if rng.random() < 0.8 else rng.randint(1, min(k, w))
        s = rng.choice([1, 1, 2, 2, 3])
        c = rng.choice([1, 2, 3, 8, 16, 24, 40])
        f = rng.choice([1, 4, 7, 16, 33, 64])
        name = f"{prefix}{i}"
        if rng.random() < 0.12:
            name = f"{prefix}DP{i}"
            c = rng.choice([2, 3, 4])
        layers.append([name, h, w, k, kw, c, f, s])
    return layers


#: Depthwise rows whose Num Filter is the channel count (or a multiple of it): what SCALE-Sim 3.0 does with them
#: is recorded next to the same rows with Num Filter 1 and the one-channel conv each channel is, so a test can
#: state both readings (scalesim_dp_golden.json, ``--dp``).
DP_ROWS = [
    ["DPa", 9, 9, 3, 3, 4, 4, 1],
    ["DPa", 9, 9, 3, 3, 4, 1, 1],
    ["DPb", 12, 10, 3, 3, 8, 8, 2],
    ["DPb", 12, 10, 3, 3, 8, 1, 2],
    ["DPc", 7, 7, 5, 5, 6, 12, 1],
    ["DPc", 7, 7, 5, 5, 6, 2, 1],
    ["cc", 7, 7, 5, 5, 1, 2, 1],
    ["DPd", 10, 10, 3, 3, 20, 20, 1],
    ["DPd", 10, 10, 3, 3, 20, 1, 1],
]


def dp_cases() -> list[dict]:
    cases = []
    for rows, cols in [(4, 4), (8, 8), (16, 4)]:
        for df in ("os", "ws", "is"):
            for row in DP_ROWS:
                cases.append({"array": [rows, cols], "dataflow": df, "input_type": "conv", "sram_kb": [64, 64, 64],
                              "layers": [row]})
    return cases


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).with_name("scalesim_golden.json")))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--random", type=int, default=30, help="random (array, dataflow, topology) cases")
    ap.add_argument("--dp", action="store_true", help="write the depthwise cases (scalesim_dp_golden.json) instead")
    args = ap.parse_args()
    if args.dp:
        cases = dp_cases()
        for case in cases:
            case["results"] = run_scalesim(case["layers"], case["array"][0], case["array"][1], case["dataflow"])
        out = Path(__file__).with_name("scalesim_dp_golden.json")
        meta = {"generator": "tests/latency_models/tpe/data/make_golden.py --dp", "scalesim_version": "3.0.0",
                "mode": "CALC bandwidth"}
        out.write_text(json.dumps({"meta": meta, "cases": cases}, separators=(",", ":")))
        print(f"{len(cases)} depthwise cases -> {out}")
        return
    rng = random.Random(args.seed)
    fixed_conv = [
        ["conv1", 10, 10, 3, 3, 4, 5, 1],
        ["odd_stride", 9, 8, 3, 2, 3, 7, 2],
        ["ceil_gap", 8, 8, 3, 3, 6, 9, 2],
        ["pw", 7, 7, 1, 1, 32, 48, 1],
        ["big_stride", 11, 11, 2, 2, 3, 5, 3],
        ["wide", 6, 19, 3, 5, 5, 11, 1],
        ["DPdw", 9, 9, 3, 3, 3, 1, 1],
        ["full", 5, 5, 5, 5, 4, 10, 1],
    ]
    fixed_gemm = [["g1", 17, 9, 23], ["g2", 64, 32, 48], ["g3", 5, 70, 3], ["g4", 1, 40, 100]]
    cases = []
    for rows, cols in [(4, 4), (8, 8), (4, 3), (16, 8), (2, 16), (32, 32)]:
        for df in ("os", "ws", "is"):
            cases.append({"array": [rows, cols], "dataflow": df, "input_type": "conv", "sram_kb": [64, 64, 64],
                          "layers": fixed_conv})
            cases.append({"array": [rows, cols], "dataflow": df, "input_type": "gemm", "sram_kb": [64, 64, 64],
                          "layers": fixed_gemm})
    for i in range(args.random):
        rows = rng.choice([1, 2, 3, 4, 5, 8, 12, 16, 32])
        cols = rng.choice([1, 2, 3, 4, 7, 8, 16, 32])
        df = rng.choice(["os", "ws", "is"])
        kb = rng.choice([[64, 64, 64], [2, 2, 2], [8, 4, 1], [256, 256, 128]])
        if rng.random() < 0.25:
            layers = [[f"r{i}g{j}", rng.randint(1, 80), rng.randint(1, 80), rng.randint(1, 80)] for j in range(4)]
            cases.append({"array": [rows, cols], "dataflow": df, "input_type": "gemm", "sram_kb": kb,
                          "layers": layers})
        else:
            cases.append({"array": [rows, cols], "dataflow": df, "input_type": "conv", "sram_kb": kb,
                          "layers": _conv_layers(rng, 5, f"r{i}_")})
    t0 = time.time()
    for case in cases:
        t = time.time()
        case["results"] = run_scalesim(case["layers"], case["array"][0], case["array"][1], case["dataflow"],
                                       gemm=case["input_type"] == "gemm", sram_kb=tuple(case["sram_kb"]))
        case["scalesim_seconds"] = round(time.time() - t, 4)
    import scalesim  # noqa: F401

    meta = {"generator": "tests/latency_models/tpe/data/make_golden.py", "scalesim_version": "3.0.0",
            "mode": "CALC bandwidth", "seed": args.seed, "seconds": round(time.time() - t0, 1)}
    Path(args.out).write_text(json.dumps({"meta": meta, "cases": cases}, separators=(",", ":")))
    n = sum(len(c["results"]) for c in cases)
    print(f"{len(cases)} cases, {n} SCALE-Sim layers, {meta['seconds']} s -> {args.out}")


if __name__ == "__main__":
    main()
