"""Hardware targets met without collapse: NB201 on ``nb201:pixel3`` and FBNet on ``fbnet:raspi4``, each at half the
latency of the unconstrained search's result, over several seeds.

Per space and seed, on the embedded Fashion-MNIST subset:
  * ``free``: the search with no pull on latency (its result's predicted latency L0 is the reference);
  * ``soft``: a target T = L0 / 2 with the ``soft`` form (no reward below T) and ``constrained`` selection;
  * ``mul``: the same target with today's ``mul`` form (rewards every saving), for comparison.
For each result: predicted latency / T (meets the target within ±10%: 0.9-1.1; at most 1.0 is met),
whether it is degenerate (output independent of the input), and its accuracy: NB201's CIFAR-10 test
accuracy looked up in ``../shared/data/nb201_hw.csv.gz`` (a report, labelled as such), and for FBNet
(no table) the held-out accuracy of the architecture inside its trained supernet.

Run:
    python benchmarks/targets.py               # 3 seeds, both spaces: about 30 minutes on 2 cores
    python benchmarks/targets.py --quick
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from selection import DATA, _nb201, nb201_table, pool_map

SPACES = {
    "nb201": {"target": "nb201:pixel3", "overrides": [
        "space.name=nb201", "space.kwargs={C: 8, N: 1}", "supernet.name=darts", "train.epochs=6",
        "train.arch_lr=0.003", "train.eval_batches=8", "data.batch_size=64"]},
    "fbnet": {"target": "fbnet:raspi4", "overrides": [
        "space.name=fbnet", "space.kwargs={width_mult: 0.25}", "data.image_size=32", "supernet.name=proxyless",
        "supernet.kwargs={mode: two}", "train.epochs=6", "train.arch_start_epoch=1", "train.arch_lr=0.003",
        "train.arch_betas=[0.0, 0.999]", "train.arch_weight_decay=0.0", "train.eval_batches=8",
        "data.batch_size=64"]},
}


def run(space: str, seed: int, arm: str, target_ms: float | None, a: argparse.Namespace) -> dict[str, Any]:
    import torch

    from hwnas.api import is_degenerate
    from hwnas.data import build_search_data
    from hwnas.data.sampler import make_loader
    from hwnas.search import load_search_config, run_search
    from hwnas.search.select_phase import fixed_to
    from hwnas.selection import measure

    torch.set_num_threads(1)
    spec = SPACES[space]
    form = {"free": "soft", "soft": "soft", "mul": "mul"}[arm]
    value = 1e9 if arm == "free" else target_ms
    cost = f"cost=[{{target: '{spec['target']}', metric: latency_ms, value: {value}, form: {form}, beta: 0.6}}]"
    selection = ["selection.name=magnitude", "selection.kwargs={}"] if arm == "free" else [
        "selection.name=constrained", "selection.kwargs={base: magnitude}"]
    out = tempfile.mkdtemp(prefix=f"tg-{space}-{arm}-{seed}-")
    cfg = load_search_config("quickstart", [f"seed={seed}", f"out_dir={out}", "train.progress=false",
                                            "train.log_images_every=1000", *spec["overrides"], cost, *selection,
                                            *a.overrides])
    t0 = time.perf_counter()
    res = run_search(cfg, verbose=False)
    arch = res.arch
    row = {"space": space, "seed": seed, "arm": arm, "latency_ms": arch.metrics["cost/latency_ms"],
           "target_ms": target_ms, "seconds": time.perf_counter() - t0, "choices": dict(arch.choices),
           "degenerate": is_degenerate(res.supernet.space, arch),
           "meets_targets": arch.metrics.get("meets_targets")}
    data = build_search_data(name="embedded", seed=seed, image_size=cfg.data.image_size, subset=cfg.data.subset)
    probe = make_loader(data.valid, batch_size=64, shuffle=True, seed=seed, stream=3)
    with fixed_to(res.supernet, arch):
        row["arch_acc_in_supernet"] = measure(res.supernet, probe, key=0, seed=seed, max_batches=16).acc
    if space == "nb201" and a.table:
        row["nb201_c10_test_acc"] = a.table[_nb201(arch)]
    return row


def _task(job: tuple[str, int, str, float | None, argparse.Namespace]) -> dict[str, Any]:
    return run(*job)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--spaces", nargs="+", default=list(SPACES), choices=list(SPACES))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    a.overrides = ["train.epochs=1", "data.subset=256", "train.max_steps_per_epoch=3"] if a.quick else []
    if a.quick:
        a.seeds = a.seeds[:1]
    path = a.data / "nb201_hw.csv.gz"
    a.table = nb201_table(path) if path.is_file() else None
    t0 = time.perf_counter()
    free = pool_map(_task, [(sp, s, "free", None, a) for sp in a.spaces for s in a.seeds], a.workers)
    ref = {(r["space"], r["seed"]): r["latency_ms"] for r in free}
    rows = free + pool_map(_task, [(sp, s, arm, ref[sp, s] / 2, a) for arm in ("soft", "mul") for sp in a.spaces
                        for s in a.seeds], a.workers)
    print(f"targets at half the unconstrained latency; seeds {a.seeds}; {time.perf_counter() - t0:.0f} s in all\n")
    print("| space (target) | arm | latency ms / target, per seed | within ±10% | degenerate | accuracy, per seed | "
          "mean |")
    print("|---|---|---|---|---|---|---|")
    for sp in a.spaces:
        for arm in ("free", "soft", "mul"):
            rs = sorted((r for r in rows if r["space"] == sp and r["arm"] == arm), key=lambda r: r["seed"])
            ratios = [r["latency_ms"] / (ref[sp, r["seed"]] / 2) for r in rs]
            acc_key = "nb201_c10_test_acc" if sp == "nb201" and a.table else "arch_acc_in_supernet"
            accs = [r[acc_key] for r in rs]
            within = "" if arm == "free" else f"{sum(0.9 <= x <= 1.1 for x in ratios)}/{len(rs)}"
            print(f"| {sp} ({SPACES[sp]['target']}) | {arm} | {[round(x, 3) for x in ratios]} | {within} | "
                  f"{sum(r['degenerate'] for r in rs)}/{len(rs)} | {[round(x, 4) for x in accs]} | "
                  f"{statistics.mean(accs):.4f} |")
    print("\naccuracy: NB201 = CIFAR-10 test % from the benchmark table (reported, decides nothing); FBNet = held-out "
          "accuracy of the architecture inside its supernet (embedded Fashion-MNIST)")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
