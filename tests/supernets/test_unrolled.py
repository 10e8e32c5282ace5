"""DARTS second-order gradient: the finite-difference version against an exact double-backward one."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from hwnas.api import Choice, InputChoice
from hwnas.search.unrolled import unrolled_arch_backward
from hwnas.supernets import DartsSupernet, PCDartsSupernet


def _mlp(ci: int, co: int, s: int) -> nn.Module:
    return nn.Sequential(nn.Linear(ci, co), nn.Tanh())


def _quad(ci: int, co: int, s: int) -> nn.Module:
    return nn.Sequential(nn.Linear(ci, co), nn.Softplus())


class TinySpace(nn.Module):
    space_name = "tiny"

    def __init__(self) -> None:
        super().__init__()
        ops = {"tanh": _mlp, "softplus": _quad, "none": lambda ci, co, s: _ZeroVec(co)}
        self.a = Choice(ops, label="a", c_in=5, c_out=6)
        self.b = Choice(ops, label="b", c_in=5, c_out=6)
        self.pick = InputChoice(n_candidates=2, n_chosen=1, label="n", sources=["a", "b"])
        self.c = Choice({"tanh": _mlp, "softplus": _quad}, label="c", c_in=6, c_out=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c(self.pick([self.a(x), self.b(x)]))


class _ZeroVec(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.c = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.shape[0], self.c)


def _exact(net, loss_fn, train, val, *, lr, momentum, wd, bufs):
    arch, weights = net.arch_parameters(), net.weight_parameters()
    names = {id(p): n for n, p in net.named_parameters()}
    g = torch.autograd.grad(loss_fn(net(train[0]), train[1]), weights, create_graph=True)
    w_new = [p - lr * (gi + wd * p + momentum * bufs[id(p)]) for p, gi in zip(weights, g)]
    out = functional_call(net, {names[id(p)]: w for p, w in zip(weights, w_new)}, (val[0],))
    return torch.autograd.grad(loss_fn(out, val[1]), arch)


@pytest.mark.parametrize("cls", [DartsSupernet, PCDartsSupernet])
def test_finite_difference_matches_exact_second_order(cls):
    torch.manual_seed(0)
    net = cls(TinySpace()).double()
    with torch.no_grad():
        for p in net.arch_parameters():
            p.normal_(0, 0.5)
    train = (torch.randn(16, 5, dtype=torch.float64), torch.randint(0, 3, (16,)))
    val = (torch.randn(16, 5, dtype=torch.float64), torch.randint(0, 3, (16,)))
    bufs = {id(p): 0.1 * torch.randn_like(p) for p in net.weight_parameters()}
    kw = {"lr": 0.5, "momentum": 0.9}
    before = [p.detach().clone() for p in net.weight_parameters()]
    ref = _exact(net, F.cross_entropy, train, val, wd=3e-4, bufs=bufs, **kw)
    loss = unrolled_arch_backward(net, F.cross_entropy, train, val, weight_decay=3e-4, momentum_buffers=bufs, **kw)
    assert loss.ndim == 0 and torch.isfinite(loss)
    got = [p.grad.clone() for p in net.arch_parameters()]
    flat_ref, flat_got = torch.cat([t.flatten() for t in ref]), torch.cat([t.flatten() for t in got])
    rel = float((flat_got - flat_ref).norm() / flat_ref.norm())
    assert rel < 1e-4, rel
    # the second-order term matters: first-order alone is clearly different
    first = torch.autograd.grad(
        F.cross_entropy(functional_call(net, {}, (val[0],)), val[1]), net.arch_parameters()
    )
    assert float((torch.cat([t.flatten() for t in first]) - flat_ref).norm() / flat_ref.norm()) > 1e-2
    # the supernet's own weights are untouched
    assert all(torch.equal(a, b) for a, b in zip(before, net.weight_parameters()))
    # accumulates like backward()
    unrolled_arch_backward(net, F.cross_entropy, train, val, weight_decay=3e-4, momentum_buffers=bufs, **kw)
    assert all(torch.allclose(p.grad, 2 * g) for p, g in zip(net.arch_parameters(), got))


def test_optimizer_state_and_missing_buffers_are_accepted():
    torch.manual_seed(1)
    net = DartsSupernet(TinySpace())
    opt = torch.optim.SGD(net.weight_parameters(), lr=0.1, momentum=0.9)
    batch = (torch.randn(8, 5), torch.randint(0, 3, (8,)))
    unrolled_arch_backward(net, F.cross_entropy, batch, batch, lr=0.1, momentum=0.9, weight_decay=0.0,
                           momentum_buffers=opt.state)  # empty state: the first step
    g0 = [p.grad.clone() for p in net.arch_parameters()]
    net.zero_grad()
    unrolled_arch_backward(net, F.cross_entropy, batch, batch, lr=0.1, momentum=0.9, weight_decay=0.0)
    assert all(torch.allclose(a, b.grad) for a, b in zip(g0, net.arch_parameters()))
