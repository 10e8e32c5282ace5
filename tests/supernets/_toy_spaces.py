"""Tiny search spaces built from factory candidates only (no OPS registry), for supernet and loop tests.

* :class:`ToyCellSpace` — DARTS-like: a normal cell (used twice, sharing labels) and a reduction
  cell; each node sums edges from every previous state through an ``InputChoice(n_chosen=2)``
  whose ``sources`` name the edges' Choices. Candidates: conv, pool, skip, none.
* :class:`ToyLayerSpace` — layer-wise (ProxylessNAS-like): a stride-2 Choice with ``c_in != c_out``,
  residual blocks whose Choice may be ``zero``, two Choices sharing one label, and a Choice whose
  width (6) is not divisible by PC-DARTS's K=4.
* :class:`ChainSpace` — one residual Choice of ``n`` identical conv candidates (memory scaling tests).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from hwnas.api import Choice, InputChoice


class Zero(nn.Module):
    def __init__(self, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_out, self.stride = c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        return x.new_zeros(n, self.c_out, math.ceil(h / self.stride), math.ceil(w / self.stride))


def conv3(ci: int, co: int, s: int, **kw: Any) -> nn.Module:
    return nn.Sequential(
        nn.ReLU(), nn.Conv2d(ci, co, 3, s, 1, bias=False), nn.BatchNorm2d(co, affine=kw.get("affine", True))
    )


def conv1(ci: int, co: int, s: int, **kw: Any) -> nn.Module:
    return nn.Sequential(
        nn.ReLU(), nn.Conv2d(ci, co, 1, s, 0, bias=False), nn.BatchNorm2d(co, affine=kw.get("affine", True))
    )


def conv5(ci: int, co: int, s: int, **kw: Any) -> nn.Module:
    return nn.Sequential(
        nn.ReLU(), nn.Conv2d(ci, co, 5, s, 2, bias=False), nn.BatchNorm2d(co, affine=kw.get("affine", True))
    )


def pool(ci: int, co: int, s: int, **kw: Any) -> nn.Module:
    p = nn.MaxPool2d(3, s, 1)
    return p if ci == co else nn.Sequential(nn.Conv2d(ci, co, 1, bias=False), p)


def skip(ci: int, co: int, s: int, **kw: Any) -> nn.Module:
    return nn.Identity() if ci == co and s == 1 else nn.Conv2d(ci, co, 1, s, bias=False)


def zero(ci: int, co: int, s: int, **kw: Any) -> nn.Module:
    return Zero(co, s)


CELL_OPS = {"none": zero, "pool": pool, "skip": skip, "conv": conv3}
LAYER_OPS = {"k3": conv3, "k5": conv5}


class ToyCell(nn.Module):
    """Two input states, ``nodes`` intermediate nodes, output = concat of the nodes."""

    def __init__(self, c: int, *, reduction: bool, prefix: str, nodes: int = 2) -> None:
        super().__init__()
        self.edges = nn.ModuleList()
        self.inputs = nn.ModuleList()
        for i in range(nodes):
            n_prev = 2 + i
            labels = [f"{prefix}_n{i}_e{j}" for j in range(n_prev)]
            self.edges.append(
                nn.ModuleList(
                    Choice(
                        CELL_OPS,
                        label=labels[j],
                        c_in=c,
                        c_out=c,
                        stride=2 if reduction and j < 2 else 1,
                        op_kwargs={"affine": False},
                    )
                    for j in range(n_prev)
                )
            )
            self.inputs.append(InputChoice(n_candidates=n_prev, n_chosen=2, label=f"{prefix}_n{i}", sources=labels))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [s0, s1]
        for edges, pick in zip(self.edges, self.inputs):
            states.append(pick([edge(h) for edge, h in zip(edges, states)]))
        return torch.cat(states[2:], dim=1)


class ToyCellSpace(nn.Module):
    """stem -> normal cell -> normal cell (same labels) -> reduction cell -> head."""

    space_name = "toy_cell"

    def __init__(self, c: int = 8, num_classes: int = 3, nodes: int = 2) -> None:
        super().__init__()
        self.space_kwargs = {"c": c, "num_classes": num_classes, "nodes": nodes}
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        self.cells = nn.ModuleList()
        self.pre = nn.ModuleList()
        for reduction in (False, False, True):
            self.pre.append(nn.Conv2d(nodes * c if self.cells else c, c, 1, bias=False))
            self.cells.append(ToyCell(c, reduction=reduction, prefix="reduce" if reduction else "normal", nodes=nodes))
        self.head = nn.Linear(nodes * c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stem(x)
        for pre, cell in zip(self.pre, self.cells):
            h = pre(s)
            s = cell(h, h)
        return self.head(s.mean((2, 3)))


class Residual(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ToyLayerSpace(nn.Module):
    """stem(8) -> Choice 8->16 stride 2 -> 2x residual Choice(16, k3/k5/zero; shared label) -> 1x1 to 6
    -> residual Choice(6, k3/k5/zero) -> head."""

    space_name = "toy_layer"

    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        self.space_kwargs = {"num_classes": num_classes}
        res_ops = {**LAYER_OPS, "zero": zero}
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        self.down = Choice(LAYER_OPS, label="down", c_in=8, c_out=16, stride=2)
        self.blocks = nn.Sequential(
            Residual(Choice(res_ops, label="shared", c_in=16, c_out=16)),
            Residual(Choice(res_ops, label="shared", c_in=16, c_out=16)),
        )
        self.narrow = nn.Conv2d(16, 6, 1, bias=False)
        self.odd = Residual(Choice(res_ops, label="odd", c_in=6, c_out=6))
        self.head = nn.Linear(6, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.odd(self.narrow(self.blocks(self.down(self.stem(x)))))
        return self.head(x.mean((2, 3)))


class ChainSpace(nn.Module):
    """``depth`` residual Choices of ``n`` identical 3x3 conv candidates at width ``c``."""

    space_name = "toy_chain"

    def __init__(self, n: int, c: int = 8, depth: int = 2) -> None:
        super().__init__()
        ops = {f"conv{i}": conv3 for i in range(n)}
        self.body = nn.Sequential(*(Residual(Choice(ops, label=f"l{d}", c_in=c, c_out=c)) for d in range(depth)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


TOY_SPACES = {"cell": ToyCellSpace, "layer": ToyLayerSpace}
