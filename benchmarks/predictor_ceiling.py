"""How far can any architecture-based predictor get on the measured latencies? The per-device ±10% bound.

For each fully measured device of the shared table (``../shared/data/<space>_hw.csv.gz``), two fits that
see far more of the device than a few-shot predictor, both scored held out (5-fold), from
:func:`hwnas.latency_models.predictor.ceiling.within_bounds`:

- ``linear``: log latency on the other devices' log latencies;
- ``rich``: the same plus one-hot ops and, on NB201, the products of every two edges' ops.

``bound`` = the larger of the two held-out shares: the fair reference for the share within ±10% (an
in-sample fit would count its own noise as skill). ``benchmarks/predictor_loo.py`` divides a predictor's
share by it. ``rho``: the held-out Spearman of ``rich``, the same kind of reference for rank correlation.
Where the bound stays low, the error is not a function of the architecture: ``drift`` is the lag-1
autocorrelation of the ``rich`` residual along the table's row order. On NB201 consecutive rows are
unrelated architectures (the mean number of edges that differ between neighbours is printed; 4.8 of 6 is
what random pairs give), so a residual that persists from one row to the next is drift of the device over
the measurement campaign, which no predictor of latency from the architecture can learn.

With ``--own-rows 10,20,30,50,100,200`` it also prints, per device, the ``linear`` fit learnt from that many random
rows of the device alone (:func:`~hwnas.latency_models.predictor.ceiling.own_rows_reference`, seeds 0-4) divided
by the bound, and the first N at which it reaches 95%: how many of its own rows a device needs to find its
direction without a prior. NB201's GPUs need 10 to 50; gold_6240, samsung_a50 and samsung_s7 need 200, far
more than a few-shot predictor is given, so at 10 samples their direction can only come from the pretraining
devices (``benchmarks/predictor_loo.py``'s ``dir`` column shows how far it does).

    python benchmarks/predictor_ceiling.py [--space nb201|fbnet] [--data ../shared/data]   # ~10 s
    python benchmarks/predictor_ceiling.py --own-rows 10,20,30,50,100,200                # ~20 s
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hwnas.latency_models.predictor.ceiling import own_rows_reference, within_bounds
from hwnas.latency_models.predictor.data import read_shared_table

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", choices=["nb201", "fbnet"], default="nb201")
    p.add_argument("--data", type=Path, default=DATA, help="folder holding <space>_hw.csv.gz")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--own-rows", default=None, metavar="N,N,...",
                   help="also the bound's linear fit learnt from N random rows of the device alone, over the bound")
    args = p.parse_args(argv)
    table = read_shared_table(args.space, args.data, include_partial=False)
    ops = table.index
    n_ops = max(int(ops.max()) + 1, 2)
    print(f"{args.space}: {len(ops)} archs; decisions that differ between consecutive rows: "
          f"{np.mean((ops[1:] != ops[:-1]).sum(1)):.2f} of {ops.shape[1]} "
          f"(random pairs: {ops.shape[1] * (1 - 1 / n_ops):.2f})")
    bounds = within_bounds(table, folds=args.folds)
    print(f"{'device':16s} {'linear':>7s} {'rich':>7s} {'bound':>7s} {'rho':>6s} {'drift':>6s}")
    for b in sorted(bounds.values(), key=lambda b: b.bound):
        print(f"{b.device:16s} {b.linear:7.3f} {b.rich:7.3f} {b.bound:7.3f} {b.spearman:6.3f} {b.drift:6.2f}")
    means = [float(np.mean([getattr(b, k) for b in bounds.values()])) for k in ("linear", "rich", "bound", "spearman")]
    print(f"{'MEAN':16s} {means[0]:7.3f} {means[1]:7.3f} {means[2]:7.3f} {means[3]:6.3f}   "
          "(held-out share within ±10% and Spearman; drift: lag-1 autocorrelation)")
    if args.own_rows:
        rows = tuple(int(r) for r in args.own_rows.split(","))
        own = own_rows_reference(table, rows=rows)
        print("\nthe linear fit from N rows of the device alone (no prior), over the bound; seeds 0-4")
        print(f"{'device':16s} " + " ".join(f"{'N=' + str(r):>7s}" for r in rows) + "  rows to reach 95%")
        for b in sorted(bounds.values(), key=lambda b: b.bound):
            ratios = [v / b.bound for v in own[b.device]]
            reach = next((str(r) for r, v in zip(rows, ratios) if v >= 0.95), f"> {rows[-1]}")
            print(f"{b.device:16s} " + " ".join(f"{v:7.3f}" for v in ratios) + f"  {reach}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
