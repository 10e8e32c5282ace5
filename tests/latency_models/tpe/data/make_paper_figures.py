"""Regenerate ``latency_models/tpe/paper_figures.json`` from the paper's repository (dev only; not a test).

    # a checkout (or bare git dir) of github.com/wqzustc/High-Performance-Tensor-Processing-Engines
    python tests/latency_models/tpe/data/make_paper_figures.py REPO_GIT_DIR [--out FILE]

Reads every synthesis report under ``*/syn/outputs*/saed32rvt_tt0p85v25c/`` (Design Compiler, SAED32 RVT,
TT 0.85 V 25 C): clock period, slack MET/VIOLATED, total cell area, dynamic and leakage power. A design's
maximum clock is the shortest period whose timing is MET. The abstract's figures and the testbench table
are the README's and arXiv:2503.06342's numbers, typed in with their source.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

_CORNER = "saed32rvt_tt0p85v25c"
_OUT = Path(__file__).resolve().parents[4] / "latency_models" / "tpe" / "paper_figures.json"
_REPO = "github.com/wqzustc/High-Performance-Tensor-Processing-Engines"
_ABSTRACT = "arXiv:2503.06342 abstract (HPCA 2025); README.md of " + _REPO

# design id -> (report folder, file stem before _{area,timing,power}_report_)
_DESIGNS = {
    "pe_mac": ("OPT1/systolic_array_os/mac_pe", "mac"),
    "pe_opt1": ("OPT1/systolic_array_os/opt1_pe", "opt1_mac"),
    "sa_os_mac": ("OPT1/systolic_array_os/array_mac_based", "top_array_16"),
    "sa_os_opt1": ("OPT1/systolic_array_os/array_opt1_based", "top_opt1_array_16"),
    "sa_ws_mac": ("OPT1/systolic_array_ws/array_mac_based", "top_array_16"),
    "sa_ws_opt1": ("OPT1/systolic_array_ws/array_opt1_based", "top_opt1_array_16"),
    "cube_mac": ("OPT1/cube/array_mac_based", "top_cube_8"),
    "cube_opt1": ("OPT1/cube/array_opt1_based", "top_opt1_cube"),
    "tree_opt2_n4": ("OPT2", "top_tpe_n4"),
    "tree_opt2_n8": ("OPT2", "top_tpe_n8"),
    "tree_opt2_n16": ("OPT2", "top_tpe_n16"),
    "tree_opt2_n32": ("OPT2", "top_tpe_n32"),
    "col_opt34_n16": ("OPT3_OPT4C/array", "top_pe_column_n16"),
    "col_opt34_n32": ("OPT3_OPT4C/array", "top_pe_column_n32"),
}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def _power_mw(text: str, label: str) -> float | None:
    m = re.search(label + r"\s*=\s*([\d.]+)\s*([munp]?W)", text)
    if not m:
        return None
    return float(m.group(1)) * {"W": 1e3, "mW": 1.0, "uW": 1e-3, "nW": 1e-6, "pW": 1e-9}[m.group(2)]


def _reports(repo: Path) -> dict[str, list[dict[str, object]]]:
    files = _git(repo, "ls-tree", "-r", "--name-only", "HEAD").split()
    out: dict[str, list[dict[str, object]]] = {}
    for key, (folder, stem) in _DESIGNS.items():
        runs: dict[str, dict[str, object]] = {}
        for f in files:
            m = re.fullmatch(re.escape(folder) + rf"/syn/outputs\w*/{_CORNER}/{stem}_(area|timing|power)"
                             r"_report_([\d.]+)\.txt", f)
            if not m:
                continue
            kind, period = m.groups()
            text = _git(repo, "show", f"HEAD:{f}")
            run = runs.setdefault(period, {"period_ns": float(period)})
            if kind == "area":
                run["cell_area_um2"] = float(re.search(r"Total cell area:\s*([\d.]+)", text).group(1))
                run["area_file"] = f
            elif kind == "timing":
                run["timing_met"] = "slack (MET)" in text
                run["timing_file"] = f
            else:
                run["dynamic_mw"] = _power_mw(text, "Total Dynamic Power")
                run["leakage_mw"] = _power_mw(text, "Cell Leakage Power")
                run["power_file"] = f
        out[key] = [runs[p] for p in sorted(runs, key=float)]
    return out


def _fastest(runs: list[dict[str, object]]) -> dict[str, object]:
    met = [r for r in runs if r.get("timing_met") and "cell_area_um2" in r]
    return min(met, key=lambda r: r["period_ns"])


def build(repo: Path) -> dict[str, object]:
    reports = _reports(repo)
    fast = {k: _fastest(v) for k, v in reports.items()}
    figs: list[dict[str, object]] = []

    def add(fid: str, value: float, source: str, tol: float | None, what: str) -> None:
        figs.append({"id": fid, "paper": round(value, 4), "source": source, "tol": tol, "what": what})

    gains = {"systolic": (1.27, 1.04), "cube": (1.28, 1.56), "tree": (1.56, 1.49), "matrix": (1.44, 1.20)}
    for arch, (ae, ee) in gains.items():
        add(f"abstract.{arch}.area_eff", ae, _ABSTRACT, 0.10, f"{arch}: area efficiency, optimised / MAC-based")
        add(f"abstract.{arch}.energy_eff", ee, _ABSTRACT, 0.10, f"{arch}: energy efficiency, optimised / MAC-based")
    add("abstract.bitslice.energy_eff", 12.10, _ABSTRACT, 0.10, "bit-slice (OPT3+OPT4): energy efficiency / Laconic")
    add("abstract.bitslice.area_eff", 2.85, _ABSTRACT, 0.10, "bit-slice (OPT3+OPT4): area efficiency / Laconic")
    tb = "README.md 'Average partial product' tables (OPT3_OPT4C/pe/sim/test_opt3_pe_inner_product_vectors.sv)"
    for k, vals in ((32, (1.71, 2.05, 2.27, 2.45, 2.57)), (128, (1.75, 2.10, 2.32, 2.48, 2.60))):
        for std, v in zip((10, 20, 30, 40, 50), vals, strict=True):
            add(f"testbench.pp.k{k}.std{std}", v, tb, 0.03, f"EN-T partial products per int8 operand, K={k}, std {std}")

    def clock_ratio(a: str, b: str) -> float:
        return fast[b]["period_ns"] / fast[a]["period_ns"]  # f_a / f_b

    def area_ratio(a: str, b: str) -> float:
        return fast[a]["cell_area_um2"] / fast[b]["cell_area_um2"]

    for arch, label in (("pe", "PE"), ("sa_os", "systolic OS 16x16"), ("sa_ws", "systolic WS 16x16"),
                        ("cube", "cube 8x8x8")):
        src = f"{fast[arch + '_opt1']['timing_file']} vs {fast[arch + '_mac']['timing_file']}"
        add(f"syn.{arch}.opt1_clock", clock_ratio(arch + "_opt1", arch + "_mac"), src, 0.10,
            f"{label}: max clock OPT1 / MAC")
        src = f"{fast[arch + '_opt1']['area_file']} vs {fast[arch + '_mac']['area_file']}"
        add(f"syn.{arch}.opt1_area", area_ratio(arch + "_opt1", arch + "_mac"), src, 0.10,
            f"{label}: cell area OPT1 / MAC, each at its max clock")
    for n in (8, 16, 32):
        a, b = f"tree_opt2_n{n}", "tree_opt2_n4"
        add(f"syn.tree_opt2.area_per_mult.n{n}", area_ratio(a, b) * 4 / n,
            f"{fast[a]['area_file']} vs {fast[b]['area_file']}", 0.10,
            f"OPT2 tree 16x{n}: cell area per multiplier / 16x4's")
    add("syn.tree_opt2.clock.n32", clock_ratio("tree_opt2_n32", "tree_opt2_n4"),
        f"{fast['tree_opt2_n32']['timing_file']} vs {fast['tree_opt2_n4']['timing_file']}", 0.10,
        "OPT2 tree: max clock 16x32 / 16x4")
    per = {r["period_ns"]: r for r in reports["col_opt34_n32"]}
    per16 = {r["period_ns"]: r for r in reports["col_opt34_n16"]}
    add("syn.col_opt34.area.n32_n16_1ns", per[1.0]["cell_area_um2"] / per16[1.0]["cell_area_um2"],
        f"{per[1.0]['area_file']} vs {per16[1.0]['area_file']}", 0.10, "OPT3+OPT4C column: area N=32 / N=16 at 1 GHz")
    add("syn.col_opt34.clock.n32_n16", clock_ratio("col_opt34_n32", "col_opt34_n16"),
        f"{fast['col_opt34_n32']['timing_file']} vs {fast['col_opt34_n16']['timing_file']}", 0.10,
        "OPT3+OPT4C column: max clock N=32 / N=16")
    return {"repo": _REPO, "commit": _git(repo, "rev-parse", "HEAD").strip(), "corner": _CORNER,
            "figures": figs, "synthesis": reports, "fastest": {k: {"period_ns": v["period_ns"],
                                                                  "cell_area_um2": v["cell_area_um2"]}
                                                              for k, v in fast.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path, help="git dir of a clone of " + _REPO)
    ap.add_argument("--out", type=Path, default=_OUT)
    args = ap.parse_args()
    args.out.write_text(json.dumps(build(args.repo), indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
