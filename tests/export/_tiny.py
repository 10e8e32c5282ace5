"""Tiny settings per registered space for the export tests, and a network with non-trivial weights."""

from __future__ import annotations

import torch
from torch import nn

from hwnas.api import SPACES, ArchSpec, freeze
from tests.test_space_supernet_matrix import TINY  # the one table of tiny settings per space

SIDE = {"darts": 16, "nb201": 8, "proxyless": 16, "fbnet": 16}


def randomize(net: nn.Module, seed: int = 0) -> nn.Module:
    """Random BN affine weights and statistics, so equal outputs mean equal functions, not equal init."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # convs and linears keep their (random) init, which keeps outputs at a trained scale
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d) and m.affine:
                for t, lo, hi in ((m.weight, 0.5, 1.5), (m.bias, -0.2, 0.2), (m.running_mean, -0.2, 0.2),
                                  (m.running_var, 0.5, 1.5)):
                    t.copy_(torch.rand(t.shape, generator=gen) * (hi - lo) + lo)
    return net


def tiny_network(name: str, seed: int = 0) -> tuple[nn.Module, ArchSpec, dict]:
    """The frozen network of a random architecture of space ``name`` at its tiny setting."""
    from hwnas.api import random_arch

    space = SPACES.get(name)(**TINY[name])
    arch = random_arch(space, seed)
    return randomize(freeze(space, arch), seed), arch, dict(TINY[name])
