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

    python benchmarks/predictor_ceiling.py [--data ../shared/data/nb201_hw.csv.gz]
"""

from __future__ import annotations

import argparse
import csv
import gzip
from pathlib import Path

import numpy as np


def _within(log_pred: np.ndarray, log_true: np.ndarray) -> float:
    return float(np.mean(np.abs(np.exp(log_pred - log_true) - 1) <= 0.10))


def _edge_features(arch_strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    ops = np.array([[e.split("~")[0] for node in s.strip("|").split("|+|") for e in node.split("|")]
                    for s in arch_strings])
    names = np.unique(ops)
    one_hot = np.concatenate([(ops[:, [e]] == names[None]).astype(float) for e in range(ops.shape[1])], axis=1)
    k = len(names)
    pairs = [one_hot[:, i] * one_hot[:, j] for i in range(one_hot.shape[1]) for j in range(i + 1, one_hot.shape[1])
             if i // k != j // k]
    return ops, np.c_[one_hot, np.stack(pairs, axis=1)]


def main() -> None:
    default = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "nb201_hw.csv.gz"
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(default))
    p.add_argument("--folds", type=int, default=5)
    args = p.parse_args()
    with gzip.open(args.data, "rt") as f:
        rows = list(csv.DictReader(f))
    cols = [c for c in rows[0] if c.startswith("lat_ms_") and "nnmeter" not in c]
    x = np.log(np.array([[float(r[c]) for c in cols] for r in rows]))
    ops, arch_feats = _edge_features([r["arch_str"] for r in rows])
    print(f"edges that differ between consecutive rows: {np.mean((ops[1:] != ops[:-1]).sum(1)):.2f} of "
          f"{ops.shape[1]} (random pairs: {ops.shape[1] * (1 - 1 / len(np.unique(ops))):.2f})")
    fold = np.random.default_rng(0).integers(0, args.folds, len(x))
    results = {}
    for j, c in enumerate(cols):
        others = np.c_[np.delete(x, j, axis=1), np.ones(len(x))]
        w, *_ = np.linalg.lstsq(others, x[:, j], rcond=None)
        rich = np.c_[others, arch_feats]
        held_out = np.empty(len(x))
        for k in range(args.folds):
            train = fold != k
            w_rich, *_ = np.linalg.lstsq(rich[train], x[train, j], rcond=None)
            held_out[~train] = rich[~train] @ w_rich
        resid = x[:, j] - held_out
        results[c[len("lat_ms_"):]] = (_within(others @ w, x[:, j]), _within(held_out, x[:, j]),
                                       float(np.corrcoef(resid[:-1], resid[1:])[0, 1]))
    print(f"{'device':16s} {'linear':>7s} {'rich':>7s} {'drift':>6s}")
    for name, (lin, rich_share, ac) in sorted(results.items(), key=lambda t: t[1][1]):
        print(f"{name:16s} {lin:7.3f} {rich_share:7.3f} {ac:6.2f}")
    lin_mean, rich_mean = (float(np.mean([v[i] for v in results.values()])) for i in (0, 1))
    print(f"{'MEAN':16s} {lin_mean:7.3f} {rich_mean:7.3f}   (share within ±10%; drift: lag-1 autocorrelation)")


if __name__ == "__main__":
    main()
