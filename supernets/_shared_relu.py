"""One ReLU per mixed op instead of one per candidate.

In the DARTS space four of the seven candidates of an edge (``sep_conv_*``, ``dil_conv_*``) open with
``ReLU(x)`` of the same input, as NAS-Bench-201's convolutions do: a mixing strategy computed it, stored it
for the backward and differentiated it once per candidate. Here the leading ReLUs of the built candidates
are swapped for :class:`SharedReLU` modules that read one cache, which the mixed op opens around its
forward: the first candidate computes ``relu(x)``, the others reuse it, so its value, the tensor kept for
the backward and its gradient are computed once. The candidates' modules, parameters and hooks are
untouched; a frozen network builds fresh candidates with their own ReLUs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import nn


class ReLUCache:
    """``relu(x)`` of the one input a mixed op is running, while :meth:`scope` is open."""

    def __init__(self) -> None:
        self._x: torch.Tensor | None = None
        self._r: torch.Tensor | None = None
        self._open = False

    def relu(self, x: torch.Tensor) -> torch.Tensor:
        if not self._open:
            return F.relu(x)
        if self._x is not x:
            self._x, self._r = x, F.relu(x)
        return self._r  # type: ignore[return-value]

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        self._open = True
        try:
            yield
        finally:
            self._open, self._x, self._r = False, None, None  # never outlive the forward


class SharedReLU(nn.Module):
    """A ``nn.ReLU`` whose value is shared by every candidate of one mixed op with the same input."""

    def __init__(self, cache: ReLUCache) -> None:
        super().__init__()
        self._cache = cache

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._cache.relu(x)


def _leading_relu(module: nn.Module) -> tuple[nn.Module, str] | None:
    """The container and name of the ReLU that ``module``'s forward applies first (through nested Sequentials)."""
    parent = module
    while isinstance(parent, nn.Sequential) and len(parent):
        first = parent[0]
        if isinstance(first, nn.ReLU):
            return parent, "0"
        parent = first
    return None


def share_leading_relus(ops: Iterable[nn.Module]) -> ReLUCache | None:
    """Swap the leading ReLU of each op that opens with one for a :class:`SharedReLU`; None if fewer than two do.

    Example:
        >>> conv = lambda k: nn.Sequential(nn.ReLU(), nn.Conv2d(2, 2, k, padding=k // 2))
        >>> ops = [conv(1), conv(3)]
        >>> cache = share_leading_relus(ops)
        >>> type(ops[1][0]).__name__
        'SharedReLU'
    """
    found = [hit for op in ops if (hit := _leading_relu(op)) is not None]
    if len(found) < 2:
        return None
    cache = ReLUCache()
    for parent, name in found:
        setattr(parent, name, SharedReLU(cache))
    return cache
