"""DARTS (Liu et al., 2019): every Choice becomes a softmax(α)-weighted sum of all its candidates."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hwnas.api import ZERO_OPS, Choice
from hwnas.supernets._base import RelaxedChoice, Supernet, _Decisions


class PoolBN(nn.Module):
    """A pooling candidate followed by a non-affine BN, as the DARTS/PC-DARTS *search* networks do.

    Pooling outputs are not normalised while the conv candidates end in BN; the papers' search code
    rescales them so the mixture is balanced. Frozen networks build the bare candidate again.
    Applied only to 4-D outputs with the expected channel count, so odd user candidates pass through.
    """

    def __init__(self, op: nn.Module, channels: int) -> None:
        super().__init__()
        self.op = op
        self.bn = nn.BatchNorm2d(channels, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.op(x)
        if y.dim() == 4 and y.shape[1] == self.bn.num_features:
            y = self.bn(y)
        return y


def build_candidates(
    choice: Choice, *, c_in: int | None = None, c_out: int | None = None, pool_bn: bool = False
) -> tuple[nn.ModuleList, tuple[bool, ...]]:
    """Build every candidate of ``choice`` (optionally at another width); also says which are zero ops."""
    ops = nn.ModuleList()
    co = choice.c_out if c_out is None else c_out
    for name in choice.candidate_names:
        op = choice.build(name, c_in=c_in, c_out=c_out)
        if pool_bn and "pool" in name:
            op = PoolBN(op, co)
        ops.append(op)
    return ops, tuple(n in ZERO_OPS for n in choice.candidate_names)


def mix(ops: Sequence[nn.Module], is_zero: Sequence[bool], weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``Σ_i w_i · op_i(x)``. Zero ops add ``w·0``: they change nothing in the value nor in any gradient
    (∂L/∂w_zero = ⟨∂L/∂y, 0⟩ = 0), so they are not run unless every candidate is a zero op;
    their α still gets its gradient through the softmax normalisation of the others."""
    out: torch.Tensor | None = None
    for i, op in enumerate(ops):
        if is_zero[i]:
            continue
        y = weights[i] * op(x)
        out = y if out is None else out + y
    if out is None:  # only zero candidates: the output is zero but must have the right shape
        out = weights[0] * ops[0](x)
    return out


class DartsMixedOp(RelaxedChoice):
    """Softmax-weighted sum of all candidates (the DARTS continuous relaxation)."""

    def __init__(self, choice: Choice, decisions: _Decisions, *, pool_bn: bool = True) -> None:
        super().__init__(choice, decisions)
        self.ops, self._is_zero = build_candidates(choice, pool_bn=pool_bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mix(self.ops, self._is_zero, self.decision(), x)


class DartsSupernet(Supernet):
    """DARTS: each Choice outputs ``Σ_i softmax(α)_i · op_i(x)``; InputChoices sum their inputs.

    First-order architecture gradients are a plain backward of the validation loss; the
    second-order (unrolled) gradient is :func:`hwnas.search.unrolled.unrolled_arch_backward`.

    Args:
        space: A module holding Choices; relaxed in place and owned by the supernet as ``self.space``.
        alpha_init_std: α starts as ``alpha_init_std * randn`` (DARTS: 1e-3).
        pool_bn: Put a non-affine BN after pooling candidates (candidate names containing ``"pool"``), as
            the DARTS search network does.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from hwnas.api import Choice
        >>> conv = lambda k: (lambda ci, co, s: nn.Conv2d(ci, co, k, s, k // 2))
        >>> space = nn.Sequential(Choice({"k1": conv(1), "k3": conv(3)}, label="op", c_in=3, c_out=4))
        >>> net = DartsSupernet(space)
        >>> net(torch.zeros(2, 3, 8, 8)).shape
        torch.Size([2, 4, 8, 8])
        >>> sorted(net.export().choices)
        ['op']
    """

    strategy = "darts"

    def __init__(self, space: nn.Module, *, alpha_init_std: float = 1e-3, pool_bn: bool = True) -> None:
        self._pool_bn = bool(pool_bn)
        super().__init__(space, alpha_init_std=alpha_init_std)

    def _relax_choice(self, choice: Choice) -> nn.Module:
        return DartsMixedOp(choice, self._decisions, pool_bn=self._pool_bn)
