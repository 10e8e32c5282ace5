"""ProxylessNAS memory vs number of candidates: bytes saved for backward per mode, and CUDA peak when present.

One architecture-phase forward + backward of a chain of ``depth`` residual Choices, each holding ``n``
candidates. "full" keeps every candidate's output for the gate gradients, so its memory grows with
``n``; "lean" keeps only the active path's activations and recomputes the others one at a time in
backward; "two" keeps two. Saved bytes are counted with ``torch.autograd.graph.saved_tensors_hooks``
(distinct storages), which is what autograd holds between forward and backward. Candidate 0 is made
the active path (α₀ = 30) so that rows differ only by the number of candidates, not by which ran.

Usage:
    python benchmarks/proxyless_memory.py                      # CPU, identical 3x3 conv candidates
    python benchmarks/proxyless_memory.py --ops mbconv --c 32  # MBConv candidates ir_k{3,5,7}_e{3,6}
    python benchmarks/proxyless_memory.py --device cuda        # adds torch.cuda.max_memory_allocated
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from hwnas.api import OPS, Choice
from hwnas.supernets import ProxylessSupernet


def _conv3(ci: int, co: int, s: int, **kw: object) -> nn.Module:
    return nn.Sequential(nn.Conv2d(ci, co, 3, s, 1, bias=False), nn.BatchNorm2d(co), nn.ReLU())


class _Residual(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _space(n: int, c: int, depth: int, ops: str) -> nn.Module:
    if ops == "conv":
        cands: dict = {f"conv{i}": _conv3 for i in range(n)}
    else:
        names = [f"ir_k{k}_e{e}" for e in (3, 6) for k in (3, 5, 7)]
        cands = {f"{names[i % len(names)]}_{i}": names[i % len(names)] for i in range(n)}
        OPS.get(names[0])  # fails clearly if the built-in ops are not installed
    return nn.Sequential(*(_Residual(Choice(cands, label=f"l{d}", c_in=c, c_out=c)) for d in range(depth)))


def measure(mode: str, n: int, *, c: int, size: int, batch: int, depth: int, ops: str, device: str) -> dict:
    torch.manual_seed(0)
    net = ProxylessSupernet(_space(n, c, depth, ops), mode=mode).to(device)
    with torch.no_grad():  # make candidate 0 the active path everywhere, so rows differ only by n
        for a in net.arch_parameters():
            a[0] = 30.0
    net.set_phase("arch")
    x = torch.randn(batch, c, size, size, device=device, requires_grad=True)
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        seen[s.data_ptr()] = s.nbytes()
        return t

    net(x).sum().backward()  # warm-up (cudnn, allocator)
    net.zero_grad()
    x.grad = None
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    t0 = time.perf_counter()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = net(x)
    out.sum().backward()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    row = {"mode": mode, "n": n, "saved_mb": sum(seen.values()) / 2**20, "ms": 1e3 * (time.perf_counter() - t0)}
    if device.startswith("cuda"):
        row["peak_mb"] = (torch.cuda.max_memory_allocated() - base) / 2**20
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[2, 4, 8, 16])
    ap.add_argument("--modes", nargs="+", default=["full", "two", "lean"])
    ap.add_argument("--c", type=int, default=16)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--ops", choices=["conv", "mbconv"], default="conv")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    rows = [
        measure(m, n, c=args.c, size=args.size, batch=args.batch, depth=args.depth, ops=args.ops, device=args.device)
        for m in args.modes
        for n in args.n
    ]
    first = {m: next(r for r in rows if r["mode"] == m) for m in args.modes}
    cols = ["mode", "n", "saved_mb", "ratio_vs_first_n", "ms"] + (["peak_mb"] if "peak_mb" in rows[0] else [])
    print("\t".join(cols))
    for r in rows:
        r["ratio_vs_first_n"] = r["saved_mb"] / first[r["mode"]]["saved_mb"]
        print("\t".join(f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]) for k in cols))


if __name__ == "__main__":
    main()
