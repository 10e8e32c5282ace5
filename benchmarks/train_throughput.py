"""Throughput of ``hwnas train``'s engine against a plain hand-written PyTorch loop, side by side in one run.

Both train the DARTS-V2 evaluation network (auxiliary head, drop-path, grad clip: the ``darts_cifar10`` recipe)
on the same synthetic 32x32 batches already on the device, so the figure is the toolkit's own overhead
(its step bookkeeping, timm's optimizer and scheduler, the loss wiring), not data loading. Rounds alternate
hwnas / plain so that drift of the machine hits both; the ratio is the median over rounds.

Usage:
    python benchmarks/train_throughput.py                         # the paper's network (C=36, 20 cells)
    python benchmarks/train_throughput.py --C 16 --layers 8 --batch 32 --steps 3   # a small CPU check
    python benchmarks/train_throughput.py --device cuda --amp      # plus bf16/fp16 autocast and channels_last

Goal: hwnas / plain >= 0.95.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torch import nn

from hwnas.api import ARCHS
from hwnas.search_spaces import DartsNetwork
from hwnas.train.config import OptimConfig, RegConfig, SchedConfig
from hwnas.train.engine import Trainer, amp_dtype_for
from hwnas.train.parts import build_optimizer, build_scheduler, build_train_loss


def _network(args: argparse.Namespace, device: torch.device) -> nn.Module:
    torch.manual_seed(0)
    return DartsNetwork(ARCHS.get("darts_v2"), C=args.C, layers=args.layers, auxiliary=True).to(device)


def _batches(args: argparse.Namespace, device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(args.batch, 3, 32, 32, generator=g).to(device),
             torch.randint(0, 10, (args.batch,), generator=g).to(device)) for _ in range(args.steps)]


def _hwnas_round(args: argparse.Namespace, device: torch.device, batches: list) -> float:
    net = _network(args, device)
    opt = build_optimizer(net, OptimConfig(lr=0.025, weight_decay=3e-4))
    sched = build_scheduler(opt, SchedConfig(), epochs=600, steps_per_epoch=len(batches))
    criterion, _ = build_train_loss(RegConfig(), num_classes=10)
    tr = Trainer(net, optimizer=opt, scheduler=sched, criterion=criterion, device=device, epochs=600,
                 amp_dtype=amp_dtype_for("auto" if args.amp else "off", device), channels_last=args.amp,
                 grad_clip=5.0, aux_weight=0.4, drop_path=0.2)
    tr.train_epoch(batches[:1], 300)  # warm-up (cuDNN autotuning, allocator)
    stats = tr.train_epoch(batches, 300)
    return stats["images_per_s"]


def _plain_round(args: argparse.Namespace, device: torch.device, batches: list) -> float:
    net = _network(args, device)
    opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    dtype = amp_dtype_for("auto" if args.amp else "off", device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)
    if args.amp and device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)
    net.train()
    net.drop_path_prob = 0.1

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        if args.amp and device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            logits, aux = net(x)
            loss = nn.functional.cross_entropy(logits, y) + 0.4 * nn.functional.cross_entropy(aux, y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        scaler.step(opt)
        scaler.update()

    step(*batches[0])
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for x, y in batches:
        step(x, y)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return len(batches) * args.batch / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--C", type=int, default=36)
    p.add_argument("--layers", type=int, default=20)
    p.add_argument("--batch", type=int, default=96)
    p.add_argument("--steps", type=int, default=20, help="timed steps per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--amp", action="store_true", help="autocast (bf16 where supported) and channels_last on CUDA")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    device = torch.device(args.device)
    batches = _batches(args, device)
    hw, plain = [], []
    for _ in range(args.rounds):
        hw.append(_hwnas_round(args, device, batches))
        plain.append(_plain_round(args, device, batches))
    ratios = [h / q for h, q in zip(hw, plain)]
    result = {"device": str(device), "C": args.C, "layers": args.layers, "batch": args.batch, "amp": args.amp,
              "hwnas_images_per_s": hw, "plain_images_per_s": plain, "ratio_median": statistics.median(ratios),
              "threads": torch.get_num_threads()}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"DARTS-V2 C={args.C} {args.layers} cells, batch {args.batch}, {device}, amp {args.amp}")
        for i, (h, q) in enumerate(zip(hw, plain)):
            print(f"  round {i + 1}: hwnas {h:8.1f} img/s   plain {q:8.1f} img/s   ratio {h / q:.3f}")
        print(f"  median ratio hwnas / plain: {result['ratio_median']:.3f} (goal >= 0.95)")


if __name__ == "__main__":
    main()
