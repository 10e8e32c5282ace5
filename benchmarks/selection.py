"""Selection and splits on real data: magnitude vs perturbation (DARTS-PT) vs PT with α fixed, and supernet
ranking with and without gradient-matching splits (GM-NAS) at the same budget.

The NAS-Bench-201 space at reduced width (C=8, N=1 by default) on the embedded Fashion-MNIST subset
(2,500 training / 2,500 held-out images, 28x28), one process per CPU core, one thread each.

Part A, per seed:
  * a DARTS supernet trained ``--epochs`` epochs (first order), selected by magnitude and by perturbation
    (``hwnas select``'s path: the same trained supernet); a supernet trained with α fixed (DARTS-PT's fix α),
    selected by perturbation;
  * per selected cell: its parameter-free ops and the NAS-Bench-201 accuracy of that cell, looked up in
    ``../shared/data/nb201_hw.csv.gz`` (``c10valid_test_acc``: trained 200 epochs on CIFAR-10's train half,
    tested on the CIFAR-10 test set, mean of 3 seeds). That figure is a test-set figure of *another* dataset;
    it reports, it decides nothing here.
Part B, per seed (α fixed in both arms, so only weight sharing differs):
  * one supernet trained ``U`` epochs, and a split run (splits after ``s`` and ``2s`` of ``4s`` epochs, 4 leaves,
    children inheriting weights) using the same ``U`` supernet-epochs in all;
  * the held-out accuracy of a fixed sample of cells inside each (a cell is measured in the leaf that allows it),
    and Kendall's τ against the cells' stand-alone held-out accuracy after the same short training from scratch
    (and against the NB201 table, labelled as an oracle).
Wall-clock of selection and of the split decisions relative to supernet training is reported.

Run:
    python benchmarks/selection.py                     # 3 seeds, about 20 minutes on 2 cores
    python benchmarks/selection.py --quick             # minutes: a smoke test of the whole benchmark
    python benchmarks/selection.py --json out.json
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import multiprocessing as mp
import random
import tempfile
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
PARAM_FREE = {"none", "skip_connect", "avg_pool_3x3"}


def nb201_table(path: Path) -> dict[str, float]:
    with gzip.open(path, "rt", newline="") as f:
        return {r["arch_str"]: float(r["c10valid_test_acc"]) for r in csv.DictReader(f)}


def kendall_tau(a: list[float], b: list[float]) -> float:
    """Kendall's τ-b (ties in either list count as neither concordant nor discordant)."""
    n, conc, disc, ta, tb = len(a), 0, 0, 0, 0
    for i in range(n):
        for j in range(i + 1, n):
            da, db = a[i] - a[j], b[i] - b[j]
            if da == 0 and db == 0:
                continue
            if da == 0:
                ta += 1
            elif db == 0:
                tb += 1
            elif (da > 0) == (db > 0):
                conc += 1
            else:
                disc += 1
    denom = math.sqrt((conc + disc + ta) * (conc + disc + tb))
    return (conc - disc) / denom if denom else float("nan")


def connected(choices: dict[str, str]) -> bool:
    """Whether an NB201 cell's output depends on its input: a path 0 -> 3 of non-`none` edges."""
    reach = {0}
    for node in (1, 2, 3):
        if any(j in reach and choices[f"{node}<-{j}"] != "none" for j in range(node)):
            reach.add(node)
    return 3 in reach


def _overrides(a: argparse.Namespace, seed: int, out: str, *extra: str) -> list[str]:
    return [f"seed={seed}", "space.name=nb201", f"space.kwargs={{C: {a.C}, N: 1}}", "data.batch_size=64",
            f"out_dir={out}", "train.progress=false", "train.log_images_every=1000", "train.log_every=0",
            f"train.eval_batches={a.eval_batches}", *([f"data.subset={a.subset}"] if a.subset else []),
            *([f"train.max_steps_per_epoch={a.max_steps}"] if a.max_steps else []), *extra]


def _nb201(arch: Any) -> str:
    from hwnas.search_spaces import arch_to_nb201_str

    return arch_to_nb201_str(arch)


def part_a(a: argparse.Namespace, seed: int) -> dict[str, Any]:
    import torch

    from hwnas.search import load_search_config, run_search
    from hwnas.search.run import TRAINED

    torch.set_num_threads(1)
    table = nb201_table(a.data / "nb201_hw.csv.gz")
    pt = [f"selection.kwargs={{proj_interval: 1, eval_batches: {a.eval_batches}}}"]
    out, rows = tempfile.mkdtemp(prefix=f"sel-a{seed}-"), {}
    for arm, extra in (("darts", []), ("fixalpha", ["train.fix_alpha=true"])):
        cfg = load_search_config("quickstart", _overrides(a, seed, out, f"name={arm}", f"train.epochs={a.epochs}",
                                                          *extra))
        t0 = time.perf_counter()
        res = run_search(cfg, verbose=False)
        t_train = time.perf_counter() - t0
        if arm == "darts":
            rows["magnitude"] = {"arch": _nb201(res.arch), "seconds": 0.0}
        sel = load_search_config(str(res.run_dir / "config.yaml"), ["selection.name=perturbation", *pt])
        t0 = time.perf_counter()
        picked = run_search(sel, run_dir=Path(out) / f"{arm}-pt", init_from=res.run_dir / "checkpoints" / TRAINED,
                            verbose=False)
        rows["pt" if arm == "darts" else "pt_fixalpha"] = {"arch": _nb201(picked.arch),
                                                           "seconds": time.perf_counter() - t0,
                                                           "train_seconds": t_train}
        if arm == "darts":
            rows["magnitude"]["train_seconds"] = t_train
    for r in rows.values():
        ops = [op.split("~")[0] for node in r["arch"].split("+") for op in node.strip("|").split("|")]
        r["param_free_ops"] = sum(op in PARAM_FREE for op in ops)
        r["nb201_c10_test_acc"] = table[r["arch"]]
    return {"seed": seed, "methods": rows}


def sample_cells(n: int, seed: int = 12345) -> list[dict[str, str]]:
    from hwnas.search_spaces import NB201Space

    space, rng, cells, seen = NB201Space(C=4, N=1), random.Random(seed), [], set()
    from hwnas.api import random_arch

    while len(cells) < n:
        arch = random_arch(space, rng)
        key = tuple(sorted(arch.choices.items()))
        if key not in seen and connected(dict(arch.choices)):
            seen.add(key)
            cells.append(dict(arch.choices))
    return cells


def standalone(cells: list[dict[str, str]], *, C: int, epochs: int, subset: int | None = None,
               max_steps: int | None = None) -> list[float]:
    """Held-out accuracy of each cell trained alone from scratch: SGD 0.025 (cosine) for ``epochs`` on the
    embedded training half (seed 0's split), measured on the other half."""
    import torch
    import torch.nn.functional as F

    from hwnas.api import ArchSpec
    from hwnas.data import build_search_data
    from hwnas.search_spaces import NB201Space

    torch.set_num_threads(1)
    data = build_search_data(name="embedded", seed=0, subset=subset)
    train, valid, _ = data.loaders(batch_size=64, seed=0)
    accs = []
    for choices in cells:
        torch.manual_seed(0)
        net = NB201Space(C=C, N=1, num_classes=10, in_channels=1).freeze(ArchSpec("nb201", choices))
        opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
        for epoch in range(epochs):
            train.set_epoch(epoch)
            net.train()
            for i, (x, y) in enumerate(train):
                if max_steps and i >= max_steps:
                    break
                opt.zero_grad()
                F.cross_entropy(net(x), y).backward()
                opt.step()
            sched.step()
        net.eval()
        correct = n = 0
        valid.set_epoch(0)
        with torch.no_grad():
            for x, y in valid:
                correct += int((net(x).argmax(1) == y).sum())
                n += len(y)
        accs.append(correct / n)
    return accs


def part_b(a: argparse.Namespace, seed: int, cells: list[dict[str, str]]) -> dict[str, Any]:
    import torch

    import hwnas.search.split_phase as split_phase
    from hwnas.api import ArchSpec
    from hwnas.search import load_search_config, run_search
    from hwnas.search.checkpoint import load_checkpoint
    from hwnas.search.prepare import prepare_run
    from hwnas.search.run import TRAINED, restore_leaves
    from hwnas.search.select_phase import fixed_to
    from hwnas.selection import measure

    torch.set_num_threads(1)
    s = a.split_every
    budget = s + 2 * s + 4 * 2 * s  # root s epochs, 2 leaves s, 4 leaves 2s: supernet-epochs of the split run
    out, result = tempfile.mkdtemp(prefix=f"sel-b{seed}-"), {"seed": seed, "budget_epochs": budget}
    decide_time = [0.0]
    real = split_phase.decide_split

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            decide_time[0] += time.perf_counter() - t0

    split_phase.decide_split = timed
    common = ["train.fix_alpha=true"]
    arms = {
        "one_supernet": [f"train.epochs={budget}"],
        "gm_splits": [f"train.epochs={4 * s}", f"splits.epochs=[{s}, {2 * s}]", f"splits.repeats={a.repeats}",
                      "splits.grad_scope=[cells]", "splits.restart=none", "splits.edge_rule=cross",
                      f"splits.eval_batches={a.eval_batches}"],
    }
    for arm, extra in arms.items():
        cfg = load_search_config("quickstart", _overrides(a, seed, out, f"name={arm}", *common, *extra))
        decide_time[0] = 0.0
        t0 = time.perf_counter()
        res = run_search(cfg, verbose=False)
        seconds = time.perf_counter() - t0
        # rebuild every trained leaf and measure each cell in the leaf that allows it
        state = load_checkpoint(res.run_dir / "checkpoints" / TRAINED)
        ctx = prepare_run(cfg, Path(out) / f"{arm}-measure", verbose=False)
        try:
            leaves, tree = restore_leaves(ctx, state, res.run_dir)
            accs = []
            for choices in cells:
                leaf = next(lf for lf in leaves if all(v in lf.supernet.allowed(k) for k, v in choices.items()))
                with fixed_to(leaf.supernet, ArchSpec("nb201", choices)):
                    accs.append(measure(leaf.supernet, ctx.probe_loader, key=0, seed=seed,
                                        max_batches=a.eval_batches).acc)
        finally:
            ctx.close()
        result[arm] = {"seconds": seconds, "split_decision_seconds": decide_time[0], "supernet_acc": accs,
                       "leaves": len(tree.leaves())}
    split_phase.decide_split = real
    return result


def pool_map(task: Any, jobs: list[Any], workers: int) -> list[Any]:
    """``task`` over ``jobs`` in ``workers`` fresh processes (one torch thread each), in order."""
    pool = mp.get_context("spawn").Pool(workers)
    try:
        return pool.map(task, jobs, chunksize=1)
    finally:
        pool.close()
        pool.join()


def _task(job: tuple[str, Any, argparse.Namespace]) -> tuple[str, Any]:
    kind, arg, a = job
    if kind == "A":
        return kind, part_a(a, arg)
    if kind == "B":
        return kind, part_b(a, arg, sample_cells(a.cells))
    cells = sample_cells(a.cells)[arg[0]:arg[1]]
    return kind, (arg, standalone(cells, C=a.C, epochs=a.standalone_epochs, subset=a.subset, max_steps=a.max_steps))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--C", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=10, help="supernet epochs of part A")
    ap.add_argument("--split-every", type=int, default=2, help="part B: splits after s and 2s of 4s epochs")
    ap.add_argument("--repeats", type=int, default=4, help="GM batches per split decision (paper: 100)")
    ap.add_argument("--cells", type=int, default=24)
    ap.add_argument("--standalone-epochs", type=int, default=5)
    ap.add_argument("--eval-batches", type=int, default=10)
    ap.add_argument("--subset", type=int, default=None, help="cap each split at this many images")
    ap.add_argument("--max-steps", type=int, default=None, help="cap steps per epoch")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--quick", action="store_true", help="a smoke test: tiny epochs, subsets and samples")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    if a.quick:
        a.epochs, a.split_every, a.repeats, a.cells, a.standalone_epochs = 2, 1, 1, 6, 1
        a.subset, a.max_steps, a.eval_batches, a.seeds = 256, 4, 2, a.seeds[:1]
    if not (a.data / "nb201_hw.csv.gz").is_file():
        raise SystemExit(f"needs the NAS-Bench-201 table at {a.data}/nb201_hw.csv.gz")
    t0 = time.perf_counter()
    chunks = [(i, min(i + 4, a.cells)) for i in range(0, a.cells, 4)]
    jobs = [("A", s, a) for s in a.seeds] + [("B", s, a) for s in a.seeds] + [("S", c, a) for c in chunks]
    done = pool_map(_task, jobs, a.workers)
    part_as = [r for k, r in done if k == "A"]
    part_bs = [r for k, r in done if k == "B"]
    truth: list[float] = [x for _, (_, accs) in sorted((r for r in done if r[0] == "S"), key=lambda r: r[1][0])
                          for x in accs]
    from hwnas.api import ArchSpec

    table = nb201_table(a.data / "nb201_hw.csv.gz")
    cells = sample_cells(a.cells)
    oracle = [table[_nb201(ArchSpec("nb201", c))] for c in cells]
    print(f"NB201 space C={a.C}, N=1, embedded Fashion-MNIST; seeds {a.seeds}; {time.perf_counter() - t0:.0f} s "
          "in all\n")
    print("## Part A: the same trained supernets, three selections (NB201 CIFAR-10 test acc looked up: a report)\n")
    print("| method | param-free ops (of 6), per seed | NB201 c10 test acc %, per seed | mean | selection s / "
          "supernet training s |")
    print("|---|---|---|---|---|")
    for m in ("magnitude", "pt", "pt_fixalpha"):
        pf = [r["methods"][m]["param_free_ops"] for r in part_as]
        acc = [r["methods"][m]["nb201_c10_test_acc"] for r in part_as]
        ratio = [r["methods"][m]["seconds"] / r["methods"][m]["train_seconds"] for r in part_as]
        print(f"| {m} | {pf} | {[round(x, 2) for x in acc]} | {sum(acc) / len(acc):.2f} | "
              f"{sum(ratio) / len(ratio):.2f} |")
    print("\n## Part B: Kendall τ of supernet accuracy against stand-alone accuracy "
          f"({a.cells} cells, {a.standalone_epochs} epochs from scratch), same budget\n")
    print("| arm | τ vs stand-alone, per seed | mean | τ vs NB201 table (oracle), mean | split decisions s / run s |")
    print("|---|---|---|---|---|")
    for arm in ("one_supernet", "gm_splits"):
        taus = [kendall_tau(r[arm]["supernet_acc"], truth) for r in part_bs]
        otaus = [kendall_tau(r[arm]["supernet_acc"], oracle) for r in part_bs]
        share = [r[arm]["split_decision_seconds"] / r[arm]["seconds"] for r in part_bs]
        print(f"| {arm} | {[round(t, 3) for t in taus]} | {sum(taus) / len(taus):.3f} | "
              f"{sum(otaus) / len(otaus):.3f} | {sum(share) / len(share):.3f} |")
    print(f"\nstand-alone accuracy vs NB201 table (oracle): τ = {kendall_tau(truth, oracle):.3f}")
    if a.json:
        a.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(a).items()}, "part_a": part_as,
                                      "part_b": part_bs, "standalone": truth, "oracle": oracle, "cells": cells},
                                     indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
