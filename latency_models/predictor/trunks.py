"""Trunks of a latency predictor: encodings ``[B, dim]`` -> log latency (log ms) on each pretraining device.

Three kinds, all differentiable in soft (probability) encodings:

- :class:`TableTrunk` — the multilinear extension of a *complete* measured table (every arch of an
  enumerable space, e.g. the 15,625 NB201 cells): exact on one-hot archs, the expectation of the log
  latency under independent per-decision probabilities on soft ones.
- :class:`AdditiveTrunk` — per device, a ridge-fitted sum of per-decision costs in ms (a fitted LUT);
  the log of its output is the feature. Good where latency is a sum over layers (FBNet).
- :class:`MLPTrunk` — a small MLP trained by SGD on every device at once; for anything else.

Table and additive trunks fit each device on its own column only, so dropping a device from a
pretrained trunk (:meth:`without`) leaves no trace of it: the leave-one-device-out protocol needs
no retraining.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn


def _split(x: torch.Tensor, sizes: Sequence[int]) -> list[torch.Tensor]:
    return list(torch.split(x, list(sizes), dim=1))


class TableTrunk(nn.Module):
    """Multilinear extension of a complete table ``log_ms[d, i1, ..., iL]``.

    Args:
        sizes: Candidates per decision (the table's axes). log_ms: ``[n_dev, *sizes]`` log latencies.
    """

    kind = "table"

    def __init__(self, sizes: Sequence[int], log_ms: torch.Tensor) -> None:
        super().__init__()
        self.sizes = tuple(int(s) for s in sizes)
        if tuple(log_ms.shape[1:]) != self.sizes:
            raise ValueError(f"table shape {tuple(log_ms.shape)} does not match sizes {self.sizes}")
        self.register_buffer("log_ms", log_ms.float().contiguous())

    @property
    def n_out(self) -> int:
        return int(self.log_ms.shape[0])

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "sizes": list(self.sizes), "n_out": self.n_out}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = _split(x, self.sizes)
        if not x.requires_grad and all(bool(((p == 0) | (p == 1)).all() and (p.sum(1) == 1).all()) for p in parts):
            # One-hot archs: a plain look-up (same result as the contraction, O(B) instead of O(B * table)).
            flat = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
            for p, s in zip(parts, self.sizes):
                flat = flat * s + p.argmax(1)
            return self.log_ms.reshape(self.n_out, -1)[:, flat].T.to(x.dtype)
        t = self.log_ms.to(x.dtype).movedim(0, -1)  # [s1, ..., sL, n_dev]
        b = x.shape[0]
        out = parts[0] @ t.reshape(self.sizes[0], -1)  # [B, rest]
        for p, s in zip(parts[1:], self.sizes[1:]):
            out = torch.einsum("bi,bir->br", p, out.reshape(b, s, -1))
        return out  # [B, n_dev]

    def without(self, keep: Sequence[int]) -> TableTrunk:
        return TableTrunk(self.sizes, self.log_ms[list(keep)].clone())


class AdditiveTrunk(nn.Module):
    """Per device ``ms = bias + x @ weight`` (a fitted per-decision cost table); outputs ``log(ms)``.

    Args:
        weight: ``[dim, n_dev]`` per-candidate costs (ms). bias: ``[n_dev]``. floor: ``[n_dev]`` lowest ms.
    """

    kind = "additive"

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, floor: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("weight", weight.float().contiguous())
        self.register_buffer("bias", bias.float().contiguous())
        self.register_buffer("floor", floor.float().contiguous())

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[1])

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "dim": int(self.weight.shape[0]), "n_out": self.n_out}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ms = self.bias.to(x.dtype) + x @ self.weight.to(x.dtype)
        # A soft mix can only be a convex combination of valid archs; the floor guards the log anyway.
        return torch.log(torch.maximum(ms, self.floor.to(x.dtype)))

    def without(self, keep: Sequence[int]) -> AdditiveTrunk:
        k = list(keep)
        return AdditiveTrunk(self.weight[:, k].clone(), self.bias[k].clone(), self.floor[k].clone())

    @classmethod
    def fit(cls, x: torch.Tensor, latency_ms: np.ndarray, *, ridge: float = 1.0) -> AdditiveTrunk:
        """Ridge-fit each device column on its measured rows (NaN = not measured)."""
        xa = np.c_[np.ones(len(x)), x.double().numpy()]
        reg = ridge * np.eye(xa.shape[1])
        reg[0, 0] = 0.0
        n_dev = latency_ms.shape[1]
        w = np.zeros((xa.shape[1], n_dev))
        floor = np.zeros(n_dev)
        for d in range(n_dev):
            ok = np.isfinite(latency_ms[:, d]) & (latency_ms[:, d] > 0)
            if ok.sum() < 2:
                raise ValueError(f"device column {d} has fewer than 2 measurements")
            a, y = xa[ok], latency_ms[ok, d]
            w[:, d] = np.linalg.solve(a.T @ a + reg, a.T @ y)
            floor[d] = 0.5 * float(y.min())
        t = torch.as_tensor
        return cls(t(w[1:]), t(w[0]), t(floor))


class MLPTrunk(nn.Module):
    """An MLP to the standardized log latency of every device, de-standardized on output."""

    kind = "mlp"

    def __init__(self, dim: int, n_out: int, *, hidden: int = 256, layers: int = 2) -> None:
        super().__init__()
        self.dim, self.hidden, self.layers = int(dim), int(hidden), int(layers)
        mods: list[nn.Module] = []
        width = self.dim
        for _ in range(self.layers):
            mods += [nn.Linear(width, self.hidden), nn.ReLU()]
            width = self.hidden
        mods.append(nn.Linear(width, int(n_out)))
        self.net = nn.Sequential(*mods)
        self.register_buffer("out_mean", torch.zeros(int(n_out)))
        self.register_buffer("out_std", torch.ones(int(n_out)))

    @property
    def n_out(self) -> int:
        return int(self.out_mean.shape[0])

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "dim": self.dim, "n_out": self.n_out, "hidden": self.hidden, "layers": self.layers}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_mean + self.out_std * self.net(x)

    @classmethod
    def fit(cls, x: torch.Tensor, latency_ms: np.ndarray, *, steps: int = 2000, hidden: int = 256, layers: int = 2,
            lr: float = 2e-3, batch: int = 512, weight_decay: float = 0.0, seed: int = 0,
            verbose: bool = False) -> MLPTrunk:
        """Train on every device column at once (masked MSE on standardized log latency)."""
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        lat = np.asarray(latency_ms, dtype=np.float64)
        valid = np.isfinite(lat) & (lat > 0)
        logl = np.where(valid, np.log(np.where(valid, lat, 1.0)), 0.0)
        cnt = valid.sum(0).clip(min=1)
        mean = (logl * valid).sum(0) / cnt
        std = np.sqrt((((logl - mean) * valid) ** 2).sum(0) / cnt).clip(min=1e-6)
        y = torch.as_tensor(np.where(valid, (logl - mean) / std, 0.0), dtype=torch.float32)
        m = torch.as_tensor(valid, dtype=torch.float32)
        trunk = cls(x.shape[1], lat.shape[1], hidden=hidden, layers=layers)
        opt = torch.optim.AdamW(trunk.net.parameters(), lr=lr, weight_decay=weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(steps, 1), pct_start=0.1)
        n = len(x)
        t0 = time.perf_counter()
        for step in range(steps):
            idx = torch.randint(0, n, (min(batch, n),), generator=gen)
            loss = (((trunk.net(x[idx]) - y[idx]) ** 2) * m[idx]).sum() / m[idx].sum().clamp(min=1.0)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if verbose and (step % 500 == 0 or step == steps - 1):
                print(f"  step {step:5d}  loss {loss.item():.4f}  {time.perf_counter() - t0:.1f}s", flush=True)
        trunk.out_mean.copy_(torch.as_tensor(mean))
        trunk.out_std.copy_(torch.as_tensor(std))
        return trunk.eval()


def build_trunk(config: dict[str, Any]) -> nn.Module:
    """An empty trunk of the kind and shape in ``config`` (to load a state dict into)."""
    kind = config.get("kind")
    n = int(config["n_out"])
    if kind == "table":
        sizes = [int(s) for s in config["sizes"]]
        return TableTrunk(sizes, torch.zeros(n, *sizes))
    if kind == "additive":
        d = int(config["dim"])
        return AdditiveTrunk(torch.zeros(d, n), torch.zeros(n), torch.ones(n))
    if kind == "mlp":
        return MLPTrunk(int(config["dim"]), n, hidden=int(config["hidden"]), layers=int(config["layers"]))
    raise ValueError(f"unknown trunk kind {kind!r}")

