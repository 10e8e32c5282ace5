"""ProxylessNAS (Cai et al., 2019): binarized paths, one active candidate per Choice and forward.

Phases (set by the loop with :meth:`ProxylessSupernet.set_phase`):

* ``"weight"`` (train mode): each label samples one path from softmax(α); only that candidate runs,
  α gets no gradient.
* ``"arch"`` (train mode): each label samples its binary gates ``g`` (one-hot) and the Choice outputs
  ``Σ_j g_j o_j`` with ``g`` differentiable, such that
  ``∂L/∂α_i = Σ_j ∂L/∂g_j · p_j (δ_ij − p_i)`` (the paper's estimator; ``∂L/∂g_j = ⟨∂L/∂y, o_j⟩``).
  The gates are ``onehot + p − p.detach()``: their value is exactly one-hot, their Jacobian the
  softmax's, which is that formula.

  - ``mode="two"``: two paths are sampled by p (without replacement), p is renormalised over them,
    one is made active; after the optimizer step :meth:`~ProxylessSupernet.after_arch_step` shifts
    the two α so that ``Σ exp(α)`` over them is unchanged: every unsampled op keeps its probability.
  - ``mode="full"``: all candidates run (the inactive ones without graph) to give every ∂L/∂g_j.
  - ``mode="lean"``: the same gradient as ``full``, but only the active path's activations are kept
    for backward; the others' outputs are recomputed one at a time, under no_grad, inside backward.
    Peak memory therefore does not grow with the number of candidates (compute does).
* eval mode: the argmax path, deterministic.

In the arch phase only α receives a meaningful gradient (in ``lean`` mode the weights receive none);
the loop must zero weight gradients before its weight step, as it does anyway.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from hwnas.api import ZERO_OPS, Choice
from hwnas.supernets._base import RelaxedChoice, Supernet, _Decisions, zeros_output

MODES = ("two", "full", "lean")


@dataclass
class _Path:
    """One label's decision for one forward."""

    active: int | None  # None: nothing runs (every candidate masked away, or the edge's inputs dropped)
    gates: torch.Tensor | None = None  # differentiable binary gates (arch phase only)
    involved: tuple[int, ...] = ()  # candidates whose gate gradient is computed
    lean: bool = False


class _LeanBinaryPath(torch.autograd.Function):
    """``y = g_a · op_a(x)`` keeping only the active op's graph; backward recomputes the other outputs.

    Backward returns ∂L/∂x through the active op and ``∂L/∂g_j = ⟨∂L/∂y, op_j(x)⟩`` for the involved
    candidates, each ``op_j(x)`` computed under no_grad and freed before the next one.
    """

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, gates: torch.Tensor, ops: nn.ModuleList, active: int, others: tuple[int, ...]
    ) -> torch.Tensor:
        xd = x.detach().requires_grad_(x.requires_grad)
        with torch.enable_grad():
            y = ops[active](xd)
        ctx.ops, ctx.active, ctx.others = ops, active, others
        # Recompute the other candidates in backward under the forward's autocast setting (AMP searches).
        dev = x.device.type
        ctx.amp = (dev, torch.get_autocast_dtype(dev)) if torch.is_autocast_enabled(dev) else None
        ctx.save_for_backward(xd, y, gates)
        return y.detach() * gates[active].detach()

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        xd, y, gates = ctx.saved_tensors
        grad_x = None
        if ctx.needs_input_grad[0] and y.requires_grad:
            (grad_x,) = torch.autograd.grad(y, xd, grad_out * gates[ctx.active].detach(), allow_unused=True)
        grad_g = None
        if ctx.needs_input_grad[1]:
            grad_g = torch.zeros_like(gates)
            g = grad_out.float()
            amp = torch.autocast(ctx.amp[0], dtype=ctx.amp[1]) if ctx.amp else contextlib.nullcontext()
            with torch.no_grad(), amp:
                grad_g[ctx.active] = (g * y.detach().float()).sum()
                for j in ctx.others:
                    grad_g[j] = (g * ctx.ops[j](xd.detach()).float()).sum()
        return grad_x, grad_g, None, None, None


class ProxylessMixedOp(RelaxedChoice):
    """Runs the sampled path(s) of its label; see the module docstring for the phases and modes."""

    def __init__(self, choice: Choice, decisions: _Decisions) -> None:
        super().__init__(choice, decisions)
        self.ops = nn.ModuleList(choice.build(n) for n in choice.candidate_names)
        self._is_zero = tuple(n in ZERO_OPS for n in choice.candidate_names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        path: _Path = self.decision()
        a = path.active
        if a is None:
            return zeros_output(x, self.c_out, self.stride)
        if path.gates is None:
            return self.ops[a](x)
        # A zero op's output is 0, so its gate gradient ⟨∂L/∂y, 0⟩ is 0: never run it besides the active one.
        others = tuple(j for j in path.involved if j != a and not self._is_zero[j])
        if path.lean:
            return _LeanBinaryPath.apply(x, path.gates, self.ops, a, others)
        out = path.gates[a] * self.ops[a](x)
        for j in others:
            with torch.no_grad():
                o = self.ops[j](x)
            out = out + path.gates[j] * o
        return out


class ProxylessSupernet(Supernet):
    """ProxylessNAS binarized-path supernet.

    Call :meth:`set_phase` with ``"weight"`` before weight steps and ``"arch"`` before architecture
    steps (training mode), and :meth:`after_arch_step` right after each architecture-optimizer step
    (it does the two-path rescale; a no-op in the other modes). In eval mode the argmax path runs.
    InputChoices are plain sums (over the allowed inputs). Masks and perturbations limit every draw,
    and the eval-mode argmax, to the candidates still allowed; a label with one candidate left runs it
    without gates (α gets no gradient from it), in every mode. The paper updates α every few batches
    after a weight warm-up, with Adam(β1 = 0); that schedule belongs to the loop.

    Args:
        space: A module holding Choices; relaxed in place and owned by the supernet as ``self.space``.
        mode: ``"two"`` (paper's two-path sampling), ``"full"`` or ``"lean"`` (see the module docstring).
        alpha_init_std: α starts as ``alpha_init_std * randn`` (paper: normal, 1e-3).

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from hwnas.api import Choice
        >>> conv = lambda k: (lambda ci, co, s: nn.Conv2d(ci, co, k, s, k // 2))
        >>> net = ProxylessSupernet(nn.Sequential(Choice({"k3": conv(3), "k5": conv(5)}, label="op", c_in=3, c_out=4)))
        >>> net.set_phase("arch")
        >>> net(torch.zeros(2, 3, 8, 8)).sum().backward()
        >>> net.alpha_of("op").grad is not None
        True
    """

    strategy = "proxyless"

    def __init__(self, space: nn.Module, *, mode: str = "two", alpha_init_std: float = 1e-3) -> None:
        if mode not in MODES:
            raise ValueError(f"ProxylessNAS mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self._pending: dict[str, tuple[set[int], torch.Tensor]] = {}
        super().__init__(space, alpha_init_std=alpha_init_std)

    def _relax_choice(self, choice: Choice) -> nn.Module:
        return ProxylessMixedOp(choice, self._decisions)

    def _decide(self, label: str) -> Any:
        if label in self._input_sizes:
            return self._input_mix(label)
        active = self.active(label)
        if not active:
            return _Path(None)
        if len(active) == 1:
            return _Path(active[0])
        alpha = self.alpha_of(label)
        n = alpha.numel()
        logits = self._support_logits(alpha, label)
        if not self.training:
            return _Path(int(torch.argmax(logits)))
        p = torch.softmax(logits, dim=-1)
        # Without autograd (dry runs, cost tracing) no α update can follow: sample one path, record nothing.
        if self._phase == "weight" or not torch.is_grad_enabled():
            return _Path(int(torch.multinomial(p.detach(), 1)))
        if self.mode == "two":
            idx = torch.multinomial(p.detach(), 2, replacement=False)
            q = torch.softmax(alpha[idx], dim=-1)
            pick = int(torch.multinomial(q.detach(), 1))
            hot = torch.zeros_like(q)
            hot[pick] = 1.0
            gates = alpha.new_zeros(n).index_put((idx,), hot + q - q.detach())
            involved = tuple(int(i) for i in idx.tolist())
            seen, before = self._pending.get(label, (set(), alpha.detach().clone()))
            self._pending[label] = (seen | set(involved), before)
            return _Path(involved[pick], gates, involved)
        pick = int(torch.multinomial(p.detach(), 1))
        hot = torch.zeros_like(p)
        hot[pick] = 1.0
        return _Path(pick, hot + p - p.detach(), active, lean=self.mode == "lean")

    def after_arch_step(self) -> None:
        """Two-path mode: shift the sampled α by one offset so ``logsumexp`` over them is what it was
        before the step; the probability of every unsampled op is thus unchanged."""
        with torch.no_grad():
            for label, (seen, before) in self._pending.items():
                alpha = self.alpha_of(label)
                idx = torch.tensor(sorted(seen), device=alpha.device)
                offset = torch.logsumexp(alpha[idx], 0) - torch.logsumexp(before.to(alpha.device)[idx], 0)
                alpha[idx] -= offset
        self._pending.clear()
