"""Network-accelerator co-search in a run: attach the hardware space, add its budgets to the loss, select the pair.

The hardware space (config section ``hardware``) is attached to the supernet as ``supernet.hardware``: outside
``supernet.space``, so its α are among ``arch_parameters()`` (the arch optimiser's, checkpointed with the
supernet) and never among ``weight_parameters()``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import torch

from hwnas.api.archspec import ArchSpec
from hwnas.api.config import ConfigError
from hwnas.losses import CostTerm, SearchLoss, combine_terms
from hwnas.search.config import HardwareConfig
from hwnas.selection.pricing import OneHotView


def attach_hardware(hardware: HardwareConfig, supernet: Any) -> None:
    """Build the configured hardware space and register it on the supernet (no-op without ``hardware.name``)."""
    if not hardware.name:
        return
    from hwnas.api.registries import HARDWARE_SPACES
    from hwnas.search.builders import _call_checked

    cls = HARDWARE_SPACES.get(hardware.name)
    space = _call_checked("hardware", cls, (), dict(hardware.kwargs))
    device = next(iter(supernet.parameters())).device
    supernet.add_module("hardware", space.to(device))


def budget_terms(hardware: HardwareConfig, supernet: Any, example_input: torch.Tensor) -> list[CostTerm]:
    """One ``hinge`` term per budget (area, power) on the ``cosearch`` target; fails when no configuration's
    area fits the area budget (area does not depend on the network, so this is known before training)."""
    if not hardware.name:
        return []
    from hwnas.latency_models.hwspace import CoSearchCost, tables_for

    tables = tables_for(supernet.hardware, supernet, example_input)
    if hardware.area_mm2 is not None and min(tables.area_mm2) > hardware.area_mm2:
        raise ConfigError(f"hardware.area_mm2 = {hardware.area_mm2} mm²: no configuration of the hardware space fits "
                          f"(the smallest is {min(tables.area_mm2):.4g} mm²); raise the budget or add smaller engines")
    terms = []
    for metric, budget in (("area_mm2", hardware.area_mm2), ("power_w", hardware.power_w)):
        if budget is not None:
            fn = CoSearchCost(tables, metric=metric, all_metrics=False)
            terms.append(CostTerm(cost_fn=fn, target=float(budget), form="hinge", weight=hardware.penalty,
                                  name=f"budget_{metric}"))
    return terms


def _needs_ce(terms: tuple[CostTerm, ...]) -> bool:
    # Only when additive and multiplicative terms mix does the network's own loss weigh one against the other.
    return any(t.form in ("add", "hinge") for t in terms) and any(t.form not in ("add", "hinge") for t in terms)


@torch.no_grad()
def pair_scores(loss: SearchLoss, supernet: Any, arch: ArchSpec, ce: Callable[[], float] | None = None) -> list[float]:
    """The search loss of ``arch`` paired with each configuration of ``supernet.hardware``, its cost terms priced on
    the pair exactly (all probability on the network's choices and on the configuration).

    Args:
        ce: The selected network's held-out cross-entropy; asked for only when additive and multiplicative terms
            mix (otherwise it scales every configuration's loss alike and 1 stands in for it).
    """
    hardware = supernet.hardware
    ce_value = float(ce()) if ce is not None and _needs_ce(loss.terms) else 1.0
    scores = []
    for config in hardware.configs:
        pair = ArchSpec(space=arch.space, choices=arch.choices, space_kwargs=arch.space_kwargs,
                        space_ref=arch.space_ref, hardware=hardware.spec(config))
        view = OneHotView(supernet, pair)
        costs = [torch.as_tensor(t.cost_fn(view)[0], dtype=torch.float64).cpu() for t in loss.terms]
        scores.append(float(combine_terms(torch.tensor(ce_value, dtype=torch.float64), loss.terms, costs)))
    return scores


def select_pair(hardware: HardwareConfig, supernet: Any, arch: ArchSpec, example_input: torch.Tensor, *,
                loss: SearchLoss | None = None, ce: Callable[[], float] | None = None,
                verbose: bool = False) -> ArchSpec:
    """``arch`` with the hardware configuration chosen for it within the budgets, or ``arch`` without co-search.

    ``hardware.select = objective`` (needs ``loss``): the configuration with the lowest search loss for ``arch``
    (:func:`pair_scores`); ``probable``: the most probable under the hardware α.
    """
    if not hardware.name or getattr(supernet, "hardware", None) is None:
        return arch
    from hwnas.latency_models.hwspace import select_hardware, tables_for

    tables = tables_for(supernet.hardware, supernet, example_input)
    scores = None
    if hardware.select == "objective":
        if loss is None:
            raise ValueError("hardware.select = objective needs the search loss to score the pairs")
        scores = pair_scores(loss, supernet, arch, ce)
    sel = select_hardware(supernet.hardware, tables, arch, area_mm2=hardware.area_mm2, power_w=hardware.power_w,
                          scores=scores)
    if verbose:
        f = sel.figures
        how = (f"loss {scores[sel.index]:.4g}, the lowest" if scores is not None else f"p={sel.probability:.3f}")
        print(f"hardware: {tables.engine_names[sel.index]} ({how} of {sel.feasible} of {len(tables.configs)} "
              f"configurations within budget)  latency {f['latency_ms']:.4g} ms  energy {f['energy_mj']:.4g} mJ  "
              f"area {f['area_mm2']:.4g} mm²  power {f['power_w']:.4g} W", file=sys.stderr)
    return sel.arch
