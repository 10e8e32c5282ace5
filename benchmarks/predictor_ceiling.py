"""How far can any architecture-based predictor get on NAS-Bench-201's measured latencies? Upper bounds.

For each device, two fits that see far more than the leave-one-device-out protocol's 20 samples:

- ``linear``: log latency on the other 26 devices' log latencies, least squares on ALL 15,625 rows of the
  target, scored in-sample;
- ``rich``: the same plus the one-hot ops of the six edges and all their pairwise products (an arbitrary
  function of any two edges), fitted on 4/5 of the target's rows and scored on the held-out fifth.

Both report the share of architectures within ±10%. Where they stay low, the error is not a function of
the architecture: the last column is the lag-1 autocorrelation of the ``rich`` residual along the
benchmark's row order. Consecutive rows are unrelated architectures (the mean number of edges that
differ between neighbours is printed; 4.8 of 6 is what random pairs give), so a residual that persists
from one row to the next is drift of the device over the measurement campaign, not an effect of the
architecture, and no predictor of latency from the architecture can learn it.

    python benchmarks/predictor_ceiling.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hwnas.latency_models.predictor.data import read_shared_table
from hwnas.latency_models.predictor.schema import get_schema

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _within(log_pred: np.ndarray, log_true: np.ndarray) -> float:
    return float(np.mean(np.abs(np.exp(log_pred - log_true) - 1) <= 0.10))


def _pairs(one_hot: np.ndarray, per_edge: int) -> np.ndarray:
    """Products of the one-hot ops of every two different edges: any function of two edges."""
    n = one_hot.shape[1]
    return np.stack([one_hot[:, i] * one_hot[:, j] for i in range(n) for j in range(i + 1, n)
                     if i // per_edge != j // per_edge], axis=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA, help="folder holding nb201_hw.csv.gz")
    p.add_argument("--folds", type=int, default=5)
    args = p.parse_args()
    table = read_shared_table("nb201", args.data, include_partial=False)
    schema = get_schema("nb201")
    x = np.log(table.latency_ms)
    ops = table.index
    n_ops = len(schema.candidates[0])
    print(f"edges that differ between consecutive rows: {np.mean((ops[1:] != ops[:-1]).sum(1)):.2f} of "
          f"{ops.shape[1]} (random pairs: {ops.shape[1] * (1 - 1 / n_ops):.2f})")
    one_hot = table.encode(schema).double().numpy()
    arch_feats = np.c_[one_hot, _pairs(one_hot, n_ops)]
    fold = np.random.default_rng(0).integers(0, args.folds, len(x))
    results = {}
    for j, name in enumerate(table.devices):
        others = np.c_[np.delete(x, j, axis=1), np.ones(len(x))]
        w, *_ = np.linalg.lstsq(others, x[:, j], rcond=None)
        rich = np.c_[others, arch_feats]
        held_out = np.empty(len(x))
        for k in range(args.folds):
            train = fold != k
            w_rich, *_ = np.linalg.lstsq(rich[train], x[train, j], rcond=None)
            held_out[~train] = rich[~train] @ w_rich
        resid = x[:, j] - held_out
        results[name] = (_within(others @ w, x[:, j]), _within(held_out, x[:, j]),
                         float(np.corrcoef(resid[:-1], resid[1:])[0, 1]))
    print(f"{'device':16s} {'linear':>7s} {'rich':>7s} {'drift':>6s}")
    for name, (lin, rich_share, ac) in sorted(results.items(), key=lambda t: t[1][1]):
        print(f"{name:16s} {lin:7.3f} {rich_share:7.3f} {ac:6.2f}")
    lin_mean, rich_mean = (float(np.mean([v[i] for v in results.values()])) for i in (0, 1))
    print(f"{'MEAN':16s} {lin_mean:7.3f} {rich_mean:7.3f}   (share within ±10%; drift: lag-1 autocorrelation)")


if __name__ == "__main__":
    main()
