"""``hwnas profile``: build a lookup table for a search space, measured on this machine or priced on a TPE."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from hwnas.api.errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "profile",
        help="measure a latency lookup table for a search space on this machine",
        description="Time every candidate of every Choice of a search space where it sits in the network (input "
        "shapes from one dry run), plus the fixed part (stem, head), on this machine: warm-up runs, then the median "
        "of --repeats runs (CUDA synchronised). With --tpe NAME the table is priced on an analytical engine "
        "instead (latency_ms, energy_mj, cycles). Use the file as the search target lut:PATH.",
    )
    p.add_argument("--space", required=True, help="registered space name (darts, nb201, proxyless, fbnet...) or "
                   "package.module:Class")
    p.add_argument("--space-kwargs", default="{}", metavar="MAPPING",
                   help="space keyword arguments as JSON/YAML, e.g. '{C: 16, N: 5}'")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--input-size", default=None, metavar="CxHxW",
                   help="input size of one sample, e.g. 3x32x32 (default: the space's default_input_size)")
    p.add_argument("--batch", type=int, default=1, help="batch size timed (default 1)")
    p.add_argument("--warmup", type=int, default=5, help="untimed runs per module (default 5)")
    p.add_argument("--repeats", type=int, default=20, help="timed runs per module; the median is kept (default 20)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads while timing (default: torch's)")
    p.add_argument("--tpe", default=None, metavar="ENGINE",
                   help="price on a TPE engine instead of measuring, e.g. systolic-32x32-ws-int8")
    p.add_argument("--out", required=True, help="the lookup table JSON to write")
    return p


def parse_size(text: str) -> tuple[int, ...]:
    """``3x32x32`` -> ``(3, 32, 32)``."""
    try:
        size = tuple(int(t) for t in text.lower().replace(",", "x").split("x") if t)
    except ValueError:
        raise UserError(f"--input-size {text!r} must look like 3x32x32") from None
    if not size or min(size) < 1:
        raise UserError(f"--input-size {text!r} must look like 3x32x32 (positive sizes)")
    return size


def parse_kwargs(text: str) -> dict[str, Any]:
    from hwnas.api.config import parse_yaml_mapping

    return parse_yaml_mapping(text, where="--space-kwargs")


def run(args: argparse.Namespace) -> int:
    import torch

    from hwnas.latency_models.lut.profiling import profile_lut
    from hwnas.latency_models.lut.table import lut_from_tpe
    from hwnas.latency_models.tpe import tpe_from_name
    from hwnas.search.builders import resolve_space_class

    if args.batch < 1:
        raise UserError(f"--batch must be >= 1, got {args.batch}")
    kwargs = parse_kwargs(args.space_kwargs)
    cls = resolve_space_class(args.space)
    try:
        space = cls(**kwargs)
    except TypeError as e:
        raise UserError(f"space {args.space!r}: {e}") from None
    size = parse_size(args.input_size) if args.input_size else tuple(getattr(space, "default_input_size", ()))
    if not size:
        raise UserError(f"space {args.space!r} has no default_input_size: pass --input-size CxHxW")
    x = torch.zeros(args.batch, *size)
    if args.threads is not None:
        if args.threads < 1:
            raise UserError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    if args.tpe:
        lut = lut_from_tpe(space, tpe_from_name(args.tpe), x)
    else:
        lut = profile_lut(space, x, device=args.device, warmup=args.warmup, repeats=args.repeats)
    path = lut.save(args.out)
    n_cand = sum(len(c) for c in lut.entries.values())
    m = lut.metrics[0]
    print(json.dumps({"out": str(path), "space": lut.space, "target": lut.target, "labels": len(lut.entries),
                      "candidates": n_cand, f"fixed_{m}": lut.fixed[m], "input_size": list(lut.input_size),
                      "batch": lut.batch, "seconds": round(time.perf_counter() - t0, 3)}), file=sys.stdout)
    return 0
