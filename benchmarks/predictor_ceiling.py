"""How far can any predictor built from the other devices get on NAS-Bench-201? An in-sample upper bound.

For each device, fit log-latency on the other 26 devices' log-latencies by least squares using ALL 15,625
architectures of the target (far more than the 20 samples the leave-one-device-out protocol allows) and
report the share of architectures predicted within ±10%. Noisy devices (phones report whole ms) cap it.

    python benchmarks/predictor_ceiling.py [--data ../shared/data/nb201_hw.csv.gz]
"""

from __future__ import annotations

import argparse
import csv
import gzip
from pathlib import Path

import numpy as np


def main() -> None:
    default = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "nb201_hw.csv.gz"
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(default))
    args = p.parse_args()
    with gzip.open(args.data, "rt") as f:
        rows = list(csv.DictReader(f))
    cols = [c for c in rows[0] if c.startswith("lat_ms_") and "nnmeter" not in c]
    x = np.log(np.array([[float(r[c]) for c in cols] for r in rows]))
    shares = {}
    for j, c in enumerate(cols):
        a = np.c_[np.delete(x, j, axis=1), np.ones(len(x))]
        w, *_ = np.linalg.lstsq(a, x[:, j], rcond=None)
        shares[c[len("lat_ms_"):]] = float(np.mean(np.abs(np.exp(a @ w - x[:, j]) - 1) <= 0.10))
    for name, s in sorted(shares.items(), key=lambda t: t[1]):
        print(f"{name:16s} {s:.3f}")
    print(f"MEAN             {np.mean(list(shares.values())):.3f}  (within ±10%, in-sample linear fit on all rows)")


if __name__ == "__main__":
    main()
