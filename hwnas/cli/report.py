"""``hwnas report ARCH``: params and FLOPs of an architecture's evaluation network."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hwnas.search.report import SETTINGS


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "report",
        help="params and FLOPs of an architecture",
        description="Print params and FLOPs (conv+linear multiply-accumulates, the NAS-Bench-201 / DARTS 'multi-adds' "
        "convention) of an architecture's evaluation network. ARCH is a published name (e.g. darts_v2), an "
        "NAS-Bench-201 arch string (|nor_conv_3x3~0|+|...|) or an arch.json file. Which network: "
        + "; ".join(f"--setting {k}: {v}" for k, v in SETTINGS.items()) + ".",
    )
    p.add_argument("arch", metavar="ARCH")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--setting", choices=tuple(SETTINGS), default="paper",
                   help="paper (default): the space's published evaluation network where it defines one (darts, "
                   "nb201), else as searched; search: exactly as searched")
    p.add_argument(
        "--hardware", default=None, nargs="?", const="cosearch", metavar="TARGET",
        help="also predict latency/energy on a target (hwnas targets); without TARGET, on the arch.json's own "
        "co-searched hardware configuration (latency, energy, area, power)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    import sys

    from hwnas.api.connectivity import output_depends_on_input
    from hwnas.search.report import evaluation_network, network_figures, resolve_arch

    arch = resolve_arch(args.arch)
    net, input_size, network = evaluation_network(arch, setting=args.setting)
    figures = {"arch": args.arch, "space": arch.space, "archid": arch.archid, "setting": args.setting,
               "network": network, "rule": SETTINGS[args.setting]}
    figures.update(network_figures(net, input_size))
    figures["degenerate"] = not output_depends_on_input(net, input_size)
    if figures["degenerate"]:
        print(f"hwnas report: warning: {arch.archid} is degenerate: no path of non-zero ops joins its input to its "
              "output, so it predicts the same class for every image", file=sys.stderr)
    if args.hardware:
        from hwnas.search.report import hardware_figures

        figures["hardware"] = hardware_figures(arch, net, input_size, args.hardware)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{args.arch if not Path(args.arch).is_file() else arch.archid}  ({arch.space})")
    print(f"  network: {network}")
    print(f"  rule   : --setting {args.setting}: {SETTINGS[args.setting]}")
    print(f"  params : {figures['params']:,}  ({figures['params'] / 1e6:.2f} M)")
    print(f"  flops  : {figures['flops']:,}  ({figures['flops'] / 1e6:.2f} M multiply-accumulates, conv+linear)")
    if figures.get("fvcore_flops"):
        print(f"  fvcore : {figures['fvcore_flops']:,}")
    for k, v in figures.get("hardware", {}).items():
        print(f"  {k:<16}: {_fmt(v)}")
    return 0


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt(x)}" for k, x in v.items())
    return str(v)
