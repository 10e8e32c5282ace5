"""The TPE models against Wu et al. (HPCA 2025, arXiv:2503.06342) and their repository's evidence.

    python benchmarks/tpe_paper.py [--json]

Prints every figure of ``latency_models/tpe/paper_figures.json`` (the abstract's per-architecture gains,
the bit-slice design against Laconic, the OPT3 testbench's partial products per operand, the SAED32
synthesis reports' clock and area ratios) beside the model's value, with its source, tolerance and
PASS/FAIL, and why the model misses the ones it misses; then the model's absolute SAED32 areas and clocks
beside the reports (information, no tolerance). Exits 1 if any figure is outside its tolerance. Takes about
a second: everything is closed form (``hwnas.latency_models.tpe.paper``; the test suite runs the same).
"""

from __future__ import annotations

import argparse
import json
import sys

from hwnas.latency_models.tpe.paper import absolute_saed32, compare, paper_figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    args = ap.parse_args()
    rows, absolute = compare(), absolute_saed32()
    if args.json:
        print(json.dumps({"figures": rows, "saed32_absolute": absolute}, indent=1))
        return 0 if all(r["ok"] for r in rows) else 1
    meta = paper_figures()
    print(f"paper evidence: {meta['repo']} @ {meta['commit'][:12]} (synthesis corner {meta['corner']})\n")
    print(f"{'figure':<36} {'paper':>7} {'model':>7} {'error':>7} {'tol':>5}  result  source")
    for r in rows:
        res = "PASS" if r["ok"] else "FAIL"
        print(f"{r['id']:<36} {r['paper']:7.3f} {r['model']:7.3f} {100 * r['error']:+6.1f}% {100 * r['tol']:4.0f}%"
              f"  {res:<6}  {r['source']}")
    misses = [r for r in rows if not r["ok"]]
    if misses:
        print("\nwhy one consistent model misses these:")
        for r in misses:
            print(f"  {r['id']}: {r['why'] or 'no reason recorded'}")
    print("\nabsolute, model with TechTable.named('saed32') vs the synthesis reports "
          "(fastest clock that meets timing):")
    print(f"{'design':<16} {'area um2':>10} {'report':>10} {'ratio':>6}   {'clock MHz':>9} {'report':>7} {'ratio':>6}")
    for a in absolute:
        print(f"{a['design']:<16} {a['area_um2']:10.0f} {a['report_area_um2']:10.0f} "
              f"{a['area_um2'] / a['report_area_um2']:6.2f}   {a['clock_mhz']:9.0f} {a['report_clock_mhz']:7.0f} "
              f"{a['clock_mhz'] / a['report_clock_mhz']:6.2f}")
    n_ok = sum(r["ok"] for r in rows)
    print(f"\n{n_ok}/{len(rows)} figures within tolerance")
    return 0 if not misses else 1


if __name__ == "__main__":
    sys.exit(main())
