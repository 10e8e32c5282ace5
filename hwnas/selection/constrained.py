"""Magnitude selection that then enforces the hardware targets of the search loss."""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

from hwnas.api.archspec import ArchSpec
from hwnas.api.choice import ZERO_OPS, InputChoice, collect_decisions
from hwnas.api.derive import fed_labels
from hwnas.api.freeze import check_arch
from hwnas.api.protocols import SupernetLike
from hwnas.api.registries import SELECTORS
from hwnas.selection.base import SelectorBase
from hwnas.selection.magnitude import MagnitudeSelector
from hwnas.selection.pricing import price_arch


@SELECTORS.register("constrained")
class ConstrainedSelector(SelectorBase):
    """Magnitude selection, then the cheapest-regret edits until every cost term meets its target.

    The loss's cost terms price the architecture (see :func:`hwnas.selection.pricing.price_arch`).
    While a term is over its target, every single-choice edit that lowers the worst overshoot is
    scored by ``(log p(current) - log p(new)) / overshoot reduction`` and the best is applied, so the
    result stays as close to the supernet's preference as the budget allows. If no edit helps, the
    closest architecture is returned with a warning and ``meets_targets: false`` in its metrics.

    Args:
        slack: Relative tolerance on each target (0.0 = strictly at or under).
        max_edits: Upper bound on edits.

    Example:
        >>> sel = ConstrainedSelector()
        >>> # arch = sel.select(supernet, loss=search_loss)   # the loss holds the cost terms
    """

    def __init__(self, *, slack: float = 0.0, max_edits: int = 1000) -> None:
        self.slack = float(slack)
        self.max_edits = int(max_edits)

    def select(self, supernet: SupernetLike, **context: Any) -> ArchSpec:
        arch = MagnitudeSelector().select(supernet)
        loss = context.get("loss")
        terms = tuple(getattr(loss, "terms", ()) or ())
        if not terms:
            return arch
        space = supernet.space
        decisions = collect_decisions(space)
        fed = fed_labels(decisions)
        logp = {k: torch.log(v.detach().float().cpu().clamp_min(1e-12)) for k, v in supernet.probabilities().items()}

        def overshoot(a: ArchSpec) -> float:
            return max(price_arch(t.cost_fn, supernet, a) / (t.target * (1 + self.slack)) for t in terms)

        current = overshoot(arch)
        edits = 0
        while current > 1.0 and edits < self.max_edits:
            best: tuple[float, ArchSpec, float] | None = None
            for label, d in decisions.items():
                if isinstance(d, InputChoice) or label not in arch.choices:
                    continue
                now = arch.choices[label]
                for i, cand in enumerate(d):
                    if cand == now or (label in fed and cand in ZERO_OPS):
                        continue
                    trial = ArchSpec(arch.space, {**arch.choices, label: cand}, arch.space_kwargs)
                    value = overshoot(trial)
                    gain = current - value
                    if gain <= 1e-12:
                        continue
                    regret = float(logp[label][d.index(now)] - logp[label][i])
                    score = max(regret, 0.0) / gain
                    if best is None or score < best[0]:
                        best = (score, trial, value)
            if best is None:
                break
            _, arch, current = best
            edits += 1
        if current > 1.0:
            warnings.warn(
                f"no architecture reachable by single-choice edits meets the cost targets (best is "
                f"{current:.3f}x the target); returning the closest one",
                stacklevel=2,
            )
        arch = check_arch(space, arch)
        return arch.with_metrics(
            meets_targets=bool(current <= 1.0),
            target_edits=edits,
            target_ratio=round(current, 6) if math.isfinite(current) else current,
        )
