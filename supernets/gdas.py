"""GDAS (Dong & Yang, 2019): one Gumbel-softmax-sampled candidate per Choice and forward, straight-through."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hwnas.api import Choice
from hwnas.supernets._base import RelaxedChoice, Supernet, _Decisions, zeros_output


class GumbelMixedOp(RelaxedChoice):
    """Runs only the sampled candidate ``a``: ``y = h_a · op_a(x) + Σ_{j≠a} h_j`` with ``h = onehot + s − s.detach()``.

    The added ``h_j`` are exactly 0 in value; as in the authors' code they pass ``Σ ∂L/∂y`` to the
    other gates, so α keeps a gradient even when the sampled candidate is a zero op.
    """

    def __init__(self, choice: Choice, decisions: _Decisions) -> None:
        super().__init__(choice, decisions)
        self.ops = nn.ModuleList(choice.build(n) for n in choice.candidate_names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        active, hard = self.decision()
        if active is None:  # every candidate masked away, or the edge's inputs all dropped
            return zeros_output(x, self.c_out, self.stride)
        y = self.ops[active](x)
        if hard is None:
            return y
        return hard[active] * y + (hard.sum() - hard[active])


class GdasSupernet(Supernet):
    """GDAS: in training, each label draws ``s = softmax((log_softmax(α) + Gumbel) / τ)`` once per forward;
    the argmax candidate alone runs, scaled by its straight-through hard weight, so α and the weights
    both get gradients from the same forward. Eval mode runs the argmax of α. The loop anneals ``tau``
    (paper: 10 → 0.1 linearly over the search) with :meth:`set_tau`. Masks and perturbations limit
    the draw (and the eval-mode argmax) to the candidates still allowed.

    Args:
        space: A module holding Choices; relaxed in place and owned by the supernet as ``self.space``.
        tau: Initial Gumbel-softmax temperature (paper: 10).
        alpha_init_std: α starts as ``alpha_init_std * randn``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from hwnas.api import Choice
        >>> conv = lambda k: (lambda ci, co, s: nn.Conv2d(ci, co, k, s, k // 2))
        >>> net = GdasSupernet(nn.Sequential(Choice({"k1": conv(1), "k3": conv(3)}, label="op", c_in=3, c_out=4)))
        >>> net(torch.zeros(2, 3, 8, 8)).shape
        torch.Size([2, 4, 8, 8])
    """

    strategy = "gdas"

    def __init__(
        self, space: nn.Module, *, tau: float = 10.0, tau_min: float = 0.1, alpha_init_std: float = 1e-3
    ) -> None:
        self.tau = float(tau)
        self.tau_max, self.tau_min = float(tau), float(tau_min)
        super().__init__(space, alpha_init_std=alpha_init_std)

    def on_epoch_start(self, epoch: int, epochs: int) -> None:
        """Anneal the temperature linearly from ``tau`` to ``tau_min`` over the search, as GDAS does."""
        frac = epoch / max(epochs - 1, 1)
        self.set_tau(self.tau_max - (self.tau_max - self.tau_min) * frac)

    def set_tau(self, tau: float) -> None:
        if tau <= 0:
            raise ValueError(f"tau must be positive, got {tau}")
        self.tau = float(tau)

    def _relax_choice(self, choice: Choice) -> nn.Module:
        return GumbelMixedOp(choice, self._decisions)

    def _decide(self, label: str) -> Any:
        if label in self._input_sizes:
            return self._input_mix(label)
        active = self.active(label)
        if not active:
            return None, None
        logits = self._support_logits(self.alpha_of(label), label)
        if not self.training:
            return (active[0] if len(active) == 1 else int(torch.argmax(logits))), None
        logp = torch.log_softmax(logits, dim=-1)
        while True:  # resample the rare draw that overflows (as the GDAS code does)
            gumbel = -torch.empty_like(logp).exponential_().log()
            soft = torch.softmax((logp + gumbel) / self.tau, dim=-1)
            if torch.isfinite(soft).all():
                break
        active = int(torch.argmax(soft))
        hot = torch.zeros_like(soft)
        hot[active] = 1.0
        return active, hot + soft - soft.detach()
