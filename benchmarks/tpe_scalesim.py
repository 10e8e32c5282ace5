"""SCALE-Sim 3.0 vs hwnas's closed-form systolic model: exact agreement and per-layer speed.

    python benchmarks/tpe_scalesim.py [--scalesim-python PY] [--arrays 32x32,16x16] [--dataflows os,ws,is]
    python benchmarks/tpe_scalesim.py --random 40 --seed 7   # 40 drawn layers, each on a drawn array and dataflow

SCALE-Sim (``pip install scalesim``; 3.0.0 needs numpy < 2.3, e.g. ``python -m venv /tmp/ssvenv &&
/tmp/ssvenv/bin/pip install scalesim "numpy<2.3"``) runs in a subprocess of ``--scalesim-python``
(default: this interpreter), one topology per layer so each layer is timed alone (config parsing included:
a few ms of its seconds). hwnas evaluates the same layer with ``SystolicArray(..., scalesim_compat=True)``,
timed as the median of many calls. Prints one line per (layer, array, dataflow) and a summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import timeit
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN_DIR = REPO / "tests" / "latency_models" / "tpe" / "data"

# Shapes of ResNet / MobileNet-V1 / transformer layers, shrunk so SCALE-Sim's cycle-by-cycle run stays in
# seconds per layer (SCALE-Sim topology rows; DP = depthwise).
LAYERS = [
    ["conv1", 62, 62, 7, 7, 3, 64, 2],
    ["res2_3x3", 30, 30, 3, 3, 32, 64, 1],
    ["res3_down", 29, 29, 3, 3, 64, 128, 2],
    ["res4_3x3", 10, 10, 3, 3, 128, 128, 1],
    ["res5_1x1", 7, 7, 1, 1, 512, 512, 1],
    ["mb_pw", 14, 14, 1, 1, 128, 256, 1],
    ["mb_DP", 16, 16, 3, 3, 4, 1, 1],
]
GEMMS = [["attn_qkv", 64, 256, 128], ["mlp_up", 64, 512, 128]]

_DRIVER = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    from make_golden import run_scalesim
    jobs = json.loads(open(sys.argv[2]).read())
    out = []
    for job in jobs:
        t = time.perf_counter()
        res = run_scalesim([job["row"]], job["rows"], job["cols"], job["df"], gemm=job["gemm"])
        out.append({"seconds": time.perf_counter() - t, "results": res})
    print(json.dumps(out))
""")


def _random_jobs(n: int, seed: int) -> list[dict]:
    """Layers and arrays nobody picked: sizes kept small enough for SCALE-Sim's cycle-level run."""
    import random

    rng = random.Random(seed)
    jobs = []
    for i in range(n):
        rows, cols = rng.choice([1, 2, 3, 4, 5, 8, 12, 16, 24, 32, 48, 64]), rng.choice([1, 2, 4, 7, 8, 16, 32, 64])
        df = rng.choice(["os", "ws", "is"])
        kind = rng.choice(["conv", "conv", "dw", "gemm"])
        if kind == "gemm":
            row, gemm = [f"g{i}", rng.randint(1, 96), rng.randint(1, 200), rng.randint(1, 200)], True
        else:
            k = rng.choice([1, 3, 5, 7])
            stride = rng.choice([1, 1, 2, 3])
            h, w = rng.randint(k, k + 24), rng.randint(k, k + 24)
            c = rng.randint(1, 6) if kind == "dw" else rng.randint(1, 96)
            f = 1 if kind == "dw" else rng.randint(1, 128)
            row, gemm = [f"{'DP' if kind == 'dw' else 'c'}{i}", h, w, k, k, c, f, stride], False
        jobs.append({"row": row, "rows": rows, "cols": cols, "df": df, "gemm": gemm})
    return jobs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scalesim-python", default=sys.executable)
    ap.add_argument("--arrays", default="32x32,64x16")
    ap.add_argument("--dataflows", default="os,ws,is")
    ap.add_argument("--random", type=int, default=0, metavar="N",
                    help="instead: N random layers (conv, depthwise, GEMM), each on a random array and dataflow")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the per-layer results as JSON here")
    args = ap.parse_args()

    from hwnas.latency_models.tpe import SystolicArray, read_topology

    jobs = _random_jobs(args.random, args.seed) if args.random else []
    for arr in args.arrays.split(",") if not args.random else ():
        r, c = (int(x) for x in arr.lower().split("x"))
        for df in args.dataflows.split(","):
            for row in LAYERS:
                jobs.append({"row": row, "rows": r, "cols": c, "df": df, "gemm": False})
            for row in GEMMS:
                jobs.append({"row": row, "rows": r, "cols": c, "df": df, "gemm": True})
    with tempfile.TemporaryDirectory() as d:
        jf = Path(d) / "jobs.json"
        jf.write_text(json.dumps(jobs))
        drv = Path(d) / "driver.py"
        drv.write_text(_DRIVER)
        proc = subprocess.run([args.scalesim_python, "-W", "ignore", str(drv), str(GOLDEN_DIR), str(jf)],
                              capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"SCALE-Sim run failed (is scalesim installed for {args.scalesim_python}, with numpy < 2.3?)\n"
                     + proc.stderr[-2000:])
        sims = json.loads(proc.stdout.strip().splitlines()[-1])

        keys = ("compute_cycles", "overall_util_pct", "mapping_eff_pct", "compute_util_pct", "sram_ifmap_reads",
                "sram_filter_reads", "sram_ofmap_writes")
        rows_out, exact, n, speedups = [], 0, 0, []
        print(f"{'layer':>22} {'array':>6} {'df':>3} {'scalesim_s':>10} {'hwnas_us':>9} {'speedup':>9} exact")
        for job, sim in zip(jobs, sims):
            topo = Path(d) / "t.csv"
            head = "Layer, M, N, K," if job["gemm"] else "Layer, H, W, R, S, C, F, Stride,"
            topo.write_text(head + "\n" + ", ".join(map(str, job["row"])) + ",\n")
            layers = read_topology(topo, input_type="gemm" if job["gemm"] else "conv", scalesim=True,
                                   dp_num_filter="per_channel")  # SCALE-Sim's reading, to compare like with like
            sa = SystolicArray(job["rows"], job["cols"], job["df"], scalesim_compat=True)
            ok = len(layers) == len(sim["results"])
            for layer, ref in zip(layers, sim["results"]):
                got = sa.evaluate_gemm(layer.gemm).to_dict()
                ok = ok and all(got[k] == ref[k] for k in keys)
            # per-row time: all SCALE-Sim layers of the row (a DP row is one per channel) priced as `hwnas tpe`
            # prices them (one evaluation per distinct shape)
            gemms = [layer.gemm for layer in layers]
            reps = 2000
            t = min(timeit.repeat(lambda g=gemms, s=sa: s.evaluate_gemms(g), number=reps, repeat=3))
            ours = t / reps
            sp = sim["seconds"] / ours
            n += 1
            exact += ok
            speedups.append(sp)
            print(f"{job['row'][0]:>22} {job['rows']:>3}x{job['cols']:<2} {job['df']:>3} {sim['seconds']:>10.3f} "
                  f"{ours * 1e6:>9.1f} {sp:>9.0f} {'yes' if ok else 'NO'}")
            rows_out.append({"layer": job["row"][0], "array": [job["rows"], job["cols"]], "dataflow": job["df"],
                             "scalesim_s": sim["seconds"], "hwnas_s": ours, "speedup": sp, "exact": ok,
                             "scalesim_layers": len(sim["results"])})
    print(f"# {exact}/{n} rows exact (compute cycles, 3 utilizations, 3 SRAM counters); speedup min "
          f"{min(speedups):.0f}x, median {statistics.median(speedups):.0f}x")
    if args.out:
        Path(args.out).write_text(json.dumps(rows_out, indent=1))


if __name__ == "__main__":
    main()
