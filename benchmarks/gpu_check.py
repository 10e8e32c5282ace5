"""CUDA paths in one short run: AMP, channels_last, memory per strategy, ProxylessNAS lean memory, DDP over NCCL,
hwnas train with AMP against a plain loop, and hwnas train under torchrun over NCCL.

Run on a GPU machine (on a CPU it reports what it can and says what it skipped):

    python benchmarks/gpu_check.py --out gpu_check.json

Figures are ratios and peaks measured side by side in this one process, on this one card.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

import torch
from torch import nn

from hwnas.api import SPACES, SUPERNETS
from hwnas.losses import SearchLoss
from hwnas.search import TrainConfig
from hwnas.search.loop import BilevelTrainer


def _step_figures(
    strategy: str,
    kwargs: dict[str, Any],
    *,
    device: torch.device,
    amp: bool,
    batch: int,
    channels_last: bool,
    steps: int = 3,
) -> dict[str, Any]:
    torch.manual_seed(0)
    space = SPACES.get("darts")(C=16, layers=8, num_classes=10, in_channels=3)
    supernet = SUPERNETS.get(strategy)(space, **kwargs).to(device)
    if channels_last:
        supernet = supernet.to(memory_format=torch.channels_last)
    cfg = TrainConfig(epochs=1, amp=amp, channels_last=channels_last, progress=False)
    trainer = BilevelTrainer(supernet, loss=SearchLoss(), train=cfg, device=device)
    b = (torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,)))
    trainer.arch_step(b, b)
    trainer.weight_step(b)  # warm-up: cudnn autotuning, allocator growth
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for _ in range(steps):
        trainer.arch_step(b, b)
        trainer.weight_step(b)
    if device.type == "cuda":
        torch.cuda.synchronize()
    out = {
        "strategy": strategy,
        **kwargs,
        "amp": amp,
        "channels_last": channels_last,
        "batch": batch,
        "ms_per_step": 1000 * (time.perf_counter() - t) / steps,
        "loss_finite": bool(torch.isfinite(torch.tensor(trainer.last_details.get("train/loss", 0.0)))),
    }
    if device.type == "cuda":
        out["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def _lean_memory(device: torch.device) -> list[dict[str, Any]]:
    """Peak memory of a weight+arch step of a chain of Choices as the number of candidates grows."""
    from hwnas.api import Choice

    rows = []
    for mode in ("full", "two", "lean"):
        for n in (2, 4, 8):
            cands = {f"conv{i}": (lambda ci, co, s, k=3, **kw: nn.Conv2d(ci, co, k, s, k // 2)) for i in range(n)}
            space = nn.Sequential(
                *[Choice(cands, label=f"l{j}", c_in=32, c_out=32) for j in range(4)],
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                nn.Linear(32, 10),
            )
            sn = SUPERNETS.get("proxyless")(space, mode=mode).to(device)
            x, y = torch.randn(32, 32, 32, 32, device=device), torch.randint(0, 10, (32,), device=device)
            if device.type == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            sn.train()
            sn.set_phase("arch")
            nn.functional.cross_entropy(sn(x), y).backward()
            row = {"mode": mode, "candidates": n}
            if device.type == "cuda":
                row["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
            rows.append(row)
            del sn, space
    return rows


def _ddp_worker(rank: int, world: int, init: str, result_path: str, backend: str = "nccl") -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group(backend, init_method=init, rank=rank, world_size=world)
    if backend == "nccl":
        torch.cuda.set_device(rank)
    device = torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")
    torch.manual_seed(0)
    space = SPACES.get("darts")(C=8, layers=5, num_classes=10, in_channels=3)
    sn = SUPERNETS.get("darts")(space).to(device)
    ddp = DDP(sn, device_ids=[rank] if backend == "nccl" else None, find_unused_parameters=True)
    opt = torch.optim.Adam(sn.arch_parameters(), lr=1e-3)
    torch.manual_seed(100 + rank)  # different data per rank: α stays equal only if DDP averages its gradient
    x = torch.randn(16, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (16,), device=device)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(ddp(x), y).backward()
        opt.step()
    alpha = torch.cat([a.detach().flatten() for a in sn.arch_parameters()])
    gathered = [torch.zeros_like(alpha) for _ in range(world)]
    dist.all_gather(gathered, alpha)
    if rank == 0:
        spread = max(float((g - gathered[0]).abs().max()) for g in gathered)
        with open(result_path, "w") as f:
            json.dump({"backend": backend, "world_size": world, "alpha_max_spread_across_ranks": spread}, f)
    dist.destroy_process_group()


def _train_figures(device: torch.device) -> dict[str, Any]:
    """hwnas train's engine vs a plain loop on DARTS-V2 (C=36, 20 cells, batch 96) with autocast + channels_last,
    and the CUDA memory peak of the hwnas run."""
    import types

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import train_throughput as tt

    args = types.SimpleNamespace(C=36, layers=20, batch=96, steps=10, amp=True)
    batches = tt._batches(args, device)
    torch.cuda.reset_peak_memory_stats(device)
    hw = [tt._hwnas_round(args, device, batches) for _ in range(2)]
    peak = torch.cuda.max_memory_allocated(device)
    plain = [tt._plain_round(args, device, batches) for _ in range(2)]
    return {"hwnas_images_per_s": hw, "plain_images_per_s": plain, "ratio": max(hw) / max(plain),
            "peak_mib_hwnas": peak / 2**20, "amp_dtype": str(tt.amp_dtype_for("auto", device))}


def _train_torchrun(world: int) -> dict[str, Any]:
    """``torchrun -m hwnas train`` over NCCL with every visible GPU, a few steps on the embedded data."""
    import subprocess

    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(world), "-m", "hwnas", "train",
               "darts_v2", "--quiet", "--set", "device=cuda", "--set", f"out_dir={d}", "--set", "epochs=2",
               "--set", "max_steps_per_epoch=20", "--set", "model.space_kwargs={C: 16, layers: 8}",
               "--set", "data.image_size=32", "--set", "data.batch_size=128"]
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=420)
        out = {"returncode": proc.returncode, "seconds": time.perf_counter() - t, "world": world,
               "tail": proc.stderr[-600:]}
        report = os.path.join(d, "quick", "report.json")
        if os.path.exists(report):
            with open(report) as f:
                r = json.load(f)
            out.update(test_acc=r["test"]["acc"], images_per_s=[h["train/images_per_s"] for h in r["history"]])
        return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=None)
    p.add_argument("--batch", type=int, default=64)
    args = p.parse_args(argv)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    report: dict[str, Any] = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "cuda": torch.version.cuda,
        "skipped": [],
    }
    batch = args.batch if cuda else 4
    runs = [("darts", {}), ("pc_darts", {"k": 4}), ("proxyless", {"mode": "two"}), ("proxyless", {"mode": "lean"})]
    report["steps"] = [
        _step_figures(s, kw, device=device, amp=False, batch=batch, channels_last=False) for s, kw in runs
    ]
    if cuda:
        report["steps"] += [
            _step_figures(s, kw, device=device, amp=True, batch=batch, channels_last=True) for s, kw in runs
        ]
        report["proxyless_memory"] = _lean_memory(device)
        report["train_amp"] = _train_figures(device)
        report["train_torchrun_nccl"] = _train_torchrun(torch.cuda.device_count())
        world = torch.cuda.device_count()
        with tempfile.TemporaryDirectory() as d:
            res = os.path.join(d, "ddp.json")
            torch.multiprocessing.spawn(_ddp_worker, args=(world, f"file://{d}/pg", res), nprocs=world)
            with open(res) as f:
                report["ddp_nccl"] = json.load(f)
    else:
        report["proxyless_memory"] = _lean_memory(device)  # shapes only: no CUDA peaks to read
        with tempfile.TemporaryDirectory() as d:
            res = os.path.join(d, "ddp.json")
            torch.multiprocessing.spawn(_ddp_worker, args=(2, f"file://{d}/pg", res, "gloo"), nprocs=2)
            with open(res) as f:
                report["ddp_gloo_cpu"] = json.load(f)
        report["skipped"] += ["amp fp16 + channels_last on CUDA", "CUDA memory peaks", "DDP over NCCL",
                              "hwnas train with AMP and under torchrun over NCCL"]
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
