"""Magnitude selection that then enforces the hardware targets of the search loss."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import torch

from hwnas.api.archspec import ArchSpec
from hwnas.api.config import ConfigError
from hwnas.api.connectivity import is_degenerate
from hwnas.api.freeze import check_arch
from hwnas.api.graph import DecisionGraph
from hwnas.api.protocols import SupernetLike
from hwnas.api.registries import SELECTORS
from hwnas.selection.base import SelectorBase
from hwnas.selection.connected import has_zero_ops, preference_of
from hwnas.selection.context import SelectionContext
from hwnas.selection.pricing import price_arch


@SELECTORS.register("constrained")
class ConstrainedSelector(SelectorBase):
    """A base selection (magnitude by default), then the cheapest-regret edits until every cost term meets
    its target.

    The loss's cost terms price the architecture (see :func:`hwnas.selection.pricing.price_arch`).
    While a term is over its target, every single-choice edit that lowers the worst overshoot is
    scored by ``(log p(current) - log p(new)) / overshoot reduction`` and the best is applied, so the
    result stays as close to the supernet's preference as the budget allows. ``p`` is softmax(α)
    without masks: after perturbation selection every decision is fixed by a mask, and α is what
    still says how much the supernet prefers one candidate to another. An edit that makes the network's
    output independent of its input (a degenerate architecture: all-zero paths) is never taken. If no
    edit helps, the closest architecture is returned with a warning and ``meets_targets: false``.

    Args:
        base: The selector whose result is edited (``magnitude``, ``perturbation``...).
        base_kwargs: Its keyword arguments.
        slack: Relative tolerance on each target (0.0 = strictly at or under).
        max_edits: Upper bound on edits.

    Example:
        >>> from hwnas.selection import SelectionContext
        >>> sel = ConstrainedSelector(base="magnitude")
        >>> # arch = sel.select(supernet, SelectionContext(loss=search_loss))   # the loss holds the cost terms
    """

    def __init__(self, *, base: str = "magnitude", base_kwargs: Mapping[str, Any] | None = None, slack: float = 0.0,
                 max_edits: int = 1000) -> None:
        if base == "constrained":
            raise ConfigError("selection.kwargs.base cannot be 'constrained' itself; use magnitude or perturbation")
        self.base = SELECTORS.get(base)(**dict(base_kwargs or {}))
        self.slack = float(slack)
        self.max_edits = int(max_edits)

    def select(self, supernet: SupernetLike, context: SelectionContext | None = None) -> ArchSpec:
        ctx = context or SelectionContext()
        arch = self.base.select(supernet, ctx)
        base_metrics = dict(arch.metrics)
        terms = tuple(getattr(ctx.loss, "terms", ()) or ())
        if not terms:
            return arch
        space = supernet.space
        graph = DecisionGraph.of(space)
        logp = {k: torch.log_softmax(v.float().cpu(), -1) for k, v in preference_of(supernet).items()}

        def overshoot(a: ArchSpec) -> float:
            return max(price_arch(t.cost_fn, supernet, a) / (t.target * (1 + self.slack)) for t in terms)

        current = overshoot(arch)
        edits = 0
        while current > 1.0 and edits < self.max_edits:
            trials: list[tuple[float, int, ArchSpec, float]] = []
            for label, d in graph.choices.items():
                if label not in arch.choices:
                    continue
                now = arch.choices[label]
                for i, cand in enumerate(d):
                    if cand == now or cand not in graph.selectable(label):
                        continue
                    trial = ArchSpec(arch.space, {**arch.choices, label: cand}, arch.space_kwargs)
                    value = overshoot(trial)
                    gain = current - value
                    if gain <= 1e-12:
                        continue
                    regret = float(logp[label][d.index(now)] - logp[label][i])
                    trials.append((max(regret, 0.0) / gain, len(trials), trial, value))
            # the cheapest edit whose network still depends on its input (a degenerate one is never taken)
            best = next((t for t in sorted(trials, key=lambda t: t[:2])
                         if not has_zero_ops(t[2]) or not is_degenerate(space, t[2], ctx.input_size)), None)
            if best is None:
                break
            _, _, arch, current = best
            edits += 1
        if current > 1.0:
            warnings.warn(
                f"no architecture reachable by single-choice edits meets the cost targets (best is "
                f"{current:.3f}x the target); returning the closest one",
                stacklevel=2,
            )
        arch = check_arch(space, ArchSpec(arch.space, arch.choices, arch.space_kwargs, base_metrics))
        return arch.with_metrics(
            meets_targets=bool(current <= 1.0),
            target_edits=edits,
            target_ratio=round(current, 6) if math.isfinite(current) else current,
        )

