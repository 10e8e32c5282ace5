"""Network-accelerator co-search in a run: attach the hardware space, add its budgets to the loss, select the pair.

The hardware space (config section ``hardware``) is attached to the supernet as ``supernet.hardware``: outside
``supernet.space``, so its α are among ``arch_parameters()`` (the arch optimiser's, checkpointed with the
supernet) and never among ``weight_parameters()``.
"""

from __future__ import annotations

import sys
from typing import Any

import torch

from hwnas.api.archspec import ArchSpec
from hwnas.api.config import ConfigError
from hwnas.losses import CostTerm
from hwnas.search.config import HardwareConfig


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


def select_pair(hardware: HardwareConfig, supernet: Any, arch: ArchSpec, example_input: torch.Tensor, *,
                verbose: bool = False) -> ArchSpec:
    """``arch`` with the hardware configuration chosen for it (most probable within the budgets), or ``arch``."""
    if not hardware.name or getattr(supernet, "hardware", None) is None:
        return arch
    from hwnas.latency_models.hwspace import select_hardware, tables_for

    tables = tables_for(supernet.hardware, supernet, example_input)
    sel = select_hardware(supernet.hardware, tables, arch, area_mm2=hardware.area_mm2, power_w=hardware.power_w)
    if verbose:
        f = sel.figures
        print(f"hardware: {tables.engine_names[sel.index]} (p={sel.probability:.3f}, {sel.feasible} of "
              f"{len(tables.configs)} configurations within budget)  latency {f['latency_ms']:.4g} ms  energy "
              f"{f['energy_mj']:.4g} mJ  area {f['area_mm2']:.4g} mm²  power {f['power_w']:.4g} W", file=sys.stderr)
    return sel.arch
