"""Is the quickstart's result worth having? The shipped ``quickstart`` recipe, as ``hwnas search`` runs it, over
several seeds, against random cells of the same space.

* Each seed's found cell and ``--random`` random cells of the NB201 space (not degenerate, a fixed sample)
  are trained alone from scratch the same short way (``--epochs`` epochs, SGD 0.025 cosine, width 8, the
  embedded Fashion-MNIST training half) and measured on the held-out half: the found cell should beat the
  median random cell.
* Two seeds should agree on more edges than chance (1/5 per edge for 5 uniformly drawn ops: 1.2 of 6).
* Each search's wall-clock and how decided it reported itself (preference x uniform, perturbation margin).
* Beside it, labelled as an oracle that decides nothing: the cells' NAS-Bench-201 CIFAR-10 test accuracy
  from ``../shared/data/nb201_hw.csv.gz`` when present.

Run:
    python benchmarks/quickstart_quality.py              # 3 seeds, 10 random cells: about 12 minutes on 2 cores
    python benchmarks/quickstart_quality.py --quick      # a smoke test
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from selection import DATA, _nb201, nb201_table, pool_map, sample_cells, standalone


def search(seed: int, overrides: list[str]) -> dict[str, Any]:
    import torch

    from hwnas.search import load_search_config, run_search

    torch.set_num_threads(1)
    out = tempfile.mkdtemp(prefix=f"qs{seed}-")
    cfg = load_search_config("quickstart", [f"seed={seed}", f"out_dir={out}", "train.progress=false", *overrides])
    t0 = time.perf_counter()
    res = run_search(cfg, verbose=False)
    return {"seed": seed, "choices": dict(res.arch.choices), "seconds": time.perf_counter() - t0,
            "decided": res.arch.metrics.get("decided", {}), "supernet_valid_acc": res.arch.metrics.get(
                "supernet_valid_acc")}


def _task(job: tuple[str, Any, argparse.Namespace]) -> tuple[str, Any, Any]:
    kind, arg, a = job
    if kind == "search":
        return kind, arg, search(arg, a.overrides)
    cells = arg
    return kind, [tuple(sorted(c.items())) for c in cells], standalone(
        cells, C=8, epochs=a.epochs, subset=a.subset, max_steps=a.max_steps)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--random", type=int, default=10, help="random cells to compare against")
    ap.add_argument("--epochs", type=int, default=5, help="stand-alone training epochs")
    ap.add_argument("--subset", type=int, default=None)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    a.overrides = []
    if a.quick:
        a.seeds, a.random, a.epochs, a.subset, a.max_steps = a.seeds[:2], 3, 1, 256, 4
        a.overrides = ["train.epochs=1", "data.subset=256", "train.max_steps_per_epoch=4",
                       "selection.kwargs.eval_batches=1"]
    t0 = time.perf_counter()
    randoms = sample_cells(a.random, seed=2024)
    chunks = [randoms[i:i + 3] for i in range(0, len(randoms), 3)]
    done = pool_map(_task, [("search", s, a) for s in a.seeds] + [("train", c, a) for c in chunks], a.workers)
    found = [r for k, _, r in done if k == "search"]
    rand_acc = [x for k, _, accs in done if k == "train" for x in accs]
    found_acc = [x for _, _, accs in pool_map(_task, [("train", [f["choices"]], a) for f in found], a.workers)
                 for x in accs]
    median = statistics.median(rand_acc)
    table = nb201_table(a.data / "nb201_hw.csv.gz") if (a.data / "nb201_hw.csv.gz").is_file() else None

    def oracle(choices: dict[str, str]) -> float | None:
        from hwnas.api import ArchSpec

        return table[_nb201(ArchSpec("nb201", choices))] if table else None

    print(f"quickstart recipe, seeds {a.seeds}; {len(randoms)} random NB201 cells; stand-alone: {a.epochs} epochs "
          f"from scratch, held-out accuracy; {time.perf_counter() - t0:.0f} s in all\n")
    print("| seed | found cell | search s | pref x uniform (mean) | PT margin (mean) | stand-alone acc | "
          "beats random cells | NB201 c10 test % (oracle) |")
    print("|---|---|---|---|---|---|---|---|")
    for f, acc in zip(found, found_acc):
        beats = sum(acc > r for r in rand_acc)
        o = oracle(f["choices"])
        print(f"| {f['seed']} | `{_nb201(_spec(f['choices']))}` | {f['seconds']:.0f} | "
              f"{f['decided'].get('top_x_uniform_mean', float('nan')):.2f} | "
              f"{f['decided'].get('margin_mean', float('nan')):.4f} | {acc:.4f} | {beats}/{len(rand_acc)} | "
              f"{'' if o is None else f'{o:.2f}'} |")
    print(f"\nrandom cells: median stand-alone acc {median:.4f} (min {min(rand_acc):.4f}, max {max(rand_acc):.4f})"
          + (f"; median NB201 c10 test % (oracle) {statistics.median(oracle(c) for c in randoms):.2f}" if table
             else ""))
    print(f"found cells beat the median random cell: {sum(x > median for x in found_acc)} of {len(found_acc)}")
    pairs = list(itertools.combinations(found, 2))
    agree = [sum(x["choices"][k] == y["choices"][k] for k in x["choices"]) for x, y in pairs]
    n = len(found[0]["choices"])
    print(f"agreement between seeds: {agree} of {n} edges per pair (mean {statistics.mean(agree):.2f}); "
          f"chance: {n / 5:.1f}")
    if a.json:
        a.json.write_text(json.dumps({"found": found, "found_acc": found_acc, "random": randoms,
                                      "random_acc": rand_acc, "agreement": agree}, indent=1))
    return 0


def _spec(choices: dict[str, str]) -> Any:
    from hwnas.api import ArchSpec

    return ArchSpec("nb201", choices)


if __name__ == "__main__":
    raise SystemExit(main())
