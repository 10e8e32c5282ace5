"""The 10-shot predictor side by side with HELP (Lee et al., NeurIPS 2021) under HELP's own meta-test protocol.

HELP's published ranking correlations (its README's Table 3 for NAS-Bench-201, Table 2 for FBNet) come from
its repository's meta-test (github.com/HayeonLee/HELP @ 45f70eb, ``main.py --mode meta-test``). This script
replays that protocol on the same measurements (HW-NAS-Bench, whose rows are in the same order as HELP's
``data/<space>/latency/*.pt``: row i is HELP's architecture i) and runs hwnas's predictor through it:

* **devices**: pretraining on HELP's 9 meta-train and 4 meta-valid devices only (our shipped predictor with
  every other device dropped: ``without_device``); scoring on HELP's meta-test devices;
* **samples**: the fine-tuning pool is HELP's first ``num_meta_train_sample`` architectures (900 on NB201,
  4,000 on FBNet) and the query set the next 1,000; both are trimmed to the device's 10th-90th latency
  percentile, as HELP's ``remove_outlier`` (on by default) trims them; 10 fine-tuning samples are drawn from the
  trimmed pool; Spearman's rho is taken on the trimmed query set;
* **budget**: HELP also reads the device's latency on 10 fixed reference architectures (its hardware
  embedding, ``hardware_embedding_index.pt``), so it sees 20 measured architectures. hwnas is scored with the
  10 samples alone (``10``) and with the same 20 measurements (``10+10``).

HELP's published figure is one draw (``--seed 3`` of its script); ours are the mean (and min) over ``--seeds``
draws. HELP's printed rho uses the last of its 10 Monte-Carlo predictions rather than their mean (``help.py``,
``_test_predictor``); the published table is what it printed.

With ``--help-repo`` (a checkout of HELP with its ``data/`` folder, and scipy installed) HELP's own meta-test is
also rerun on the CPU for each of the same seeds (``--seed s`` of its ``main.py``; its own draws of the 10
samples), through a shim that turns its ``.cuda()`` calls into no-ops and loads its files with
``torch.load(..., weights_only=True)``. Its code is run where it lies, never copied. The FBNet data is complete in
HELP's repository; NB201's ``architecture.pt`` (the graphs its GCN reads) is stored with Git LFS and may be
missing, in which case only the published figures are shown.

Run:
    python benchmarks/predictor_help.py --space nb201 --seeds 10     # ~15 s on 2 cores
    python benchmarks/predictor_help.py --space fbnet --seeds 10 --help-repo ../HELP   # + HELP rerun, ~1 min
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from hwnas.api import ArchSpec
from hwnas.latency_models.predictor.data import read_shared_table
from hwnas.latency_models.predictor.model import LatencyPredictor
from hwnas.latency_models.predictor.sweep import spearman

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
_TRAIN = ["1080ti_1", "1080ti_32", "silver_4114", "silver_4210r", "samsung_a50", "pixel3", "essential_ph_1",
          "samsung_s7"]
# HELP's parser defaults / README commands, its hardware-embedding indices and its published rho per test device.
PROTOCOL = {
    "nb201": {
        "pretrain": [*_TRAIN, "1080ti_256", "titanx_1", "titanx_32", "titanx_256", "gold_6240"],
        "pool": 900, "query": 1000,
        "reference": [11982, 431, 55, 9, 14451, 8636, 9881, 13479, 6196, 1462],
        "help": {"titan_rtx_256": 0.987, "gold_6226": 0.989, "pixel2": 0.802, "raspi4": 0.890, "eyeriss": 0.940,
                 "fpga": 0.985},
        "source": "README Table 3 (HELP, 10 samples; its stated mean 0.932)",
    },
    "fbnet": {
        "pretrain": [*_TRAIN, "1080ti_64", "titanx_1", "titanx_32", "titanx_64", "gold_6240"],
        "pool": 4000, "query": 1000,
        "reference": [3328, 3790, 3313, 890, 3052, 2538, 1640, 2514, 457, 2100],
        "help": {"raspi4": 0.887, "eyeriss": 0.943, "fpga": 0.892},
        "source": "README Table 2 (HELP, 10 samples; its stated mean 0.910)",
    },
}


def trimmed(rows: np.ndarray, latency: np.ndarray) -> np.ndarray:
    """HELP's ``remove_outlier``: the rows between the 10th and 90th percentile of the device's latency on them."""
    order = rows[np.argsort(latency[rows], kind="stable")]
    return order[int(len(rows) * 0.1):int(len(rows) * 0.9)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="hwnas's 10-shot predictor under HELP's meta-test protocol")
    ap.add_argument("--space", choices=list(PROTOCOL), default="nb201")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--json", type=Path, help="write the per-device figures here")
    ap.add_argument("--help-repo", type=Path, help="a HELP checkout: rerun its meta-test on the CPU for each seed")
    ap.add_argument("--help-python", default=sys.executable, help="the python that runs HELP (needs torch, scipy)")
    args = ap.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    proto = PROTOCOL[args.space]
    table = read_shared_table(args.space, args.data)
    base = LatencyPredictor.load(args.space)
    for dev in [d for d in base.devices if d not in proto["pretrain"]]:
        base = base.without_device(dev)
    if sorted(base.devices) != sorted(proto["pretrain"]):
        raise SystemExit(f"the shipped {args.space} predictor lacks HELP's pretraining devices "
                         f"{sorted(set(proto['pretrain']) - set(base.devices))}")
    schema = base.schema
    x_all = table.encode(schema)
    strings = [schema.format(ArchSpec(schema.space, {lb: c[int(i)] for lb, c, i in
                                                     zip(schema.labels, schema.candidates, row)}))
               for row in table.index]
    n_pool, n_query, ref = proto["pool"], proto["query"], np.asarray(proto["reference"])
    print(f"{args.space}: pretrained on HELP's {len(base.devices)} meta-train/valid devices; pool {n_pool} "
          f"archs, query {n_query} (both trimmed to the 10-90th latency percentile), seeds 0..{args.seeds - 1}")
    rerun = run_help(args.space, args.help_repo, args.seeds, args.help_python) if args.help_repo else {}
    print(f"{'device':15s} {'HELP':>6s} {'rerun':>6s} {'min':>6s} | {'10':>6s} {'min':>6s} | {'10+10':>6s} {'min':>6s}")
    rows = []
    for dev, help_rho in proto["help"].items():
        y = table.column(dev)
        pool = trimmed(np.arange(n_pool), y)
        query = trimmed(np.arange(n_pool, n_pool + n_query), y)
        feats = x_all[query]
        res: dict[str, list[float]] = {"10": [], "10+10": []}
        for seed in range(args.seeds):
            shots = np.random.default_rng(seed).choice(pool, 10, replace=False)
            for key, idx in (("10", shots), ("10+10", np.concatenate([shots, ref]))):
                pred = _copy(base)  # the test devices were never in the pretraining
                pred.adapt([strings[i] for i in idx], y[idx], name=dev)
                keep = ~np.isin(query, idx)  # NB201's reference arch 1462 lies in the query range: not scored
                with torch.no_grad():
                    res[key].append(spearman(pred(feats[keep]).numpy(), y[query][keep]))
        r = {k: (float(np.mean(v)), float(np.min(v))) for k, v in res.items()}
        h = rerun.get(dev, [])
        rows.append({"device": dev, "help": help_rho, "help_rerun": float(np.mean(h)) if h else float("nan"),
                     "help_rerun_min": float(np.min(h)) if h else float("nan"),
                     **{f"rho_{k}": v[0] for k, v in r.items()}, **{f"min_{k}": v[1] for k, v in r.items()}})
        row = rows[-1]
        print(f"{dev:15s} {help_rho:6.3f} {_f(row['help_rerun'])} {_f(row['help_rerun_min'])} | {r['10'][0]:6.3f} "
              f"{r['10'][1]:6.3f} | {r['10+10'][0]:6.3f} {r['10+10'][1]:6.3f}", flush=True)
    mean = {k: float(np.mean([row[k] for row in rows])) for k in rows[0] if k != "device"}
    print(f"{'MEAN':15s} {mean['help']:6.3f} {_f(mean['help_rerun'])} {_f(mean['help_rerun_min'])} | "
          f"{mean['rho_10']:6.3f} {mean['min_10']:6.3f} | {mean['rho_10+10']:6.3f} {mean['min_10+10']:6.3f}")
    print(f"HELP: {proto['source']}, one draw; rerun: HELP's checkpoint, mean and min over its seeds "
          f"0..{args.seeds - 1}{'' if rerun else ' (not run)'}; hwnas: mean and min over {args.seeds} "
          "draws of the 10 samples")
    if args.json:
        args.json.write_text(json.dumps({"space": args.space, "seeds": args.seeds, "devices": rows, "mean": mean},
                                        indent=2))
    return 0


def _f(x: float) -> str:
    return f"{x:6.3f}" if np.isfinite(x) else f"{'-':>6s}"


_SHIM = """import os, runpy, sys, torch
sys.path.insert(0, os.getcwd())
torch.Tensor.cuda = lambda self, *a, **k: self
torch.nn.Module.cuda = lambda self, *a, **k: self
torch.cuda.manual_seed = lambda seed: None
_load = torch.load
torch.load = lambda f, *a, **k: _load(f, *a, **{**k, "weights_only": True})
sys.argv = ["main.py", *sys.argv[1:]]
runpy.run_path("main.py", run_name="__main__")
"""
_HELP_SPACE = {"nb201": "nasbench201", "fbnet": "fbnet"}


def run_help(space: str, repo: Path, seeds: int, python: str) -> dict[str, list[float]]:
    """HELP's meta-test (its README's command, its shipped checkpoint) on the CPU for seeds 0..seeds-1.

    Returns ``{device: [rho per seed]}``; empty, with the reason printed, when HELP cannot run.
    """
    proto = PROTOCOL[space]
    name = _HELP_SPACE[space]
    need = [repo / "main.py", repo / "data" / name / "checkpoint" / "help_max_corr.pt"]
    if space == "nb201":
        need.append(repo / "data" / name / "architecture.pt")
    missing = [str(p) for p in need if not p.is_file() or p.stat().st_size < 1024 and p.suffix == ".pt"]
    if missing:
        print(f"HELP rerun skipped: {', '.join(missing)} missing (or a Git LFS pointer)", file=sys.stderr)
        return {}
    train = proto["pretrain"][:9]
    valid = proto["pretrain"][9:]
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        shim = Path(tmp) / "help_cpu.py"
        shim.write_text(_SHIM)
        for seed in range(seeds):
            cmd = [python, str(shim), "--search_space", name, "--mode", "meta-test", "--num_samples", "10",
                   "--seed", str(seed), "--num_meta_train_sample", str(proto["pool"]), "--save_path", tmp,
                   "--load_path", f"./data/{name}/checkpoint/help_max_corr.pt",
                   "--meta_train_devices", ",".join(train), "--meta_valid_devices", ",".join(valid),
                   "--meta_test_devices", ",".join(proto["help"])]
            proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"HELP rerun failed (seed {seed}): {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                return {}
            for dev, rho in re.findall(r"\[meta_test/([\w]+)\] spearman ([-\d.]+)", proc.stdout):
                if dev != "average":
                    out.setdefault(dev, []).append(float(rho))
    return out


def _copy(pred: LatencyPredictor) -> LatencyPredictor:
    """A fresh predictor with the same pretraining (adapt writes the head in place)."""
    out = LatencyPredictor(pred.schema, pred.trunk, pred.devices, pred.ref_index.clone(), metric=pred.metric)
    out.meta = dict(pred.meta)
    return out.calibrate()


if __name__ == "__main__":
    raise SystemExit(main())
