"""How well a measured lookup table predicts whole-network latency on this machine.

Profiles a space (``hwnas.latency_models.profile_lut``), then for random architectures compares the
table's ``fixed + Σ chosen candidates`` with the frozen network timed as a whole. Prints per-arch
figures and the Spearman rank correlation and mean relative error.

Run: OMP_NUM_THREADS=1 python benchmarks/lut_fidelity.py --space nb201 --archs 20 [--device cpu] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from hwnas.api import SPACES, InputChoice, collect_decisions, freeze, magnitude_arch
from hwnas.latency_models import profile_lut, time_module


def _rank(v: list[float]) -> list[float]:
    order = sorted(range(len(v)), key=v.__getitem__)
    r = [0.0] * len(v)
    for i, j in enumerate(order):
        r[j] = float(i)
    return r


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = _rank(a), _rank(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="nb201")
    ap.add_argument("--space-kwargs", default="{}")
    ap.add_argument("--archs", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    space = SPACES.get(args.space)(**json.loads(args.space_kwargs))
    x = torch.zeros(1, *space.default_input_size)
    t0 = time.perf_counter()
    lut = profile_lut(space, x, device=args.device, warmup=args.warmup, repeats=args.repeats)
    t_profile = time.perf_counter() - t0
    dev = torch.device(args.device)
    g = torch.Generator().manual_seed(args.seed)
    dec = collect_decisions(space)
    table, direct = [], []
    for _ in range(args.archs):
        probs = {k: torch.rand(len(v), generator=g) for k, v in dec.items() if not isinstance(v, InputChoice)}
        w = {k: torch.rand(v.n_candidates, generator=g) for k, v in dec.items() if isinstance(v, InputChoice)}
        arch = magnitude_arch(space, probs, w)
        net = freeze(space, arch).to(dev)
        table.append(lut.cost(arch)["latency_ms"])
        direct.append(time_module(net, x.to(dev), warmup=args.warmup, repeats=args.repeats))
        print(f"{arch.archid[:10]}  table {table[-1]:8.3f} ms   direct {direct[-1]:8.3f} ms")
    rel = [abs(a - b) / b for a, b in zip(table, direct)]
    print(json.dumps({"space": args.space, "device": lut.device.get("name"), "threads": args.threads,
                      "profile_s": round(t_profile, 2), "distinct_modules": lut.device["distinct_modules"],
                      "spearman": round(spearman(table, direct), 4), "mean_rel_err": round(sum(rel) / len(rel), 4),
                      "max_rel_err": round(max(rel), 4)}))


if __name__ == "__main__":
    main()
