"""``hwnas predictor sweep`` and ``hwnas predictor train``: a predictor for any space, from any cost target.

``sweep`` draws architectures of a space, prices each on a hardware target (``hwnas targets``: a TPE
engine, a lookup table from ``hwnas profile``, a timing on this machine) and fits a predictor;
``train`` fits one to pairs already measured (a CSV, e.g. one a sweep wrote with ``--csv``). The
predictor file is a search target (``predictor:PATH``) and works with ``hwnas predictor predict``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from hwnas.api import UserError
from hwnas.api.files import make_dir, write_bytes_atomic
from hwnas.cli._help import plain_text

_TRUNKS = ("auto", "additive", "mlp")


def _space_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", required=True, help="registered space name (nb201, fbnet, proxyless...) or "
                   "package.module:Class; every decision must be a single Choice")
    p.add_argument("--space-kwargs", default="{}", metavar="MAPPING",
                   help="space keyword arguments as JSON/YAML, e.g. '{C: 16, N: 5}' (the network that is priced)")
    p.add_argument("--metric", default="latency_ms", help="what is predicted: latency_ms (default), energy_mj, "
                   "cycles... (what the target reports)")
    p.add_argument("--trunk", default="auto", choices=_TRUNKS,
                   help="additive (sums over layers: TPE, tables), mlp (interactions), or auto: the one with the "
                   "lower error on a held-out fifth (default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, type=Path, help="where to write the predictor (.pt)")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("sweep", help="price random archs of any space on a target and fit a predictor to them",
                       description=plain_text(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    _space_args(s)
    s.add_argument("--target", required=True, help="hardware target that prices each arch, e.g. "
                   "tpe:systolic-32x32-ws-int8, lut:PATH, measured:cpu (see hwnas targets)")
    s.add_argument("--samples", type=int, default=200, help="architectures to draw and price (default 200)")
    s.add_argument("--input-size", default=None, metavar="CxHxW",
                   help="input size of one sample (default: the space's default_input_size)")
    s.add_argument("--csv", type=Path, default=None, help="also write the priced pairs here (arch,<metric>)")
    t = sub.add_parser("train", help="fit a predictor for any space to measured (arch, value) pairs from a CSV",
                       description=plain_text(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    _space_args(t)
    t.add_argument("--train", required=True, type=Path, help="CSV with columns arch,<metric>; arch is the space's "
                   "string (NB201, FBNet) or an ArchSpec JSON object")


def _build_space(args: argparse.Namespace) -> Any:
    from hwnas.cli.profile import parse_kwargs
    from hwnas.search.builders import resolve_space_class

    cls = resolve_space_class(args.space)
    try:
        return cls(**parse_kwargs(args.space_kwargs))
    except TypeError as e:
        raise UserError(f"space {args.space!r}: {e}") from None


def _fit_and_save(args: argparse.Namespace, space: Any, schema: Any, archs: list, values: list[float], source: str,
                  t0: float) -> int:
    from hwnas.latency_models.predictor.sweep import fit_sweep

    dim = schema.dim
    if 0.8 * len(values) < dim + 1:
        print(f"note: the space has {dim} candidate slots, so an additive fit is determined only from about "
              f"{int((dim + 1) / 0.8) + 1} pairs on; the held-out scores below say what {len(values)} give",
              file=sys.stderr)
    fit = fit_sweep(schema, archs, values, metric=args.metric, trunk=args.trunk, seed=args.seed)
    fit.predictor.target = source
    fit.predictor.meta = {**fit.predictor.meta, "source": source,
                          "space_kwargs": dict(getattr(space, "space_kwargs", {}) or {})}
    fit.predictor.save(args.out)
    held = ("no held-out scores (fewer than 10 pairs)" if not fit.holdout_n else
            f"held-out {fit.holdout_n}: Spearman {fit.holdout_spearman:.3f}, within ±10% {fit.holdout_within10:.3f}")
    tried = "; ".join(f"{k}: log-MSE {v['log_mse']:.2e}" for k, v in fit.tried.items())
    print(f"fitted a predictor of {args.metric} for {source!r} ({fit.trunk} trunk) on {len(values)} archs "
          f"({held}{'; ' + tried if len(fit.tried) > 1 else ''}) in {time.perf_counter() - t0:.1f}s -> {args.out}")
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from hwnas.api import freeze
    from hwnas.cli.profile import parse_size
    from hwnas.latency_models.predictor.schema import get_schema
    from hwnas.latency_models.predictor.sweep import sample_archs
    from hwnas.search.report import hardware_figures

    t0 = time.perf_counter()
    if args.samples < 2:
        raise UserError(f"--samples must be >= 2, got {args.samples}")
    space = _build_space(args)
    schema = get_schema(space)  # fails early, naming the problem, for spaces a predictor cannot encode
    if any(m != 1 for m in schema.multi):
        raise UserError(f"space {args.space!r} has input choices (DARTS-style topology decisions): a sweep predictor "
                        "needs single Choices only; price such spaces with the lut:/tpe: targets directly")
    size = parse_size(args.input_size) if args.input_size else tuple(getattr(space, "default_input_size", ()))
    if not size:
        raise UserError(f"space {args.space!r} has no default_input_size: pass --input-size CxHxW")
    archs = sample_archs(space, args.samples, seed=args.seed)
    values: list[float] = []
    step = max(1, len(archs) // 10)
    for i, arch in enumerate(archs):
        figures = hardware_figures(arch, freeze(space, arch).eval(), size, args.target)
        v = figures.get(args.metric)
        if not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
            have = ", ".join(k for k, x in figures.items() if isinstance(x, int | float))
            raise UserError(f"target {args.target!r} gives no positive {args.metric!r} for {arch.archid} "
                            f"(it reports: {have}); pick one with --metric")
        values.append(float(v))
        if (i + 1) % step == 0 or i + 1 == len(archs):
            print(f"  priced {i + 1}/{len(archs)} archs ({time.perf_counter() - t0:.1f}s)", file=sys.stderr, flush=True)
    if args.csv:
        _write_pairs(args.csv, schema, archs, values, args.metric)
    return _fit_and_save(args, space, schema, archs, values, args.target, t0)


def run_train(args: argparse.Namespace) -> int:
    from hwnas.cli.predictor import _parse_archs, _read_csv
    from hwnas.latency_models.predictor.schema import get_schema

    t0 = time.perf_counter()
    space = _build_space(args)
    schema = get_schema(space)
    rows = _read_csv(args.train, ("arch", args.metric))
    archs = _parse_archs(schema, args.train, rows)
    values = []
    for i, r in enumerate(rows, start=2):
        try:
            v = float(r[args.metric])
        except ValueError:
            raise UserError(f"{args.train}:{i}: {args.metric} {r[args.metric]!r} is not a number") from None
        if not math.isfinite(v) or v <= 0:
            raise UserError(f"{args.train}:{i}: {args.metric} must be a positive number, got {r[args.metric]!r}")
        values.append(v)
    return _fit_and_save(args, space, schema, archs, values, args.train.name, t0)


def _write_pairs(path: Path, schema: Any, archs: list, values: list[float], metric: str) -> None:
    make_dir(path.parent, what="output folder", fix="pass another --out")
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["arch", metric])
    for a, v in zip(archs, values):
        w.writerow([schema.format(a), repr(v)])
    write_bytes_atomic(path, buf.getvalue().encode("utf-8"), what="pairs file")
    print(json.dumps({"pairs": str(path), "rows": len(values)}), file=sys.stderr)
