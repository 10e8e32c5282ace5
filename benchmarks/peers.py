"""hwnas's DARTS search step against NNI 3.0's, and each lever that makes it faster, measured in one run.

Every row runs in a fresh process (so its peak RSS is its own) on the DARTS space (width 16, 8 cells, CIFAR
shape, synthetic data, batch 64, ``--threads`` torch threads): one first-order architecture step plus one
weight step per step, the first step excluded. Rows alternate round by round; each figure is the median over
the rounds of each round's mean step. NNI runs NNI's own DARTS strategy on NNI's own DARTS space at the same
width, cells, batch and threads, from the interpreter given by ``--nni-python`` (NNI 3.0 needs its own venv:
``python3 -m venv /tmp/nnivenv && /tmp/nnivenv/bin/pip install nni==3.0 torch==2.14.1 torchvision==0.29.1
pytorch-lightning``).

Rows: ``plain`` (every lever off: NCHW, both gradients in both steps, one ReLU per candidate, the plain
dilated convolution and batch norm), each lever alone on top of ``plain``, ``hwnas`` (the defaults), bf16
autocast and ``torch.compile`` of the candidate ops on top of the defaults, PC-DARTS (K=4), and ProxylessNAS
full vs lean (memory). Also, in the same run: the compute limit (a weight step of the supernet against the
sum of its candidate-op calls run stand-alone at the same shapes), the share of a quickstart step spent
waiting for data, and α after ``--alpha-steps`` steps of the default path against the plain fp32 path, with
the run-to-run noise of the plain path (the same run with every initial weight moved by one float32 rounding
step) beside it.

Usage:
    python benchmarks/peers.py --nni-python /tmp/nnivenv/bin/python            # the whole comparison
    python benchmarks/peers.py --rows plain,hwnas,pc_darts --rounds 1 --steps 3  # a quicker look, no NNI
    python benchmarks/peers.py --rows hwnas --C 4 --layers 5 --steps 2 --no-limit --no-alpha --no-data --json out.json

Figures (2-core AMD EPYC, AVX2, no native bf16; torch 2.14.1; 2 threads; see the README for the run):
in the module's ``FIGURES`` block at the end, filled from a run of the first command.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: Row name -> (strategy, supernet kwargs, train settings, fast layers on, extra: amp / compile).
PLAIN_TRAIN = {"channels_last": False, "grad_scope": "all"}
ROWS: dict[str, dict[str, Any]] = {
    "plain": {"strategy": "darts", "kwargs": {"shared_relu": False}, "train": PLAIN_TRAIN, "fast_layers": False},
    "+channels_last": {"strategy": "darts", "kwargs": {"shared_relu": False},
                       "train": {**PLAIN_TRAIN, "channels_last": True}, "fast_layers": False},
    "+grad_scope": {"strategy": "darts", "kwargs": {"shared_relu": False},
                    "train": {**PLAIN_TRAIN, "grad_scope": "trained"}, "fast_layers": False},
    "+shared_relu": {"strategy": "darts", "kwargs": {}, "train": PLAIN_TRAIN, "fast_layers": False},
    "+fast_layers": {"strategy": "darts", "kwargs": {"shared_relu": False}, "train": PLAIN_TRAIN, "fast_layers": True},
    "hwnas": {"strategy": "darts", "kwargs": {}, "train": {}, "fast_layers": True},
    "hwnas+bf16": {"strategy": "darts", "kwargs": {}, "train": {"amp": True, "amp_dtype": "bfloat16"},
                   "fast_layers": True},
    "hwnas+compile": {"strategy": "darts", "kwargs": {}, "train": {}, "fast_layers": True, "compile": True},
    "pc_darts": {"strategy": "pc_darts", "kwargs": {"k": 4}, "train": {}, "fast_layers": True},
    "pc_darts plain": {"strategy": "pc_darts", "kwargs": {"k": 4, "shared_relu": False}, "train": PLAIN_TRAIN,
                       "fast_layers": False},
    "proxyless full": {"strategy": "proxyless", "kwargs": {"mode": "full"}, "train": {}, "fast_layers": True},
    "proxyless lean": {"strategy": "proxyless", "kwargs": {"mode": "lean"}, "train": {}, "fast_layers": True},
}
DEFAULT_ROWS = ("nni", "plain", "+channels_last", "+grad_scope", "+shared_relu", "+fast_layers", "hwnas",
                "hwnas+bf16", "hwnas+compile", "pc_darts", "pc_darts plain", "proxyless full", "proxyless lean")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _plain_layers(net: Any) -> None:
    """Turn the fast layers off: the dilated convolution and narrow batch norm run as the plain torch layers."""
    from hwnas.search_spaces._dilated import DepthwiseConv2d
    from hwnas.search_spaces._narrow_bn import BatchNorm2d

    for m in net.modules():
        if isinstance(m, DepthwiseConv2d):
            m.parity = False
        elif isinstance(m, BatchNorm2d):
            m.nchw_below = 0


def _build(cfg: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The supernet, its trainer and a synthetic batch of one row."""
    import torch

    from hwnas.api import SPACES, SUPERNETS
    from hwnas.losses import SearchLoss
    from hwnas.search import TrainConfig
    from hwnas.search.loop import BilevelTrainer

    torch.manual_seed(0)
    space = SPACES.get("darts")(C=cfg["C"], layers=cfg["layers"], num_classes=10, in_channels=3)
    net = SUPERNETS.get(cfg["strategy"])(space, **cfg["kwargs"])
    if not cfg["fast_layers"]:
        _plain_layers(net)
    train = TrainConfig(epochs=1, progress=False, **cfg["train"])
    trainer = BilevelTrainer(net, loss=SearchLoss(), train=train, device=torch.device("cpu"))
    g = torch.Generator().manual_seed(1)
    batch = (torch.randn(cfg["batch"], 3, 32, 32, generator=g), torch.randint(0, 10, (cfg["batch"],), generator=g))
    return net, trainer, batch


def _compile_candidates(net: Any) -> float:
    """``torch.compile`` every candidate op of the supernet's mixed ops; returns nothing to time yet (lazy)."""
    import torch

    from hwnas.supernets import RelaxedChoice

    for m in net.modules():
        if isinstance(m, RelaxedChoice) and hasattr(m, "ops"):
            for i, op in enumerate(m.ops):
                m.ops[i] = torch.compile(op, dynamic=False)
    return 0.0


def _hwnas_worker(cfg: dict[str, Any]) -> dict[str, Any]:
    net, trainer, b = _build(cfg)
    if cfg.get("compile"):
        _compile_candidates(net)
    base = _rss_mb()
    times = []
    for _ in range(cfg["steps"]):
        t = time.perf_counter()
        trainer.arch_step(b, b)
        trainer.weight_step(b)
        times.append(time.perf_counter() - t)
    return {"steps": times, "peak_rss_mb": _rss_mb(), "base_rss_mb": base}


def _nni_worker(cfg: dict[str, Any]) -> dict[str, Any]:
    """NNI 3.0's DARTS strategy on NNI's DARTS space; run by ``--nni-python``."""
    import warnings

    warnings.filterwarnings("ignore")
    import nni
    import pytorch_lightning as pl
    import torch
    from nni.nas.evaluator.pytorch import Classification, DataLoader
    from nni.nas.experiment import NasExperiment
    from nni.nas.hub.pytorch import DARTS as NniDartsSpace
    from nni.nas.strategy import DARTS as NniDarts

    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    times: list[float] = []
    started: list[float] = []

    class _Clock(pl.Callback):  # one Lightning training step of NNI's DARTS = one arch step + one weight step
        def on_train_batch_start(self, *args: Any, **kwargs: Any) -> None:
            started.append(time.perf_counter())

        def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
            times.append(time.perf_counter() - started[-1])

    def data(n: int) -> Any:
        g = torch.Generator().manual_seed(1)
        return nni.trace(torch.utils.data.TensorDataset)(torch.randn(n, 3, 32, 32, generator=g),
                                                         torch.randint(0, 10, (n,), generator=g))

    n = cfg["steps"] * cfg["batch"]
    evaluator = Classification(
        learning_rate=0.025, weight_decay=3e-4, num_classes=10, max_epochs=1,
        train_dataloaders=DataLoader(data(n), batch_size=cfg["batch"]),
        val_dataloaders=DataLoader(data(n), batch_size=cfg["batch"]),
        accelerator="cpu", devices=1, enable_progress_bar=False, logger=False, enable_checkpointing=False,
        callbacks=[_Clock()], limit_val_batches=0, num_sanity_val_steps=0)
    space = NniDartsSpace(width=cfg["C"], num_cells=cfg["layers"], dataset="cifar")
    experiment = NasExperiment(space, evaluator, NniDarts())
    experiment.run(port=cfg.get("port", 8746))
    experiment.stop()
    return {"steps": times, "peak_rss_mb": _rss_mb(), "base_rss_mb": float("nan")}


def _limit_worker(cfg: dict[str, Any]) -> dict[str, Any]:
    """One weight step of the supernet against the sum of its candidate-op calls run stand-alone."""
    import copy

    import torch

    from hwnas.supernets import RelaxedChoice

    net, trainer, b = _build(cfg)
    calls: list[tuple[Any, tuple[int, ...]]] = []
    hooks = [op.register_forward_hook(lambda m, i, o: calls.append((m, tuple(i[0].shape))))
             for rc in net.modules() if isinstance(rc, RelaxedChoice) and hasattr(rc, "ops") for op in rc.ops]
    trainer.weight_step(b)
    for h in hooks:
        h.remove()
    times = []
    for _ in range(cfg["steps"]):
        t = time.perf_counter()
        trainer.weight_step(b)
        times.append(time.perf_counter() - t)
    step = statistics.median(times)
    out = {"step_s": step, "calls": len(calls)}
    for layout in ("nchw", "step"):
        total = 0.0
        for op, shape in calls:
            alone = copy.deepcopy(op)
            if layout == "nchw":
                alone = alone.to(memory_format=torch.contiguous_format)
                _plain_layers(alone)
            x = torch.randn(shape)
            if layout == "step" and trainer.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            x.requires_grad_(True)
            for i in range(3):  # warm-up, then the median of two
                t = time.perf_counter()
                alone(x).sum().backward()
                if i == 0:
                    ts = []
                else:
                    ts.append(time.perf_counter() - t)
            total += min(ts)
        out[f"sum_{layout}_s"] = total
    return out


def _alpha_worker(cfg: dict[str, Any]) -> dict[str, Any]:
    """α after ``steps`` steps at a small setting, for one path (``fast``, ``plain`` or ``plain_ulp``)."""
    import torch

    net, trainer, _ = _build(cfg)
    if cfg["path"] == "plain_ulp":  # every initial weight one float32 rounding step away
        with torch.no_grad():
            for p in trainer.w_params:
                p.copy_(torch.nextafter(p, torch.full_like(p, float("inf"))))
    g = torch.Generator().manual_seed(2)
    for _ in range(cfg["steps"]):
        b = (torch.randn(cfg["batch"], 3, 32, 32, generator=g), torch.randint(0, 10, (cfg["batch"],), generator=g))
        v = (torch.randn(cfg["batch"], 3, 32, 32, generator=g), torch.randint(0, 10, (cfg["batch"],), generator=g))
        trainer.arch_step(b, v)
        trainer.weight_step(b)
    return {"alpha": torch.cat([p.detach().flatten() for p in trainer.a_params]).tolist()}


def _data_worker(cfg: dict[str, Any]) -> dict[str, Any]:
    """The share of the quickstart's steps spent waiting for its loaders (embedded data, its settings)."""
    import torch

    from hwnas.search import load_search_config
    from hwnas.search.prepare import prepare_run

    config = load_search_config("quickstart", ["train.progress=false"])
    ctx = prepare_run(config, Path(cfg["out_dir"]), verbose=False)
    leaf = ctx.build_leaf("0")
    trainer = leaf.trainer
    waiting = stepping = 0.0
    valid = iter(ctx.valid_loader)
    torch.set_num_threads(cfg["threads"])
    it = iter(ctx.train_loader)
    for _ in range(cfg["steps"]):
        t0 = time.perf_counter()
        batch, vb = next(it), next(valid)
        t1 = time.perf_counter()
        trainer.arch_step(batch, vb)
        trainer.weight_step(batch)
        t2 = time.perf_counter()
        waiting, stepping = waiting + t1 - t0, stepping + t2 - t1
    return {"wait_s": waiting, "step_s": stepping, "share": waiting / (waiting + stepping)}


WORKERS = {"hwnas": _hwnas_worker, "nni": _nni_worker, "limit": _limit_worker, "alpha": _alpha_worker,
           "data": _data_worker}


def _spawn(python: str, worker: str, cfg: dict[str, Any], threads: int) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HWNAS_THREADS": str(threads)}
    cmd = [python, str(Path(__file__).resolve()), "--worker", worker, "--config", json.dumps(cfg)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{worker} {cfg.get('row', '')} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def _step_rows(args: argparse.Namespace, rows: list[str]) -> dict[str, dict[str, Any]]:
    """Alternating rounds of every row; per row the median over rounds of the mean step after the first."""
    runs: dict[str, list[dict[str, Any]]] = {r: [] for r in rows}
    base = {"C": args.C, "layers": args.layers, "batch": args.batch, "steps": args.steps, "threads": args.threads}
    for rnd in range(args.rounds):
        for row in rows:
            if row == "nni":
                res = _spawn(args.nni_python, "nni", {**base, "row": row}, args.threads)
            else:
                res = _spawn(sys.executable, "hwnas", {**base, **ROWS[row], "row": row}, args.threads)
            steps = res["steps"][1:] or res["steps"]
            runs[row].append({"s": statistics.mean(steps), "first": res["steps"][0], "peak": res["peak_rss_mb"],
                              "base": res["base_rss_mb"]})
            peak = res["peak_rss_mb"] / 1024
            print(f"round {rnd + 1} {row:16s} {runs[row][-1]['s']:7.2f} s/step  peak {peak:5.2f} GB", flush=True)
    return {r: {"s_per_step": statistics.median(x["s"] for x in v), "rounds": [x["s"] for x in v],
                "first_step_s": statistics.median(x["first"] for x in v),
                "peak_gb": statistics.median(x["peak"] for x in v) / 1024,
                "step_gb": statistics.median(x["peak"] - x["base"] for x in v) / 1024}
            for r, v in runs.items()}


def _alpha_check(args: argparse.Namespace) -> dict[str, float]:
    small = {"C": 8, "layers": 5, "batch": 32, "steps": args.alpha_steps, "threads": args.threads}
    alpha = {}
    for path, row in (("plain", "plain"), ("plain_ulp", "plain"), ("fast", "hwnas")):
        alpha[path] = _spawn(sys.executable, "alpha", {**small, **ROWS[row], "path": path}, args.threads)["alpha"]

    def dist(a: str, b: str) -> float:
        return max(abs(x - y) for x, y in zip(alpha[a], alpha[b]))

    spread = max(alpha["plain"]) - min(alpha["plain"])
    return {"fast_vs_plain": dist("fast", "plain"), "noise_plain_vs_ulp": dist("plain", "plain_ulp"),
            "alpha_spread": spread}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nni-python", default=None, help="interpreter of NNI 3.0's venv (without it: no NNI row)")
    p.add_argument("--rows", default=",".join(DEFAULT_ROWS), help="comma-separated rows: nni, " + ", ".join(ROWS))
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--steps", type=int, default=3, help="steps per row and round (the first is not counted)")
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--alpha-steps", type=int, default=20)
    p.add_argument("--no-limit", action="store_true", help="skip the compute-limit measurement")
    p.add_argument("--no-alpha", action="store_true", help="skip the α comparison")
    p.add_argument("--no-data", action="store_true", help="skip the data-wait measurement")
    p.add_argument("--json", default=None, help="also write every figure to this file")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--config", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        cfg = json.loads(args.config)
        print(json.dumps(WORKERS[args.worker](cfg)), flush=True)
        return {}
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r != "nni" and r not in ROWS]
    if unknown:
        p.error(f"unknown rows {unknown}; rows: nni, {', '.join(ROWS)}")
    if "nni" in rows and not args.nni_python:
        rows.remove("nni")
        print("no --nni-python: the NNI row is skipped", flush=True)
    report: dict[str, Any] = {"setting": {k: getattr(args, k) for k in ("C", "layers", "batch", "threads", "steps",
                                                                        "rounds")}}
    report["rows"] = table = _step_rows(args, rows)
    print(f"\n{'row':16s} {'s/step':>8s} {'rounds':>18s} {'first step s':>13s} {'peak RSS GB':>12s} {'step GB':>8s}")
    for r, v in table.items():
        rounds = ", ".join(f"{x:.2f}" for x in v["rounds"])
        print(f"{r:16s} {v['s_per_step']:8.2f} {rounds:>18s} {v['first_step_s']:13.1f} {v['peak_gb']:12.2f} "
              f"{v['step_gb']:8.2f}")
    ratios = {}
    if "nni" in table and "hwnas" in table:
        ratios["hwnas/nni time"] = table["hwnas"]["s_per_step"] / table["nni"]["s_per_step"]
        ratios["hwnas/nni peak RSS"] = table["hwnas"]["peak_gb"] / table["nni"]["peak_gb"]
    if "plain" in table and "hwnas" in table:
        ratios["hwnas/plain time"] = table["hwnas"]["s_per_step"] / table["plain"]["s_per_step"]
    if "hwnas+compile" in table and "hwnas" in table:  # the first step compiles: its extra time is the compile time
        comp, eager = table["hwnas+compile"], table["hwnas"]
        ratios["torch.compile: compile time s"] = comp["first_step_s"] - eager["first_step_s"]
        ratios["torch.compile: step time ratio"] = comp["s_per_step"] / eager["s_per_step"]
    if "pc_darts" in table and "hwnas" in table:
        ratios["pc_darts/darts time"] = table["pc_darts"]["s_per_step"] / table["hwnas"]["s_per_step"]
        ratios["pc_darts/darts peak RSS"] = table["pc_darts"]["peak_gb"] / table["hwnas"]["peak_gb"]
        ratios["pc_darts/darts step memory"] = table["pc_darts"]["step_gb"] / table["hwnas"]["step_gb"]
    if "proxyless full" in table and "proxyless lean" in table:
        lean, full = table["proxyless lean"], table["proxyless full"]
        ratios["proxyless lean/full step memory"] = lean["step_gb"] / full["step_gb"]
    if not args.no_limit:
        base = {"C": args.C, "layers": args.layers, "batch": args.batch, "steps": max(args.steps, 2),
                "threads": args.threads}
        lim = _spawn(sys.executable, "limit", {**base, **ROWS["hwnas"]}, args.threads)
        report["limit"] = lim
        ratios["weight step / Σ candidate ops (NCHW, plain layers)"] = lim["step_s"] / lim["sum_nchw_s"]
        ratios["weight step / Σ candidate ops (the step's layout and layers)"] = lim["step_s"] / lim["sum_step_s"]
    if not args.no_data:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            report["data"] = _spawn(sys.executable, "data", {"steps": 20, "threads": 1, "out_dir": tmp}, 1)
        ratios["quickstart: share of a step waiting for data"] = report["data"]["share"]
    if not args.no_alpha:
        report["alpha"] = _alpha_check(args)
    report["ratios"] = ratios
    print()
    for k, v in ratios.items():
        print(f"{k}: {v:.3f}")
    if "alpha" in report:
        a = report["alpha"]
        print(f"α after {args.alpha_steps} steps (DARTS C=8, 5 cells, batch 32): max |fast - plain| "
              f"{a['fast_vs_plain']:.2e}; run-to-run noise of the plain path (weights one rounding step away) "
              f"{a['noise_plain_vs_ulp']:.2e}; spread of α {a['alpha_spread']:.2e}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
