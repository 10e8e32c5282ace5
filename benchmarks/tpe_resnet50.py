"""Whole-network TPE evaluation time on ResNet-50 (goal: < 50 ms per evaluation).

    python benchmarks/tpe_resnet50.py [--repeats 20]

OpSpecs are collected once with ``hwnas.api.collect_opspecs`` (one dry-run forward, not timed); each engine
then prices all 54 conv/linear layers (174 OpSpecs; non-MAC ops are skipped). Reported: the median wall
time of ``engine.evaluate_network(specs)`` (lowering included) and the network's cycles, latency, energy.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision

from hwnas.api import collect_opspecs
from hwnas.latency_models.tpe import tpe_from_name

ENGINES = ("systolic-32x32-ws-int8", "systolic-128x128-os-int8", "systolic-32x32-is-int8-scalesim",
           "cube-16x16x16-fp16", "tree-32x32-int8-opt1-opt2", "matrix-32x32-int8", "bitserial-32x32-int8-opt1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = torchvision.models.resnet50()
    t = time.perf_counter()
    specs = collect_opspecs(model, torch.zeros(1, 3, 224, 224))
    trace_ms = (time.perf_counter() - t) * 1e3
    print(f"# resnet50: {len(specs)} OpSpecs collected in {trace_ms:.0f} ms (once, not part of the timing)")
    print(f"{'engine':>34} {'eval_ms':>8} {'layers':>6} {'GMACs':>6} {'Mcycles':>8} {'lat_ms':>8} {'mJ':>8} "
          f"{'util%':>6} {'mm2':>6}")
    worst = 0.0
    for name in ENGINES:
        engine = tpe_from_name(name)
        engine.evaluate_network(specs)  # warm caches (MAC cost, area)
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            res = engine.evaluate_network(specs)
            times.append(time.perf_counter() - t)
        ms = statistics.median(times) * 1e3
        worst = max(worst, ms)
        print(f"{name:>34} {ms:>8.2f} {len(res.layers):>6} {res.macs / 1e9:>6.2f} {res.compute_cycles / 1e6:>8.2f} "
              f"{res.latency_ms:>8.3f} {res.energy_mj:>8.3f} {res.overall_util_pct:>6.1f} {res.area_mm2:>6.2f}")
    print(f"# slowest engine: {worst:.2f} ms per whole-network evaluation (goal < 50 ms)")


if __name__ == "__main__":
    main()
