"""Magnitude selection that then enforces the hardware targets of the search loss."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import replace
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
from hwnas.selection.connected import can_check, has_zero_ops, preference_of
from hwnas.selection.context import SelectionContext
from hwnas.selection.pricing import price_arch


@SELECTORS.register("constrained")
class ConstrainedSelector(SelectorBase):
    """A base selection (magnitude by default), then the least-regret single-choice edits that bring every
    cost term to its target: down until it is met, then up while the budget allows.

    The loss's cost terms price each architecture (:func:`hwnas.selection.pricing.price_arch`); ``ratio``
    is the worst cost / target over the terms. The regret of an edit is ``log p(current) - log p(new)``
    with ``p`` = softmax(α) without masks (after perturbation selection every decision is fixed by a
    mask, and α is what still says how much the supernet prefers one candidate to another).

    * **Down**, while ``ratio > 1``: the edit with the least regret per unit of the reduction still
      needed (a reduction beyond the target earns nothing more; among equals, the one landing closest
      under the target).
    * **Up**, while ``ratio < fill``: the edit with the least regret per unit of budget used that keeps
      ``ratio <= 1`` (an edit that returns a label towards the base choice has negative regret and goes
      first). A selection that met a target at a third of it would have thrown away two thirds of the
      budget: a target is a budget to use, as in MnasNet's soft constraint. ``fill=0`` switches this off.

    An edit whose network's output no longer depends on its input (a degenerate architecture) is never
    taken. If no edit meets the targets, the closest architecture is returned with a warning and
    ``meets_targets: false``.

    Args:
        base: The selector whose result is edited (``magnitude``, ``perturbation``...).
        base_kwargs: Its keyword arguments.
        slack: Relative tolerance on each target (0.0 = strictly at or under).
        fill: Raise the cost to at least this share of the targets when edits allow (0: never raise).
        max_edits: Upper bound on edits.

    Example:
        >>> from hwnas.selection import SelectionContext
        >>> sel = ConstrainedSelector(base="magnitude")
        >>> # arch = sel.select(supernet, SelectionContext(loss=search_loss))   # the loss holds the cost terms
    """

    def __init__(self, *, base: str = "magnitude", base_kwargs: Mapping[str, Any] | None = None, slack: float = 0.0,
                 fill: float = 0.9, max_edits: int = 1000) -> None:
        if base == "constrained":
            raise ConfigError("selection.kwargs.base cannot be 'constrained' itself; use magnitude or perturbation")
        if not 0.0 <= float(fill) <= 1.0:
            raise ConfigError(f"selection.kwargs.fill must lie in [0, 1] (a share of the target), got {fill}")
        self.base = SELECTORS.get(base)(**dict(base_kwargs or {}))
        self.slack = float(slack)
        self.fill = float(fill)
        self.max_edits = int(max_edits)

    def select(self, supernet: SupernetLike, context: SelectionContext | None = None) -> ArchSpec:
        ctx = context or SelectionContext()
        arch = self.base.select(supernet, ctx)
        base_metrics = dict(arch.metrics)
        terms = tuple(getattr(ctx.loss, "terms", ()) or ())
        if not terms:
            return arch
        space = supernet.space
        graph = getattr(supernet, "graph", None) or DecisionGraph.of(space)
        logp = {k: torch.log_softmax(v.float().cpu(), -1) for k, v in preference_of(supernet).items()}

        def ratio(a: ArchSpec) -> float:
            return max(price_arch(t.cost_fn, supernet, a) / (t.target * (1 + self.slack)) for t in terms)

        checkable = can_check(space, ctx.input_size)

        def alive(a: ArchSpec) -> bool:
            return not checkable or not has_zero_ops(a) or not is_degenerate(space, a, ctx.input_size)

        def edits(a: ArchSpec) -> list[tuple[ArchSpec, float, float]]:
            """Every single-choice edit of ``a``: (architecture, its ratio, its regret)."""
            out = []
            for label, names in graph.choices.items():
                now = a.choices.get(label)
                if now is None:
                    continue
                for i, cand in enumerate(names):
                    if cand != now and cand in graph.selectable(label):
                        trial = replace(a, choices={**a.choices, label: cand}, metrics={})
                        out.append((trial, ratio(trial), float(logp[label][names.index(now)] - logp[label][i])))
            return out

        current, n_edits = ratio(arch), 0
        while current > 1.0 and n_edits < self.max_edits:
            need = current - 1.0
            ranked = sorted(((max(regret, 0.0) / min(current - r, need + 1e-9), -min(r, 1.0), k, t, r)
                             for k, (t, r, regret) in enumerate(edits(arch)) if current - r > 1e-12))
            step = next(((t, r) for *_, t, r in ranked if alive(t)), None)
            if step is None:
                break
            arch, current = step
            n_edits += 1
        raised = 0
        while current <= 1.0 and current < self.fill and n_edits < self.max_edits:
            ranked = sorted((regret / (r - current), -r, k, t, r) for k, (t, r, regret) in enumerate(edits(arch))
                            if current + 1e-12 < r <= 1.0)
            step = next(((t, r) for *_, t, r in ranked if alive(t)), None)
            if step is None:
                break
            arch, current = step
            n_edits += 1
            raised += 1
        if current > 1.0:
            warnings.warn(
                f"no architecture reachable by single-choice edits meets the cost targets (best is "
                f"{current:.3f}x the target); returning the closest one",
                stacklevel=2,
            )
        arch = check_arch(space, replace(arch, metrics=base_metrics))
        return arch.with_metrics(
            meets_targets=bool(current <= 1.0),
            target_edits=n_edits,
            target_raises=raised,
            target_ratio=round(current, 6) if math.isfinite(current) else current,
        )
