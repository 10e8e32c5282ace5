"""Rebuild the shipped predictors ``nb201.pt`` and ``fbnet.pt`` from the shared data.

Run: ``python -m hwnas.latency_models.predictor._train [--data ../shared/data] [--out DIR]``.
NB201 gets a table trunk over its 27 fully measured devices (every one of the 15,625 cells);
FBNet an additive trunk per device fitted on the 5,000 measured architectures. Sources and
licences of the data: NOTICE.md next to the shipped files.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hwnas.latency_models.predictor.data import HERE, read_shared_table
from hwnas.latency_models.predictor.model import pretrain

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def build(space: str, data: Path, out: Path) -> Path:
    t0 = time.perf_counter()
    table = read_shared_table(space, data, include_partial=False)
    partial = [d for d in read_shared_table(space, data).devices if d not in table.devices]
    pred = pretrain(space, table, trunk="table" if space == "nb201" else "additive")
    # Measured on part of the archs only (nn-Meter's): not used, but known, so excluding one is a no-op.
    pred.meta["unused_devices"] = partial
    pred.meta["source"] = f"{space}_hw.csv.gz (HELP, HW-NAS-Bench, NAS-Bench-201; see NOTICE.md)"
    path = pred.save(out / f"{space}.pt")
    print(f"{space}: {len(pred.devices)} devices, {len(table.index)} archs, trunk {pred.meta['trunk']}, "
          f"{path.stat().st_size / 1e6:.2f} MB, {time.perf_counter() - t0:.1f}s -> {path}")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--space", choices=["nb201", "fbnet"], action="append")
    args = ap.parse_args(argv)
    for space in args.space or ["nb201", "fbnet"]:
        build(space, args.data, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
