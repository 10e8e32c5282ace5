"""A hardware space: labelled decisions over accelerator settings, each with its own architecture parameters.

A :class:`HardwareSpace` is declared like a network space: a list of :class:`HwChoice` decisions. A decision
may apply only under other decisions' values (``when``): a systolic array's dataflow, the dimensions of each
engine kind. The valid configurations are enumerated once (the joint space is meant to be small: tens to a
few hundred configurations), and the distribution over them is

    p(config) = Π_{decisions d that apply to config} softmax(α_d)[value_d(config)]

which sums to one over the valid configurations, so invalid combinations never get probability mass and a
decision that does not apply contributes no factor (no masking of impossible values is needed).

The α of every decision is an ``nn.Parameter`` of the module. Attached to a supernet as ``supernet.hardware``
(outside ``supernet.space``), they are architecture parameters: the arch optimiser and the checkpoints see
them and the weight optimiser never does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from hwnas.api import HardwareSpec, UserError

Config = dict[str, Any]


class HardwareSpaceError(UserError, ValueError):
    """A malformed hardware space, or a configuration it does not hold; the message names the decision."""


@dataclass(frozen=True)
class HwChoice:
    """One labelled decision of a hardware space.

    Args:
        label: Unique name (``kind``, ``dims/systolic``, ``dataflow``, ``opt1``...).
        values: The candidate values (strings, numbers or booleans), at least one, all distinct.
        when: The decision applies only when each named earlier decision takes one of the listed values.

    Example:
        >>> HwChoice("dataflow", ("os", "ws"), when={"kind": ("systolic",)}).applies({"kind": "cube"})
        False
    """

    label: str
    values: tuple[Any, ...]
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        object.__setattr__(self, "when", {k: tuple(v) for k, v in dict(self.when).items()})
        if not self.values:
            raise HardwareSpaceError(f"hardware decision {self.label!r} has no values: give it at least one")
        if len(set(self.values)) != len(self.values):
            raise HardwareSpaceError(f"hardware decision {self.label!r} repeats a value: {list(self.values)}")

    def applies(self, partial: Mapping[str, Any]) -> bool:
        """Whether the decision applies given the values of the decisions before it."""
        return all(partial.get(k) in allowed for k, allowed in self.when.items())


def _check_decisions(decisions: Sequence[HwChoice]) -> None:
    if not decisions:
        raise HardwareSpaceError("a hardware space needs at least one decision (HwChoice)")
    seen: dict[str, HwChoice] = {}
    for d in decisions:
        if d.label in seen:
            raise HardwareSpaceError(f"hardware decision label {d.label!r} is declared twice")
        for k, allowed in d.when.items():
            if k not in seen:
                raise HardwareSpaceError(f"decision {d.label!r} depends on {k!r}, which must be declared before it")
            bad = [v for v in allowed if v not in seen[k].values]
            if bad:
                raise HardwareSpaceError(f"decision {d.label!r}: {k!r} has no value(s) {bad}; it has "
                                         f"{list(seen[k].values)}")
        seen[d.label] = d


def _enumerate(decisions: Sequence[HwChoice]) -> list[Config]:
    """Every valid configuration, in the order of the decisions' values (the first decision varies slowest)."""
    out: list[Config] = [{}]
    for d in decisions:
        nxt: list[Config] = []
        for cfg in out:
            if d.applies(cfg):
                nxt.extend({**cfg, d.label: v} for v in d.values)
            else:
                nxt.append(cfg)
        out = nxt
    return out


def _param_keys(labels: list[str]) -> dict[str, str]:
    """ParameterDict keys of the labels: prefixed, sanitised (``dims/systolic`` -> ``h_dims_systolic``), unique."""
    keys: dict[str, str] = {}
    for label in labels:
        base = "h_" + re.sub(r"[^0-9A-Za-z_]", "_", label)
        key, i = base, 1
        while key in keys.values():
            key, i = f"{base}_{i}", i + 1
        keys[label] = key
    return keys


class HardwareSpace(nn.Module):
    """Base of the hardware spaces: decisions, their α, the enumerated configurations and their distribution.

    Subclasses set ``space_name`` and ``space_kwargs`` and implement :meth:`build_engine`.

    Args:
        decisions: The decisions, a decision's ``when`` naming only decisions before it.
        alpha_init_std: α starts as ``alpha_init_std * randn`` (near uniform), as the network's.

    Example:
        >>> space = HardwareSpace([HwChoice("kind", ("a", "b")), HwChoice("size", (1, 2), when={"kind": ("a",)})])
        >>> [c for c in space.configs]
        [{'kind': 'a', 'size': 1}, {'kind': 'a', 'size': 2}, {'kind': 'b'}]
        >>> round(float(space.config_probabilities().detach().sum()), 6)
        1.0
    """

    space_name = "hardware"

    def __init__(self, decisions: Sequence[HwChoice], *, alpha_init_std: float = 1e-3) -> None:
        super().__init__()
        decisions = tuple(decisions)
        _check_decisions(decisions)
        self.decisions = decisions
        self.space_kwargs: dict[str, Any] = getattr(self, "space_kwargs", {})
        self._configs = _enumerate(decisions)
        self._keys = _param_keys([d.label for d in decisions])
        self.alpha = nn.ParameterDict({self._keys[d.label]: nn.Parameter(alpha_init_std * torch.randn(len(d.values)))
                                       for d in decisions})
        # Per decision, the value index of each configuration, -1 where it does not apply (no factor).
        idx = torch.tensor([[d.values.index(c[d.label]) if d.label in c else -1 for d in decisions]
                            for c in self._configs], dtype=torch.long)
        self.register_buffer("_value_index", idx, persistent=False)

    # -- structure -----------------------------------------------------------------------------
    @property
    def configs(self) -> tuple[Config, ...]:
        """The valid configurations (label -> value of the decisions that apply), in a fixed order."""
        return tuple(dict(c) for c in self._configs)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(d.label for d in self.decisions)

    def decision(self, label: str) -> HwChoice:
        for d in self.decisions:
            if d.label == label:
                return d
        raise HardwareSpaceError(f"no hardware decision {label!r}; decisions: {', '.join(self.labels)}")

    def build_engine(self, config: Mapping[str, Any]) -> Any:  # pragma: no cover - abstract
        """The cost model (a TPE engine: ``evaluate``, ``evaluate_network``, ``area_mm2``) of one configuration."""
        raise NotImplementedError

    def engines(self) -> Iterator[tuple[Config, Any]]:
        for c in self._configs:
            yield dict(c), self.build_engine(c)

    # -- distributions ---------------------------------------------------------------------------
    def alpha_of(self, label: str) -> nn.Parameter:
        self.decision(label)
        return self.alpha[self._keys[label]]

    def probabilities(self) -> dict[str, torch.Tensor]:
        """Per decision label, softmax(α) over its values (differentiable)."""
        return {d.label: torch.softmax(self.alpha[self._keys[d.label]], dim=-1) for d in self.decisions}

    def config_probabilities(self) -> torch.Tensor:
        """p(config) for every configuration of :attr:`configs` (differentiable in every decision's α)."""
        logp = None
        for j, d in enumerate(self.decisions):
            lsm = torch.log_softmax(self.alpha[self._keys[d.label]], dim=-1)
            col = self._value_index[:, j]
            term = torch.where(col >= 0, lsm[col.clamp_min(0)], torch.zeros((), dtype=lsm.dtype, device=lsm.device))
            logp = term if logp is None else logp + term
        assert logp is not None
        return torch.exp(logp)

    # -- configurations <-> specs ----------------------------------------------------------------
    def index_of(self, config: Mapping[str, Any] | HardwareSpec) -> int:
        """The position of a configuration in :attr:`configs`; a clear error for a value the space lacks."""
        if isinstance(config, HardwareSpec):
            if config.space != self.space_name:
                raise HardwareSpaceError(f"the hardware configuration is for space {config.space!r}, "
                                         f"not {self.space_name!r}")
            config = config.choices
        config = dict(config)
        for label, v in config.items():
            d = self.decision(label)
            if v not in d.values:
                raise HardwareSpaceError(f"hardware decision {label!r} has no value {v!r}; values: {list(d.values)}")
        for i, c in enumerate(self._configs):
            if c == config:
                return i
        raise HardwareSpaceError(f"{config} is not a valid configuration of hardware space {self.space_name!r} "
                                 "(a decision is missing, or given where it does not apply)")

    def spec(self, config: Mapping[str, Any]) -> HardwareSpec:
        """The ArchSpec ``hardware`` section of one configuration."""
        self.index_of(config)
        return HardwareSpec(space=self.space_name, choices=dict(config), space_kwargs=self.space_kwargs)

    def export(self) -> HardwareSpec:
        """The most probable configuration (argmax of :meth:`config_probabilities`)."""
        with torch.no_grad():
            i = int(torch.argmax(self.config_probabilities()))
        return self.spec(self._configs[i])

    def fixed(self, config: Mapping[str, Any] | HardwareSpec) -> FixedHardware:
        """A view of this space with all probability on one configuration (to price a chosen pair)."""
        return FixedHardware(self, self.index_of(config))

    def extra_repr(self) -> str:
        return f"space={self.space_name!r}, decisions={len(self.decisions)}, configs={len(self._configs)}"


class FixedHardware:
    """Looks like a hardware space whose distribution is one-hot on one configuration."""

    def __init__(self, space: HardwareSpace, index: int) -> None:
        self.space = space
        self.index = index
        self.configs = space.configs
        self.space_name = space.space_name

    def config_probabilities(self) -> torch.Tensor:
        p = torch.zeros(len(self.configs), device=self.space._value_index.device)
        p[self.index] = 1.0
        return p

