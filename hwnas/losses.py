"""The search loss: cross-entropy combined with hardware cost terms in typed forms."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F

from hwnas.api.protocols import CostFn, Details

CostForm = Literal["add", "mul", "mul_log", "soft", "hard", "hinge"]
COST_FORMS: tuple[str, ...] = ("add", "mul", "mul_log", "soft", "hard", "hinge")


@dataclass(frozen=True)
class CostTerm:
    """One hardware term of the loss.

    Forms (C = expected cost under the current architecture distribution, T = target, both in the
    cost function's unit, e.g. ms):

    - ``add``:     CE + weight · C / T
    - ``mul``:     CE · (C / T)^beta                      (ProxylessNAS; rewards going below T without end)
    - ``mul_log``: CE · (log C / log T)^beta              (FBNet-style; C and T must exceed 1)
    - ``soft``:    CE · max(1, C / T)^beta                (MnasNet's reward shape with no reward below T:
      the search is pushed down to the target, never past it towards an empty network)
    - ``hard``:    CE · max(1, C / T)                     (MnasNet's hard constraint, exponent 1; ``beta`` unused)
    - ``hinge``:   CE + weight · max(0, C / T - 1)        (a budget: no pull below T, a linear penalty above it;
      co-search's area and power budgets)

    ``soft`` and ``hard`` stop pulling at the target; select with ``constrained`` to have the final
    architecture meet it exactly.

    Args:
        cost_fn: ``cost_fn(supernet) -> (cost, details)``, differentiable in α.
        name: Tag for the details, e.g. ``latency_ms``.
    """

    cost_fn: CostFn
    target: float
    form: CostForm = "mul"
    beta: float = 0.6
    weight: float = 0.1
    name: str = "cost"

    def __post_init__(self) -> None:
        if self.form not in COST_FORMS:
            raise ValueError(f"unknown cost form {self.form!r}; use one of {', '.join(COST_FORMS)}")
        if not self.target > 0:
            raise ValueError(f"cost target must be positive, got {self.target}")
        if self.form == "mul_log" and self.target <= 1:
            raise ValueError(
                f"mul_log needs a target above 1 (log T must be positive), got {self.target}; "
                "express it in smaller units"
            )


def combine_terms(ce: torch.Tensor, terms: Sequence[CostTerm], costs: Sequence[torch.Tensor],
                  details: Details | None = None) -> torch.Tensor:
    """``ce`` combined with each term's cost in its form (see :class:`CostTerm`): the search loss's total.

    Also prices a fixed pair exactly (co-search's hardware selection): give it the pair's costs.

    Example:
        >>> import torch
        >>> t = [CostTerm(cost_fn=None, target=2.0, form="mul", beta=0.5), CostTerm(cost_fn=None, target=1.0,
        ...      form="hinge", weight=0.1)]
        >>> round(float(combine_terms(torch.tensor(1.0), t, [torch.tensor(8.0), torch.tensor(1.5)])), 6)
        2.05
    """
    add_terms = []
    factor = torch.ones((), dtype=ce.dtype, device=ce.device)
    for term, cost in zip(terms, costs):
        ratio = cost / term.target
        if term.form == "add":
            add_terms.append(term.weight * ratio)
        elif term.form == "hinge":
            penalty = term.weight * (ratio - 1.0).clamp_min(0.0)
            if details is not None:
                details[f"penalty/{term.name}"] = float(penalty.detach())
            add_terms.append(penalty)
        elif term.form == "mul":
            factor = factor * ratio.clamp_min(1e-12) ** term.beta
        elif term.form in ("soft", "hard"):
            factor = factor * ratio.clamp_min(1.0) ** (term.beta if term.form == "soft" else 1.0)
        else:
            factor = factor * (torch.log(cost.clamp_min(1.0 + 1e-6)) / math.log(term.target)) ** term.beta
    if details is not None:
        details["loss/cost_factor"] = float(factor.detach())
    return ce * factor + sum(add_terms, torch.zeros((), dtype=ce.dtype, device=ce.device))


class SearchLoss(nn.Module):
    """Cross-entropy plus hardware cost terms; returns ``(total, details)``.

    Example:
        >>> import torch
        >>> loss = SearchLoss()
        >>> total, details = loss(torch.zeros(2, 3), torch.tensor([0, 1]))
        >>> round(details["loss/ce"], 4)
        1.0986
    """

    def __init__(self, terms: Sequence[CostTerm] = (), *, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.terms = tuple(terms)
        self.label_smoothing = label_smoothing

    def forward(self, logits: torch.Tensor, target: torch.Tensor, supernet: Any = None) -> tuple[torch.Tensor, Details]:
        ce = F.cross_entropy(logits, target, label_smoothing=self.label_smoothing)
        details: Details = {"loss/ce": float(ce.detach())}
        total = ce
        if self.terms and supernet is None:
            raise ValueError("SearchLoss has cost terms: pass the supernet so they can be computed")
        costs = []
        for term in self.terms:
            cost, cost_details = term.cost_fn(supernet)
            cost = cost.to(ce.device)
            details[f"cost/{term.name}"] = float(cost.detach())
            for k, v in cost_details.items():
                details[f"cost/{term.name}/{k}"] = float(v) if isinstance(v, (int, float, torch.Tensor)) else v
            costs.append(cost)
        if self.terms:
            total = combine_terms(ce, self.terms, costs, details)
        details["loss/total"] = float(total.detach())
        return total, details
