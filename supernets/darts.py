"""DARTS (Liu et al., 2019): every Choice becomes a softmax(α)-weighted sum of all its candidates."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch
from torch import nn

from hwnas.api import ZERO_OPS, Choice
from hwnas.supernets._base import Mix, RelaxedChoice, Supernet, _Decisions, zeros_output
from hwnas.supernets._shared_relu import ReLUCache, share_leading_relus


def build_candidates(
    choice: Choice, *, c_in: int | None = None, c_out: int | None = None
) -> tuple[nn.ModuleList, tuple[bool, ...]]:
    """Build every candidate of ``choice`` (optionally at another width); also says which are zero ops.

    Candidates are built exactly as the space declares them: a space whose search cell normalises
    pooling (DARTS puts a non-affine BN after it) declares that candidate, so no strategy adds layers.
    """
    ops = nn.ModuleList(choice.build(name, c_in=c_in, c_out=c_out) for name in choice.candidate_names)
    return ops, tuple(n in ZERO_OPS for n in choice.candidate_names)


def mix(ops: Sequence[nn.Module], is_zero: Sequence[bool], decision: Mix, x: torch.Tensor, *, c_out: int,
        stride: int, relus: ReLUCache | None = None) -> torch.Tensor:
    """``Σ_{i active} w_i · op_i(x)``.

    Zero ops add ``w·0``: they change nothing in the value nor in any gradient (∂L/∂w_zero =
    ⟨∂L/∂y, 0⟩ = 0), so they are not run; their α still gets its gradient through the softmax
    normalisation of the others. Candidates outside ``decision.active`` (masked, perturbed away) have
    weight 0 and are not run either. When nothing is left to run the output is zeros of the edge's
    shape (``c_out`` channels at ``stride``). ``relus`` (from :func:`share_leading_relus`) lets the
    candidates that open with a ReLU share one. The weighted sum accumulates in place into one tensor.
    """
    w = decision.weights
    out: torch.Tensor | None = None
    with relus.scope() if relus is not None else contextlib.nullcontext():
        for i in decision.active:
            if is_zero[i]:
                continue
            y = ops[i](x)
            if w is None:
                out = y if out is None else out + y
            else:  # the first product is a fresh tensor that no backward reads, so the rest may add into it
                out = y * w[i] if out is None else out.addcmul_(y, w[i])
    if out is None:
        return zeros_output(x, c_out, stride)
    return out


class DartsMixedOp(RelaxedChoice):
    """Softmax-weighted sum of all candidates (the DARTS continuous relaxation)."""

    def __init__(self, choice: Choice, decisions: _Decisions, *, shared_relu: bool = True) -> None:
        super().__init__(choice, decisions)
        self.ops, self._is_zero = build_candidates(choice)
        self._relus = share_leading_relus(self.ops) if shared_relu else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mix(self.ops, self._is_zero, self.decision(), x, c_out=self.c_out, stride=self.stride,
                   relus=self._relus)


class DartsSupernet(Supernet):
    """DARTS: each Choice outputs ``Σ_i softmax(α)_i · op_i(x)``; InputChoices sum their inputs.

    First-order architecture gradients are a plain backward of the validation loss; the
    second-order (unrolled) gradient is :func:`hwnas.search.unrolled.unrolled_arch_backward`.

    Args:
        space: A module holding Choices; relaxed in place and owned by the supernet as ``self.space``.
        alpha_init_std: α starts as ``alpha_init_std * randn`` (DARTS: 1e-3; 0 gives the exactly uniform
            start of GM-NAS's ``fix_alpha_equal``).
        shared_relu: Candidates of one edge that open with a ReLU of its input compute it once
            (:mod:`hwnas.supernets._shared_relu`); the same values and gradients, less time and memory.

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

    def __init__(self, space: nn.Module, *, alpha_init_std: float = 1e-3, shared_relu: bool = True) -> None:
        self._shared_relu = bool(shared_relu)
        super().__init__(space, alpha_init_std=alpha_init_std)

    def _relax_choice(self, choice: Choice) -> nn.Module:
        return DartsMixedOp(choice, self._decisions, shared_relu=self._shared_relu)
