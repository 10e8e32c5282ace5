"""Network-accelerator co-search against the best network searched for each fixed accelerator of the same budget.

Per space (the NAS-Bench-201 cell, C=8 N=1, and the FBNet space at width 0.25, both on the embedded
Fashion-MNIST subset: 2,500 images train the weights, 2,500 held-out ones the α and the figures):

  * **co-search**: the recipe ``cosearch_<space>`` (a TPE hardware space of 5 engine kinds x 3 shapes, systolic
    dataflows, opt1/opt2; area budget 0.5 mm², power budget 3 W; loss CE·(E[latency]/T)^β·(E[energy]/T)^β);
  * **fixed accelerators**: for each engine kind, the configuration of the same hardware space, opt1 and opt2 on,
    within the area budget, with the lowest latency×energy for the untrained (uniform) network distribution,
    i.e. the strongest accelerator of that kind the budget allows; the same search (same loss, budgets, seed,
    epochs) with a hardware space of that one configuration finds the best network for it.

Reported per run: the selected pair's engine, latency (ms), energy (mJ), latency×energy (ms·mJ), area (mm²),
power (W), and accuracy, as proxies (the FBNet space has no measured-accuracy table, and NB201's table is for
CIFAR, not this data): ``supernet``, the held-out accuracy of the selected network run alone in its trained
supernet (what the search sees), and ``trained``/``test``, the held-out and test accuracy of the selected network
trained alone from scratch for ``--train-steps`` steps (``hwnas train``'s quick recipe, one short epoch; the test
split is read once per network and decides nothing). Runs go two at a time, one thread each.

With ``--seeds N`` every search runs at seeds 0 .. N-1 (the recipe's ``seed``: data split, weights, α). A summary
per space and seed ends the output: the co-searched pair against the best fixed search of that seed, against the
accelerator one would fix before searching, and how many fixed searches it beats; then the same by the search's
objective (held-out error and cost together), with how many fixed pairs it dominates or is dominated by.

What it found (``--seeds 3``, 36 searches in 1451 s on 2 cores; latency x energy in 1e-3 ms·mJ):

- NB201: the co-searched pair beats the best of the five fixed searches at seeds 0 and 1 (0.325 vs 0.379,
  0.209 vs 0.641) and loses at seed 2 (0.690 vs 0.292, systolic 16x16 WS); geometric mean ratio 0.87.
- FBNet: it beats the best fixed search at seed 0 only (1.715 vs 1.783) and loses at seeds 1 and 2 (3.231 vs
  1.313, 2.923 vs 1.825); geometric mean ratio 1.56. Each seed it beats 3 to 5 of the 5 fixed searches.
- Against the accelerator one would fix before searching (lowest latency x energy for the uniform network
  distribution): that search's network broke the 3 W power budget at every FBNet seed and at NB201 seed 0;
  at NB201 seeds 1 and 2 it gave 1.081 and 0.333 against the co-search's 0.209 and 0.690.
- Latency x energy alone rewards collapsed networks: FBNet seed 1's best fixed search (bitserial, 1.313) holds
  out 0.166 accuracy against the co-search's 0.472. Scored as the search scores a pair, (1 - held-out accuracy of
  the network trained alone) x (latency / T)^beta x (energy / T)^beta with the recipe's terms, the co-search is
  below the best of the five fixed searches at 2 of 3 seeds in each space (NB201 0.367 vs 0.492, 0.314 vs 0.401,
  0.470 vs 0.289; FBNet 0.401 vs 0.461, 0.463 vs 0.520, 0.482 vs 0.347), geometric mean ratio 0.984 (NB201) and
  1.024 (FBNet): one co-search is on a par with the best of five fixed searches chosen in hindsight. No fixed
  pair dominates it (better held-out accuracy and lower latency x energy) at seeds 0 and 1; two do at seed 2.
  (The same run's rows, scored by this summary.)
- Searches twice as long (``--seeds 3 --steps-scale 2``, 36 searches in 2406 s): by the objective the co-search
  is below the best fixed search at 2 of 3 seeds in each space (NB201 0.321 vs 0.325, 0.439 vs 0.550, 0.466 vs
  0.376; FBNet 0.298 vs 0.577, 0.396 vs 0.280, 0.454 vs 0.456), geometric mean ratio 0.993 (NB201) and 0.900
  (FBNet); it beats 3 to 5 of the 5 fixed searches each time, and only at NB201 seed 2 do fixed pairs (two)
  dominate it. By latency x energy alone: 1 of 3 (NB201, geometric mean 1.047) and 2 of 3 (FBNet, 0.823).
- So by latency x energy alone one co-search is not reliably better than the best of five fixed searches at this
  CPU size (80-90 steps: the hardware α move at most arch_lr per Adam step, 0.5 in all, and stay far from
  one-hot); it always returns a pair within the budgets, which the a-priori fixed pick did not at 4 of 6 seeds.
  A hardware α learning rate 10x the network's changed single runs by 0.27x to 1.56x without a consistent
  direction (not adopted). Nor was weighting the network's cost by the accelerators it would be paired with
  (each configuration's probability times softmin(β·log latency x energy / 0.3), budget breakers suppressed):
  by the objective it changed the six co-searches by 1.11x, 0.88x, 0.77x (NB201) and 1.47x, 0.94x, 1.32x
  (FBNet).

Run:
    python benchmarks/cosearch.py                 # both spaces, about 11 minutes on 2 cores
    python benchmarks/cosearch.py --seeds 3       # the same at seeds 0, 1, 2 and a summary, about 25 minutes
    python benchmarks/cosearch.py --quick         # a minute or two: a smoke test of the whole benchmark
    python benchmarks/cosearch.py --seeds 3 --steps-scale 2   # searches twice as long
    python benchmarks/cosearch.py --spaces nb201 --json out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import multiprocessing as mp
import tempfile
import time
from pathlib import Path
from typing import Any

RECIPES = {"nb201": "cosearch_nb201", "fbnet": "cosearch_fbnet"}


def _config(recipe: str, overrides: list[str], hardware_kwargs: dict[str, Any] | None, out: str, name: str) -> Any:
    from hwnas.search import load_search_config

    cfg = load_search_config(recipe, [*overrides, f"out_dir={out}", f"name={name}", "threads=1",
                                      "train.progress=false"])
    if hardware_kwargs is not None:
        cfg = dataclasses.replace(cfg, hardware=dataclasses.replace(cfg.hardware, kwargs=hardware_kwargs))
    return cfg


def fixed_accelerators(recipe: str, overrides: list[str]) -> list[dict[str, Any]]:
    """Per engine kind, the hardware kwargs of its strongest configuration within the area budget."""
    import torch

    from hwnas.data import build_search_data
    from hwnas.latency_models.hwspace import TpeHardwareSpace, tables_for
    from hwnas.search.builders import build_space, build_supernet

    cfg = _config(recipe, overrides, None, tempfile.gettempdir(), "probe")
    d = cfg.data
    data = build_search_data(name=d.name, root=d.root, download=False, train_portion=d.train_portion,
                             image_size=d.image_size, subset=d.subset, seed=cfg.seed, cutout=0)
    example = data.train[0][0].unsqueeze(0)
    supernet = build_supernet(cfg, build_space(cfg, num_classes=data.num_classes, in_channels=data.in_channels))
    kw = dict(cfg.hardware.kwargs)
    hw = TpeHardwareSpace(**{**kw, "options": [], "always_on": list(kw.get("options", []))})
    tables = tables_for(hw, supernet, example)
    with torch.no_grad():
        figs = tables.per_config(supernet.probabilities())
    per, power = figs["latency_x_energy"].tolist(), figs["power_w"].tolist()
    best: dict[str, tuple[float, dict[str, Any]]] = {}
    for i, c in enumerate(hw.configs):
        if cfg.hardware.area_mm2 is not None and tables.area_mm2[i] > cfg.hardware.area_mm2:
            continue
        if cfg.hardware.power_w is not None and power[i] > cfg.hardware.power_w:
            continue
        if c["kind"] not in best or per[i] < best[c["kind"]][0]:
            best[c["kind"]] = (per[i], c)
    out = []
    # Power depends on the network; the budget is checked for the untrained (uniform) distribution here and for
    # the selected network at selection (a fixed accelerator whose network exceeds it is reported as such).
    for kind, (lxe, c) in best.items():  # lxe: latency x energy for the uniform network distribution
        fixed = {**kw, "kinds": [kind], "dims": {kind: [c[f"dims/{kind}"]]}, "options": [],
                 "always_on": list(kw.get("options", []))}
        if kind == "systolic":
            fixed["dataflows"] = [c["dataflow"]]
        out.append({"label": f"fixed {hw.build_engine(c).name}", "kwargs": fixed, "prior_lxe": lxe})
    return out


def _run(job: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
    import torch

    torch.set_num_threads(1)
    from hwnas.api import UserError
    from hwnas.search import run_search

    cfg = _config(job["recipe"], job["overrides"], job["kwargs"], job["out"], job["name"])
    t0 = time.time()
    try:
        res = run_search(cfg, verbose=False)
    except UserError as e:  # e.g. the network found for a fixed accelerator draws more than the power budget
        return {"space": job["space"], "seed": job["seed"], "run": job["label"], "error": str(e),
                "seconds": time.time() - t0, "prior_lxe": job.get("prior_lxe")}
    report = json.loads((res.run_dir / "report.json").read_text())
    chosen = [p for p in report["seen"]["points"] if p.get("chosen")]
    m = res.arch.metrics
    trained = _train_alone(res.arch, job["train_steps"], res.run_dir.parent / f"{job['name']}-train")
    row = {"space": job["space"], "seed": job["seed"], "run": job["label"], "engine": m["hw/engine"],
           "latency_ms": m["hw/latency_ms"], "energy_mj": m["hw/energy_mj"],
           "latency_x_energy": m["hw/latency_x_energy"], "area_mm2": m["hw/area_mm2"], "power_w": m["hw/power_w"],
           "supernet": chosen[0]["acc"] if chosen else None, "trained": trained["valid"]["last_acc"],
           "test": trained["test"]["acc"], "archid": res.arch.archid,
           "choices": dict(res.arch.choices), "seconds": time.time() - t0}
    if job["label"] != "co-search":
        return {**row, "prior_lxe": job["prior_lxe"]}
    # The same network with the hardware the α rank first (hardware.select = probable), for comparison.
    from hwnas.latency_models.hwspace import select_hardware, tables_for

    hw = res.supernet.hardware
    probable = select_hardware(hw, tables_for(hw, res.supernet, _example(cfg)), res.arch,
                               area_mm2=cfg.hardware.area_mm2, power_w=cfg.hardware.power_w)
    f = probable.figures
    return [row, {**row, "run": "co-search, most probable hw", "engine": probable.arch.metrics["hw/engine"],
                  **{k: f[k] for k in ("latency_ms", "energy_mj", "latency_x_energy", "area_mm2", "power_w")}}]


def _example(cfg: Any) -> Any:
    from hwnas.data import build_search_data

    d = cfg.data
    data = build_search_data(name=d.name, root=d.root, download=False, train_portion=d.train_portion,
                             image_size=d.image_size, subset=d.subset, seed=cfg.seed, cutout=0)
    return data.train[0][0].unsqueeze(0)


def _train_alone(arch: Any, steps: int, out: Path) -> dict[str, Any]:
    """The selected network trained from scratch for ``steps`` steps on the embedded data (quick recipe)."""
    from hwnas.train import load_train_config, run_training

    cfg = load_train_config("quick", ["epochs=1", f"max_steps_per_epoch={steps}", "threads=1", "progress=false"])
    return run_training(cfg, arch, run_dir=out, verbose=False).report


def _table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'space':<6} {'run':<38} {'latency ms':>10} {'energy mJ':>10} {'lat x en':>9} {'area mm2':>8} "
            f"{'power W':>7} {'supernet':>8} {'trained':>7} {'test':>6}")
    lines = [head, "-" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['space']:<6} {r['run']:<38} no pair within the budgets: {r['error'][:90]}")
            continue
        sup = f"{r['supernet']:.3f}" if r["supernet"] is not None else "-"
        run = r["run"] if not r["run"].startswith("co-search") else f"{r['run']} -> {r['engine']}"
        lines.append(f"{r['space']:<6} {run:<38} {r['latency_ms']:>10.5f} {r['energy_mj']:>10.5f} "
                     f"{r['latency_x_energy'] * 1e3:>9.4f} {r['area_mm2']:>8.3f} {r['power_w']:>7.3f} {sup:>8} "
                     f"{r['trained']:>7.3f} {r['test']:>6.3f}")
    lines.append("lat x en in 1e-3 ms·mJ. supernet: held-out accuracy of the selected network in its trained supernet; "
                 "trained / test: held-out / test accuracy after training it alone for --train-steps steps")
    return "\n".join(lines)


def _by_seed(rows: list[dict[str, Any]], space: str) -> Any:
    """Per seed of ``space``: ``(seed, co, tried, fixed)`` with ``co`` the co-search's pair (None if it found none),
    ``tried`` every fixed search and ``fixed`` those with a pair within the budgets."""
    for seed in sorted({r["seed"] for r in rows if r["space"] == space}):
        mine = [r for r in rows if r["space"] == space and r["seed"] == seed]
        co = next((r for r in mine if r["run"] == "co-search" and "error" not in r), None)
        tried = [r for r in mine if r["run"].startswith("fixed")]
        yield seed, co, tried, [r for r in tried if "error" not in r]


def _tally(space: str, ratios: list[float], by: str) -> str:
    wins = sum(r < 1.0 for r in ratios)
    return (f"{space:<6} {by}co-search below the best fixed accelerator at {wins} of {len(ratios)} seeds; "
            f"geometric mean ratio {math.prod(ratios) ** (1 / len(ratios)):.3f}")


def _summary(rows: list[dict[str, Any]], terms: dict[str, list[tuple[str, float, float]]] | None = None) -> str:
    """Per space and seed: the co-searched pair against the fixed accelerators; with ``terms`` (per space, from
    :func:`cost_terms`) also scored by the search's objective (:func:`_objective_summary`).

    ``a-priori fixed`` is the search for the fixed accelerator one would pick before searching (the lowest
    latency x energy for the uniform network distribution); ``best fixed`` the best of all fixed searches in
    hindsight (one search each); ``beats``: fixed searches with a higher latency x energy or no pair within the
    budgets.
    """
    lines = [f"{'space':<6} {'seed':>4} {'co-search lat x en':>18} {'a-priori fixed':>14} {'best fixed lat x en':>19} "
             f"{'ratio':>6} {'beats':>6} {'trained co / fixed':>18}  best fixed"]
    for space in dict.fromkeys(r["space"] for r in rows):
        ratios = []
        for seed, co, tried, fixed in _by_seed(rows, space):
            if co is None:
                lines.append(f"{space:<6} {seed:>4} the co-search found no pair within the budgets")
                continue
            if not fixed:
                lines.append(f"{space:<6} {seed:>4} no fixed accelerator's network met the budgets")
                continue
            best = min(fixed, key=lambda r: r["latency_x_energy"])
            ratio = co["latency_x_energy"] / best["latency_x_energy"]
            ratios.append(ratio)
            # fixed accelerators whose network broke a budget count as beaten: they have no valid pair
            beaten = sum("error" in r or co["latency_x_energy"] < r["latency_x_energy"] for r in tried)
            prior = min(tried, key=lambda r: r["prior_lxe"])  # the pick before any search: best for uniform α
            pick = "over budget" if "error" in prior else f"{prior['latency_x_energy'] * 1e3:.4f}"
            lines.append(f"{space:<6} {seed:>4} {co['latency_x_energy'] * 1e3:>18.4f} {pick:>14} "
                         f"{best['latency_x_energy'] * 1e3:>19.4f} {ratio:>6.3f} {beaten:>2d} of {len(tried)} "
                         f"{co['trained']:>8.3f} / {best['trained']:<7.3f}  {best['engine']}")
        if ratios:
            lines.append(_tally(space, ratios, ""))
    if terms:
        lines += ["", _objective_summary(rows, terms)]
    return "\n".join(lines)


def _objective(row: dict[str, Any], terms: list[tuple[str, float, float]]) -> float:
    """The search loss's form for a selected pair: held-out error (of the network trained alone) in place of the
    cross-entropy, times ``(metric / value) ** beta`` for each multiplicative cost term."""
    return (1.0 - row["trained"]) * math.prod((row[m] / v) ** b for m, v, b in terms)


def _objective_summary(rows: list[dict[str, Any]], terms: dict[str, list[tuple[str, float, float]]]) -> str:
    """Per space and seed, the pairs scored as the search scores them: error and cost together.

    Latency x energy alone rewards a network that the cost terms drove to parameter-free ops (an FBNet fixed search
    reached the lowest latency x energy at 0.17 held-out accuracy). ``beats``: fixed searches with a higher objective
    or no pair within the budgets; ``dominates`` / ``dominated``: fixed pairs worse (better) on both held-out
    accuracy and latency x energy.
    """
    lines = [f"{'space':<6} {'seed':>4} {'co-search objective':>19} {'best fixed objective':>20} {'ratio':>6} "
             f"{'beats':>8} {'dominates':>9} {'dominated':>9}  best fixed"]
    for space in [sp for sp in dict.fromkeys(r["space"] for r in rows) if sp in terms]:
        ratios = []
        for seed, co, tried, fixed in _by_seed(rows, space):
            if co is None or not fixed:
                continue  # named in the summary above
            obj = {r["run"]: _objective(r, terms[space]) for r in [co, *fixed]}
            best = min(fixed, key=lambda r: obj[r["run"]])
            ratio = obj["co-search"] / obj[best["run"]]
            ratios.append(ratio)
            beaten = sum("error" in r or obj["co-search"] < obj[r["run"]] for r in tried)
            dom = sum(co["trained"] >= r["trained"] and co["latency_x_energy"] <= r["latency_x_energy"] for r in fixed)
            under = sum(co["trained"] <= r["trained"] and co["latency_x_energy"] >= r["latency_x_energy"]
                        for r in fixed)
            lines.append(f"{space:<6} {seed:>4} {obj['co-search']:>19.4f} {obj[best['run']]:>20.4f} {ratio:>6.3f} "
                         f"{beaten:>3d} of {len(tried):<2d} {dom:>9d} {under:>9d}  {best['engine']}")
        if ratios:
            lines.append(_tally(space, ratios, "by the objective, "))
    lines.append("objective: (1 - trained accuracy) x (latency / T)^beta x (energy / T)^beta, the recipe's cost terms "
                 "(trained: held-out accuracy of the network trained alone; the test split decides nothing)")
    return "\n".join(lines)


def _scaled_steps(recipe: str, scale: float, quick: bool) -> list[str]:
    """The override that makes each epoch of ``recipe`` ``scale`` times as long (none at 1 or with --quick)."""
    if scale == 1.0 or quick:
        return []
    if scale <= 0:
        raise SystemExit(f"--steps-scale must be > 0, got {scale}")
    from hwnas.search import load_search_config

    steps = load_search_config(recipe, []).train.max_steps_per_epoch
    if steps is None:
        raise SystemExit(f"recipe {recipe} has no train.max_steps_per_epoch to scale")
    return [f"train.max_steps_per_epoch={max(1, round(steps * scale))}"]


def cost_terms(recipe: str) -> list[tuple[str, float, float]]:
    """``(metric, value, beta)`` of the recipe's multiplicative cost terms (the hinge budgets are met by every pair)."""
    from hwnas.search import load_search_config

    return [(c.metric, c.value, c.beta) for c in load_search_config(recipe, []).cost if c.form == "mul"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spaces", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    ap.add_argument("--quick", action="store_true", help="1 epoch of 3 steps per run: a smoke test")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--train-steps", type=int, default=60, help="steps of the stand-alone training of each network")
    ap.add_argument("--seeds", type=int, default=1, help="run every search at seeds 0 .. N-1")
    ap.add_argument("--steps-scale", type=float, default=1.0,
                    help="multiply each recipe's train.max_steps_per_epoch (longer searches, same epochs)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    overrides = ["train.epochs=1", "train.max_steps_per_epoch=3", "train.eval_batches=2"] if args.quick else []
    train_steps = 3 if args.quick else args.train_steps
    out = tempfile.mkdtemp(prefix="hwnas-cosearch-")
    jobs = []
    for seed in range(args.seeds):
        for space in args.spaces:
            recipe = RECIPES[space]
            seeded = [*overrides, *_scaled_steps(recipe, args.steps_scale, args.quick), f"seed={seed}"]
            jobs.append({"space": space, "recipe": recipe, "overrides": seeded, "kwargs": None, "label": "co-search",
                         "out": out, "name": f"{space}-co-s{seed}", "train_steps": train_steps, "seed": seed})
            for k, fixed in enumerate(fixed_accelerators(recipe, seeded)):
                jobs.append({"space": space, "recipe": recipe, "overrides": seeded, "kwargs": fixed["kwargs"],
                             "label": fixed["label"], "out": out, "name": f"{space}-fixed{k}-s{seed}",
                             "train_steps": train_steps, "seed": seed, "prior_lxe": fixed["prior_lxe"]})
    t0 = time.time()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        done = pool.map(_run, jobs, chunksize=1)
    rows = [r for d in done for r in (d if isinstance(d, list) else [d])]
    for seed in range(args.seeds):
        if args.seeds > 1:
            print(f"\nseed {seed}")
        print(_table([r for r in rows if r["seed"] == seed]))
    print("\n" + _summary(rows, {space: cost_terms(RECIPES[space]) for space in args.spaces}))
    print(f"{len(jobs)} searches in {time.time() - t0:.0f} s; runs in {out}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
