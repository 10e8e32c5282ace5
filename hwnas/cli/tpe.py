"""``hwnas tpe``: price a SCALE-Sim topology file on a systolic array (or any TPE), in microseconds.

Usage: ``hwnas tpe --topology net.csv --array 32x32 --dataflow ws [--scalesim-compat] [--json]`` or
``hwnas tpe --topology net.csv --engine cube-16x16x16-int8``. ``--json`` prints the engine, the network
totals and the per-layer list.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from hwnas.api.errors import UserError

_FIELDS = ("name", "compute_cycles", "overall_util_pct", "mapping_eff_pct", "compute_util_pct", "sram_ifmap_reads",
           "sram_filter_reads", "sram_ofmap_writes", "sram_ofmap_reads", "dram_ifmap_reads", "dram_filter_reads",
           "dram_ofmap_writes", "dram_ofmap_reads", "stall_cycles", "total_cycles", "latency_ms", "energy_pj",
           "energy_total_pj", "m", "n", "k", "macs")
_SUMMED = ("macs", "compute_cycles", "total_cycles", "stall_cycles", "latency_ms", "energy_total_pj",
           "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "sram_ofmap_reads", "dram_ifmap_reads",
           "dram_filter_reads", "dram_ofmap_writes", "dram_ofmap_reads")
_TOTALS_RULE = ("layers run one after another: counts, cycles, latency and energy are sums over layers; "
                "overall_util_pct is useful MACs / (PEs x compute cycles) of the whole network; mapping_eff_pct and "
                "compute_util_pct are per-layer values weighted by compute cycles")
#: Why --scalesim-compat changes energy although SCALE-Sim 3.0 itself reports none.
COMPAT_ENERGY_NOTE = (
    "SCALE-Sim reports no energy: hwnas prices the counts with its own 45 nm model (tech_45nm.json), so in compat "
    "mode energy follows SCALE-Sim's counts instead of this model's: its output size ceil((H-R+S)/S) (MACs), its "
    "total cycles (leakage), output-stationary drain writes in the ofmap SRAM writes, DRAM as every distinct "
    "operand element read once, and depthwise DP rows priced per channel"
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "tpe", help="price a SCALE-Sim topology on a tensor processing engine",
        description="Per layer: cycles, utilizations, SRAM/DRAM accesses and energy of a SCALE-Sim topology CSV "
                    "(conv rows 'name, ifmap h, ifmap w, filter h, filter w, channels, num filters, stride', "
                    "depthwise when the name contains DP; or GEMM rows 'name, M, N, K').")
    p.add_argument("--topology", required=True, help="SCALE-Sim topology CSV (conv or GEMM form)")
    p.add_argument("--array", default="32x32", help="systolic array RxC (default 32x32)")
    p.add_argument("--dataflow", default="ws", choices=("os", "ws", "is"), help="systolic dataflow (default ws)")
    p.add_argument("--scalesim-compat", action="store_true",
                   help="reproduce SCALE-Sim 3.0 exactly: its output-size formula, its reported total compute "
                        "cycles, utilizations and SRAM counts; depthwise DP rows become one layer per channel. "
                        "Energy differs from the default mode because " + COMPAT_ENERGY_NOTE[0].lower()
                        + COMPAT_ENERGY_NOTE[1:])
    p.add_argument("--dp-num-filter", default="total", choices=("total", "per_channel"),
                   help="what Num Filter means on a depthwise (DP) row: 'total' (default) the layer's filters in "
                        "all, channels x multiplier, so Num Filter = channels is one filter per channel; "
                        "'per_channel' SCALE-Sim 3.0's code, which gives every channel Num Filter filters (use it "
                        "to reproduce SCALE-Sim's numbers for rows whose Num Filter is not 1)")
    p.add_argument("--input-type", default="auto", choices=("auto", "conv", "gemm"),
                   help="topology form (default: detected from the header / row width)")
    p.add_argument("--engine", default=None,
                   help="any TPE target name instead of --array/--dataflow, e.g. cube-16x16x16-int8, "
                        "systolic-32x32-os-int8-opt1 (see hwnas.latency_models.tpe.names)")
    p.add_argument("--precision", default="int8", choices=("int4", "int8", "int16", "fp16"))
    p.add_argument("--sram-kb", default="64,64,64", help="ifmap,filter,ofmap SRAM sizes in KB (default 64,64,64)")
    p.add_argument("--freq-mhz", type=float, default=None, help="clock of the baseline MAC (default 1000)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: engine, network totals and the per-layer list ('layers')")
    return p


def _parse_array(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX*,]\s*(\d+)\s*", text)
    if not m or min(int(m.group(1)), int(m.group(2))) < 1:
        raise UserError(f"--array must look like 32x32 (rows x cols, both >= 1), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _parse_sram(text: str) -> tuple[float, float, float]:
    try:
        vals = tuple(float(x) for x in text.split(","))
    except ValueError:
        vals = ()
    if len(vals) != 3 or min(vals) <= 0:
        raise UserError(f"--sram-kb must be three positive sizes 'ifmap,filter,ofmap' in KB, got {text!r}")
    return vals  # type: ignore[return-value]


def _row(r: Any, name: str) -> dict[str, Any]:
    d = {**r.to_dict(), "name": name}
    return {k: d[k] for k in _FIELDS}


def network_totals(results: list[Any], n_pe: int) -> dict[str, Any]:
    """Whole-network figures of per-layer results (see ``_TOTALS_RULE``)."""
    rows = [r.to_dict() for r in results]
    out: dict[str, Any] = {"layers": len(rows)}
    out.update({k: sum(d[k] for d in rows) for k in _SUMMED})
    out["energy_mj"] = out["energy_total_pj"] * 1e-9
    keys = sorted({k for d in rows for k in d["energy_pj"]})
    out["energy_pj"] = {k: sum(d["energy_pj"].get(k, 0.0) for d in rows) for k in keys}
    cycles = out["compute_cycles"]
    out["overall_util_pct"] = 100.0 * out["macs"] / (n_pe * cycles) if cycles else 0.0
    for k in ("mapping_eff_pct", "compute_util_pct"):
        out[k] = sum(d[k] * d["compute_cycles"] for d in rows) / cycles if cycles else 0.0
    out["rule"] = _TOTALS_RULE
    return out


def run(args: argparse.Namespace) -> int:
    from hwnas.latency_models.tpe import SystolicArray, read_topology, tpe_from_name

    sram = _parse_sram(args.sram_kb)
    if args.engine:
        engine = tpe_from_name(args.engine, sram_kb=sram, freq_mhz=args.freq_mhz)
        compat = bool(getattr(engine, "scalesim_compat", False)) or args.scalesim_compat
        if compat and not getattr(engine, "scalesim_compat", False):
            raise UserError("--scalesim-compat only applies to systolic engines (add -scalesim to the name)")
    else:
        rows, cols = _parse_array(args.array)
        compat = args.scalesim_compat
        engine = SystolicArray(rows, cols, args.dataflow, scalesim_compat=compat, precision=args.precision,
                               sram_kb=sram, freq_mhz=args.freq_mhz)
    layers = read_topology(args.topology, input_type=args.input_type, scalesim=compat,
                           bits=engine.precision.bits_a, dp_num_filter=args.dp_num_filter)
    # A depthwise row's channels are one shape: priced once, reported per channel under the layer's name.
    results = engine.evaluate_gemms([layer.gemm for layer in layers])
    totals = network_totals(results, engine.n_pe)
    if args.json:
        doc = {"engine": {"name": engine.name, "n_pe": engine.n_pe, "freq_mhz": engine.freq_mhz,
                          "area_mm2": engine.area_mm2},
               "scalesim_compat": compat, "dp_num_filter": args.dp_num_filter,
               **({"energy_note": COMPAT_ENERGY_NOTE} if compat else {}),
               "totals": totals, "layers": [_row(r, layer.name) for r, layer in zip(results, layers)]}
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(f"# {engine.name}: {engine.n_pe} PEs, {engine.freq_mhz:.0f} MHz, {engine.area_mm2:.3f} mm^2"
          f"{' (SCALE-Sim 3.0 compatible)' if compat else ''}")
    if compat:
        print(f"# energy: {COMPAT_ENERGY_NOTE}")
    head = ("layer", "cycles", "util%", "map%", "comp%", "sram_if_rd", "sram_fl_rd", "sram_of_wr", "dram_rd",
            "dram_wr", "energy_uJ")
    print(" ".join(f"{h:>12}" for h in head))
    for r, layer in zip(results, layers):
        vals = (layer.name[:12], r.compute_cycles, f"{r.overall_util_pct:.2f}", f"{r.mapping_eff_pct:.2f}",
                f"{r.compute_util_pct:.2f}", r.sram_ifmap_reads, r.sram_filter_reads, r.sram_ofmap_writes,
                r.dram_ifmap_reads + r.dram_filter_reads + r.dram_ofmap_reads, r.dram_ofmap_writes,
                f"{r.energy_total_pj * 1e-6:.3f}")
        print(" ".join(f"{v:>12}" for v in vals))
    t = totals
    print(f"# total: {t['layers']} layers, {t['compute_cycles']} cycles ({t['total_cycles']} with DRAM stalls), "
          f"{t['latency_ms']:.4f} ms, {t['energy_mj']:.4f} mJ, utilisation {t['overall_util_pct']:.2f}%")
    return 0
