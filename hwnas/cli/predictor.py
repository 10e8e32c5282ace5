r"""``hwnas predictor``: learned latency/energy predictors: suggest, adapt, sweep, train, predict.

Examples:
    hwnas predictor suggest --space nb201 --count 10 --out TRAIN.csv
    hwnas predictor suggest --space nb201 --count 10 --given TRAIN.csv --out TRAIN.csv   # 10 more
    hwnas predictor fit --space nb201 --train TRAIN.csv --exclude-device pixel3 --out p.pt
    hwnas predictor predict p.pt --archs ARCHS.csv --out PRED.csv
    hwnas predictor devices --space fbnet
    hwnas predictor sweep --space proxyless --space-kwargs '{variant: cifar}' \
        --target tpe:systolic-32x32-ws-int8 --samples 300 --out p.pt
    hwnas predictor train --space fbnet --train PAIRS.csv --metric energy_mj --out p.pt

``suggest`` lists the archs to time on a new device (those that tell the adaptation the most; fill in their
``latency_ms`` column; ``--given`` lists the next ones on top of those timed), ``fit`` adapts the predictor
pretrained on the 27 devices of NAS-Bench-201 / FBNet to it and prints a leave-one-out check of the samples;
``sweep`` and ``train`` make one for any space from a target (TPE engine, lookup table, this machine)
or from measured pairs.

``TRAIN.csv`` has columns ``arch,latency_ms`` (NB201 arch strings, or FBNet op lists joined by ``-``);
``ARCHS.csv`` a column ``arch``; ``PRED.csv`` gets ``arch,latency_ms``.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import time
from pathlib import Path

import torch

from hwnas.api import UserError
from hwnas.api.files import make_dir, write_bytes_atomic
from hwnas.cli._help import plain_text
from hwnas.cli._predictor_sweep import add_parsers as add_sweep_parsers
from hwnas.cli._predictor_sweep import run_sweep, run_train

SPACES = ("nb201", "fbnet")
_CHECK_LOW = 0.8  # below this leave-one-out share, fit advises timing more archs


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("predictor",
                              help="learned latency/energy predictors: suggest, fit, sweep, train, predict",
                              description=plain_text(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="predictor_cmd", metavar="ACTION")
    sub.required = True
    g = sub.add_parser("suggest", help="the archs to measure on a new device before fit (a Bayesian design)")
    g.add_argument("--space", required=True, choices=SPACES)
    g.add_argument("--count", type=int, default=10, help="how many archs (default 10)")
    g.add_argument("--exclude-device", default=None, metavar="NAME",
                   help="a shipped device that fit will exclude (design for the predictor without it)")
    g.add_argument("--pretrained", default=None, metavar="PATH", help="design for this predictor, not the shipped one")
    g.add_argument("--seed", type=int, default=0, help="seed of the candidate pool: another list of the same quality")
    g.add_argument("--given", default=None, type=Path, metavar="CSV",
                   help="archs measured already (column arch; latency_ms kept): suggest the next ones on top of "
                   "them; --out gets those rows first, then the new ones (--out may be the same file)")
    g.add_argument("--out", required=True, type=Path,
                   help="CSV to write (arch,latency_ms; latency_ms empty): fill it in and pass it to fit --train")
    f = sub.add_parser("fit", help="adapt the shipped predictor to a device from a few (arch, latency_ms) rows")
    f.add_argument("--space", required=True, choices=SPACES)
    f.add_argument("--train", required=True, type=Path, help="CSV with columns arch,latency_ms")
    f.add_argument("--exclude-device", default=None, metavar="NAME",
                   help="a shipped device whose data must not be used (the target of TRAIN.csv)")
    f.add_argument("--pretrained", default=None, metavar="PATH",
                   help="start from this predictor instead of the shipped one")
    f.add_argument("--no-check", action="store_true",
                   help="skip the leave-one-out check (one refit per sample) that estimates the share of "
                   "predictions within ±10%% on archs not measured")
    f.add_argument("--out", required=True, type=Path, help="where to write the predictor (.pt)")
    q = sub.add_parser("predict", help="predict latency_ms for the archs of a CSV")
    q.add_argument("predictor", help="a predictor file, or a shipped name (nb201:DEVICE, fbnet:DEVICE)")
    q.add_argument("--archs", required=True, type=Path, help="CSV with a column arch")
    q.add_argument("--out", required=True, type=Path, help="CSV to write (columns arch,latency_ms)")
    d = sub.add_parser("devices", help="list the devices a shipped predictor was pretrained on")
    d.add_argument("--space", required=True, choices=SPACES)
    add_sweep_parsers(sub)
    return p


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in columns if c not in header]
            if missing:
                raise UserError(f"{path}: missing column(s) {', '.join(missing)}; need {','.join(columns)} "
                                f"(found: {','.join(header) or 'nothing'})")
            rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in reader]
    except (UnicodeDecodeError, csv.Error) as e:
        raise UserError(f"{path}: not a readable CSV file ({e})") from None
    if not rows:
        raise UserError(f"{path}: no data rows")
    return rows


def _latencies(path: Path, rows: list[dict[str, str]]) -> list[float]:
    out = []
    for i, r in enumerate(rows, start=2):
        if not r["latency_ms"]:
            raise UserError(f"{path}:{i}: latency_ms is empty: time {r['arch']} on the device and fill it in")
        try:
            v = float(r["latency_ms"])
        except ValueError:
            raise UserError(f"{path}:{i}: latency_ms {r['latency_ms']!r} is not a number") from None
        if not math.isfinite(v) or v <= 0:
            raise UserError(f"{path}:{i}: latency_ms must be a positive number, got {r['latency_ms']!r}")
        out.append(v)
    return out


def _parse_archs(schema, path: Path, rows: list[dict[str, str]]) -> list:
    from hwnas.latency_models.predictor.schema import PredictorError

    archs = []
    for i, r in enumerate(rows, start=2):
        try:
            archs.append(schema.parse(r["arch"]))
        except PredictorError as e:
            raise UserError(f"{path}:{i}: {e}") from None
    return archs


def _fit(args: argparse.Namespace) -> int:
    from hwnas.latency_models.predictor.check import leave_one_out
    from hwnas.latency_models.predictor.model import LatencyPredictor, fit_predictor
    from hwnas.latency_models.predictor.schema import get_schema

    t0 = time.perf_counter()
    schema = get_schema(args.space)
    rows = _read_csv(args.train, ("arch", "latency_ms"))
    archs = _parse_archs(schema, args.train, rows)
    lats = _latencies(args.train, rows)
    pretrained = LatencyPredictor.load(args.pretrained) if args.pretrained else "shipped"
    pairs = list(zip(archs, lats))
    check = None
    if not args.no_check and len(pairs) >= 3:
        # before the fit, which may adapt a loaded --pretrained in place; the check works on copies
        check = leave_one_out(schema, pairs, exclude_device=args.exclude_device, pretrained=pretrained)
    pred = fit_predictor(schema, pairs, exclude_device=args.exclude_device, pretrained=pretrained)
    if check is not None:
        pred.meta = {**pred.meta, "loo_within10": round(check.within10, 4),
                     "loo_median_error": round(check.median_error, 4)}
    pred.save(args.out)
    print(f"fitted a {args.space} predictor for {pred.target!r} on {len(lats)} samples "
          f"(pretrained on {len(pred.devices)} devices) in {time.perf_counter() - t0:.1f}s -> {args.out}")
    if check is not None:
        hits = int(round(check.within10 * len(lats)))
        print(f"leave-one-out check: {hits} of {len(lats)} samples predicted within ±10% by the predictor fitted "
              f"without them (median error {check.median_error:.1%}); expect about that share on archs not "
              "measured")
        if check.within10 < _CHECK_LOW:
            exclude = f" --exclude-device {args.exclude_device}" if args.exclude_device else ""
            print(f"  a noisy device: more samples help. List 10 more to time: hwnas predictor suggest --space "
                  f"{args.space} --count 10 --given {args.train}{exclude} --out {args.train}; fill them in and "
                  "fit again")
    return 0


def _suggest(args: argparse.Namespace) -> int:
    from hwnas.latency_models.predictor.design import suggest_archs
    from hwnas.latency_models.predictor.model import LatencyPredictor

    pred = LatencyPredictor.load(args.pretrained or args.space)
    if pred.schema.space != args.space:
        raise UserError(f"{args.pretrained}: a predictor for space {pred.schema.space!r}, not {args.space!r}")
    if args.exclude_device is not None:
        pred = pred.without_device(args.exclude_device)
    given_rows = _read_csv(args.given, ("arch",)) if args.given is not None else []
    given = _parse_archs(pred.schema, args.given, given_rows) if given_rows else []
    archs = suggest_archs(pred, args.count, given=given, seed=args.seed)  # PredictorError is a UserError: one line
    make_dir(args.out.parent, what="output folder", fix="pass another --out")
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["arch", "latency_ms"])
    for r in given_rows:
        w.writerow([r["arch"], r.get("latency_ms", "")])
    for a in archs:
        w.writerow([a, ""])
    write_bytes_atomic(args.out, buf.getvalue().encode("utf-8"), what="suggestions file")
    exclude = f" --exclude-device {args.exclude_device}" if args.exclude_device else ""
    after = f" after the {len(given)} of {args.given}" if given else ""
    print(f"{len(archs)} {args.space} archs to measure{after} -> {args.out}; fill in latency_ms, then: "
          f"hwnas predictor fit --space {args.space} --train {args.out}{exclude} --out p.pt")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from hwnas.latency_models.predictor.model import LatencyPredictor

    pred = LatencyPredictor.load(args.predictor)
    if pred.target is None:
        raise UserError(f"predictor {args.predictor!r} has no target device: fit it first, or name one "
                        f"(e.g. {pred.schema.space}:{pred.devices[0]})")
    rows = _read_csv(args.archs, ("arch",))
    archs = _parse_archs(pred.schema, args.archs, rows)
    with torch.no_grad():
        ms = pred.predict(archs).tolist()
    make_dir(args.out.parent, what="output folder", fix="pass another --out")
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["arch", pred.metric])
    for r, v in zip(rows, ms):
        w.writerow([r["arch"], f"{v:.6g}"])
    write_bytes_atomic(args.out, buf.getvalue().encode("utf-8"), what="predictions file")
    print(f"predicted {len(ms)} values of {pred.metric} on {pred.target!r} -> {args.out}")
    return 0


def _devices(args: argparse.Namespace) -> int:
    from hwnas.latency_models.predictor.model import LatencyPredictor

    print("\n".join(LatencyPredictor.load(args.space).devices))
    return 0


def run(args: argparse.Namespace) -> int:
    return {"suggest": _suggest, "fit": _fit, "predict": _predict, "devices": _devices, "sweep": run_sweep,
            "train": run_train}[args.predictor_cmd](args)
