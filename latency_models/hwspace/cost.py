"""The ``cosearch`` hardware target: expected cost of the network's distribution on the hardware distribution.

A search with a hardware space attaches it to the supernet as ``supernet.hardware`` (outside the network
space, so its α are architecture parameters). A cost term with ``target: cosearch`` then prices

    E_hw[C_net(hw)] = Σ_hw p(hw) · C_net(hw)

with ``p(hw)`` the hardware space's :meth:`~HardwareSpace.config_probabilities` and ``C_net(hw)`` the network's
expected cost on configuration ``hw`` (:class:`HardwareTables`); metrics :data:`HW_METRICS`. Every metric's
expectation goes into the term's details (so each reaches TensorBoard), whichever one the term optimises.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch import nn

from hwnas.api import (
    HARDWARE_SPACES,
    ArchSpec,
    HardwareSpec,
    UserError,
    collect_opspecs,
    cost_model,
)
from hwnas.latency_models.hwspace.space import HardwareSpace
from hwnas.latency_models.hwspace.tables import HW_METRICS, HardwareTables, derived_figures
from hwnas.latency_models.lut.candidates import network_of, require_pricing_inputs

# Tables per hardware space, per (network, input shape): the terms of one search (latency, energy, area...)
# share one pricing of every configuration. Weak keys: a discarded supernet frees its tables.
_TABLES: weakref.WeakKeyDictionary[nn.Module, dict[tuple[int, tuple[int, ...]], HardwareTables]] = (
    weakref.WeakKeyDictionary())


def hardware_of(supernet: Any) -> HardwareSpace:
    """The hardware space attached to a supernet (``supernet.hardware``), or a clear error."""
    hw = getattr(supernet, "hardware", None)
    if hw is None:
        raise UserError("target 'cosearch' needs a hardware space: add a `hardware:` section to the recipe "
                        "(e.g. hardware: {name: tpe, kwargs: {...}}) or attach one as supernet.hardware")
    return hw


def tables_for(hardware: HardwareSpace, supernet: Any, example_input: torch.Tensor) -> HardwareTables:
    """The (cached) :class:`HardwareTables` of a hardware space and a supernet's network at an input shape."""
    net = network_of(supernet)
    per = _TABLES.setdefault(hardware, {})
    key = (id(net), tuple(example_input.shape))
    if key not in per:
        per[key] = HardwareTables(hardware, net, example_input)
    return per[key]


def _check_metric(target: str, metric: str) -> str:
    if metric not in HW_METRICS:
        raise UserError(f"target {target!r} gives {', '.join(HW_METRICS)}, not {metric!r}")
    return metric


class CoSearchCost:
    """``cost_fn(supernet) -> (E_hw[metric], details)``; see the module docstring.

    Example:
        >>> import torch
        >>> from hwnas.api import SUPERNETS
        >>> from hwnas.search_spaces import NB201Space
        >>> from hwnas.latency_models.hwspace import TpeHardwareSpace
        >>> net = SUPERNETS.get("darts")(NB201Space(C=4, N=1))
        >>> net.hardware = TpeHardwareSpace(kinds=("systolic", "matrix"), dims={"systolic": ("8x8",),
        ...                                 "matrix": ("8x8",)}, dataflows=("ws",), options=())
        >>> cost, details = CoSearchCost(tables_for(net.hardware, net, torch.zeros(1, 3, 8, 8)))(net)
        >>> cost.backward(); bool(net.hardware.alpha_of("kind").grad.abs().sum() > 0)
        True
    """

    def __init__(self, tables: HardwareTables, *, metric: str = "latency_ms", target: str = "cosearch",
                 all_metrics: bool = True) -> None:
        self.tables = tables
        self.metric = _check_metric(target, metric)
        self.target = target
        #: Put every metric's expectation in the details (False: only this term's; the budgets' terms).
        self.all_metrics = all_metrics

    def __call__(self, supernet: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        hw = hardware_of(supernet)
        iw = supernet.input_weights() if callable(getattr(supernet, "input_weights", None)) else {}
        values = self.tables.expected(supernet.probabilities(), iw, hw.config_probabilities())
        details: dict[str, Any] = {f"expected_{m}": float(v.detach()) for m, v in values.items()
                                   if self.all_metrics or m == self.metric}
        details["target"] = self.target
        return values[self.metric], details


@cost_model("cosearch")
class CoSearchTarget:
    """``cosearch``: the hardware space of the search (its ``hardware`` section) prices the network with it."""

    form = "cosearch"
    metrics = HW_METRICS
    examples = ("cosearch",)
    description = ("network-accelerator co-search: expected cost over the search's hardware space (recipe section "
                   "`hardware:`); report prices an arch.json's own hardware section")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.__name__ = f"{kind}_target"

    def __call__(self, target: str, *, metric: str = "latency_ms", supernet: Any | None = None,
                 example_input: torch.Tensor | None = None, **_: Any) -> CoSearchCost:
        _check_metric(target, metric)
        require_pricing_inputs(target, supernet, example_input)
        tables = tables_for(hardware_of(supernet), supernet, example_input)
        return CoSearchCost(tables, metric=metric, target=target)

    def report(self, target: str, *, arch: ArchSpec, network: nn.Module | None = None,
               input_size: tuple[int, ...] | None = None) -> dict[str, Any]:
        if network is None or input_size is None:
            raise UserError(f"target {target!r} prices a built network: give the network and its input size")
        if arch.hardware is None:
            raise UserError(f"architecture {arch.archid} has no hardware section: --hardware without a target prices "
                            "a co-searched arch.json; give a target for others (e.g. --hardware tpe:systolic-16x16)")
        return price_pair(arch.hardware, network, input_size)


def build_hardware_space(spec: HardwareSpec | str, kwargs: dict[str, Any] | None = None) -> HardwareSpace:
    """A hardware space from its registered name and kwargs, or from an ArchSpec's hardware section."""
    if isinstance(spec, HardwareSpec):
        return HARDWARE_SPACES.get(spec.space)(**dict(spec.space_kwargs))
    return HARDWARE_SPACES.get(spec)(**dict(kwargs or {}))


def price_pair(hardware: HardwareSpec, network: nn.Module, input_size: tuple[int, ...]) -> dict[str, Any]:
    """Latency, energy, area and power of a built network on its chosen hardware configuration.

    Example:
        >>> from torch import nn
        >>> from hwnas.api import HardwareSpec
        >>> hw = HardwareSpec(space="tpe", choices={"kind": "matrix", "dims/matrix": "8x8", "precision": "int8",
        ...                   "encoding": "booth4"}, space_kwargs={"kinds": ["matrix"], "dims": {"matrix": ["8x8"]},
        ...                   "options": []})
        >>> fig = price_pair(hw, nn.Sequential(nn.Conv2d(3, 8, 3)), (3, 8, 8))
        >>> fig["engine"], fig["power_w"] > 0
        ('matrix-8x8-int8', True)
    """
    space = build_hardware_space(hardware)
    config = dict(hardware.choices)
    space.index_of(config)  # a clear error for a value or decision the space lacks
    engine = space.build_engine(config)
    p = next(iter(network.parameters()), None)
    x = torch.zeros(1, *input_size, device=p.device if p is not None else torch.device("cpu"))
    res = engine.evaluate_network(collect_opspecs(network, x))
    figures = derived_figures(res.latency_ms, res.energy_mj, float(engine.area_mm2))
    del figures["latency_us"], figures["energy_uj"]  # search-loss units only
    return {"target": "cosearch", "engine": engine.name, "hardware": config, **figures, "cycles": res.total_cycles,
            "utilization_pct": res.overall_util_pct, "macs": res.macs, "freq_mhz": engine.freq_mhz, "batch": 1}
