"""Degenerate architectures: networks whose output does not depend on their input.

A cell whose every path from its inputs to its output crosses a zero op outputs a constant; the
network then predicts one class whatever it sees, and costs almost nothing on any hardware. A
hardware term can drive a search there (NB201's all-``none`` cells measure 0.004 ms). Detection is
generic and exact: a zero op outputs fresh zeros, which carry no autograd history, so the frozen
network's output has a gradient path to its input if and only if some path of non-zero ops joins them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hwnas.api.archspec import ArchSpec, ArchSpecError
from hwnas.api.freeze import freeze


def output_depends_on_input(net: nn.Module, input_size: Sequence[int]) -> bool:
    """Whether ``net``'s output has an autograd path to its input (one forward and backward, eval mode).

    Example:
        >>> import torch
        >>> from torch import nn
        >>> output_depends_on_input(nn.Linear(3, 2), (3,))
        True
        >>> class Constant(nn.Module):
        ...     def forward(self, x):
        ...         return x.new_zeros(x.shape[0], 2)
        >>> output_depends_on_input(Constant(), (3,))
        False
    """
    was_training = net.training
    net.eval()
    try:
        p = next(net.parameters(), None)
        x = torch.randn(2, *input_size, device=p.device if p is not None else None, requires_grad=True)
        with torch.enable_grad():
            out = net(x)
            out = out[0] if isinstance(out, (tuple, list)) else out
            if not out.requires_grad:
                return False
            (grad,) = torch.autograd.grad(out.float().sum(), x, allow_unused=True)
        return grad is not None
    finally:
        net.train(was_training)


def space_input_size(space: nn.Module, input_size: Sequence[int] | None = None) -> tuple[int, ...]:
    """``input_size`` if given, else the space's ``default_input_size`` (one sample, no batch)."""
    size = input_size if input_size is not None else getattr(space, "default_input_size", None)
    if size is None:
        raise ArchSpecError(f"{type(space).__name__} declares no default_input_size: pass input_size=(C, H, W)")
    return tuple(int(s) for s in size)


def is_degenerate(space: nn.Module, arch: ArchSpec, input_size: Sequence[int] | None = None) -> bool:
    """Whether ``arch``, frozen in ``space``, outputs the same whatever its input.

    Example:
        >>> from hwnas.search_spaces import NB201Space, nb201_str_to_arch
        >>> space = NB201Space(C=4, N=1)
        >>> is_degenerate(space, nb201_str_to_arch("|none~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"))
        True
        >>> is_degenerate(space, nb201_str_to_arch("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"))
        False
    """
    return not output_depends_on_input(freeze(space, arch), space_input_size(space, input_size))


__all__ = ["is_degenerate", "output_depends_on_input", "space_input_size"]
