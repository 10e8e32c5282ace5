"""The small interfaces the plug-in packages implement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from hwnas.api.archspec import ArchSpec

Details = dict[str, Any]


@runtime_checkable
class SupernetLike(Protocol):
    """What a supernet strategy exposes to the search loop, selection and cost models."""

    space: nn.Module

    def arch_parameters(self) -> list[nn.Parameter]: ...

    def weight_parameters(self) -> list[nn.Parameter]: ...

    def probabilities(self) -> dict[str, torch.Tensor]:
        """Per Choice label, the (differentiable) distribution over its candidate names."""
        ...

    def input_weights(self) -> dict[str, torch.Tensor]:
        """Per InputChoice label, a non-negative weight per input (all ones when not learned)."""
        ...

    def export(self) -> ArchSpec: ...

    # Lifecycle: the search loop calls these directly.
    @property
    def phase(self) -> str:
        """What the current forwards are for: ``"weight"`` or ``"arch"``."""
        ...

    def set_phase(self, phase: str) -> None: ...

    def after_arch_step(self) -> None: ...

    def on_epoch_start(self, epoch: int, epochs: int) -> None: ...


class CostFn(Protocol):
    """A hardware cost term: ``cost_fn(supernet) -> (scalar cost, details)``, differentiable in α."""

    def __call__(self, supernet: SupernetLike) -> tuple[torch.Tensor, Details]: ...


@runtime_checkable
class CostModel(Protocol):
    """A hardware target kind, registered in :data:`hwnas.api.COST_MODELS` under ``kind``.

    This is the one contract every cost model (analytical TPE, lookup table, measured, learned predictor, or a
    plug-in's own) follows. A recipe's ``cost: [{target: "KIND:ARG", metric: ...}]`` and
    ``hwnas report ARCH --hardware KIND:ARG`` look ``KIND`` up and call it:

    - ``model(target, metric=..., supernet=..., example_input=..., **extra) -> CostFn``: the expected cost of the
      supernet's current distribution, differentiable in its architecture parameters. Extra keywords the search
      may pass (``run_dir``: where the run keeps what it measured) are ignored by models that need none.
    - ``model.report(target, arch=..., network=..., input_size=...) -> dict``: one fixed architecture priced,
      units in the key names (``latency_ms``, ``energy_mj``, ``cycles``...).

    ``form``, ``metrics``, ``examples`` and ``description`` are what ``hwnas targets`` lists.

    Example:
        >>> from hwnas.api import COST_MODELS, CostModel
        >>> isinstance(COST_MODELS.get("tpe"), CostModel), COST_MODELS.get("tpe").form
        (True, 'tpe:ENGINE')
    """

    kind: str
    form: str
    metrics: tuple[str, ...]
    examples: tuple[str, ...]
    description: str

    def __call__(self, target: str, *, metric: str = "latency_ms", supernet: Any | None = None,
                 example_input: torch.Tensor | None = None, **extra: Any) -> CostFn: ...

    def report(self, target: str, *, arch: ArchSpec, network: nn.Module | None = None,
               input_size: tuple[int, ...] | None = None) -> dict[str, Any]: ...


class Selector(Protocol):
    """Turns a trained supernet into an ArchSpec (magnitude, perturbation, ...); ``context`` is a
    :class:`hwnas.selection.SelectionContext` (loaders, loss, device, trainer factory...) or None."""

    def select(self, supernet: SupernetLike, context: Any = None) -> ArchSpec: ...


def space_name(space: nn.Module) -> str:
    """The name recorded in an ArchSpec for ``space``: its ``space_name`` attribute or its class name."""
    return str(getattr(space, "space_name", type(space).__name__))


def space_ref(space: nn.Module) -> str | None:
    """``module:ClassName`` recorded in an ArchSpec so a reader can rebuild ``space``, or None.

    None when the class is the one registered under its ``space_name`` (the name is enough), and
    when it cannot be imported by path (defined in ``__main__`` or inside a function).
    """
    from hwnas.api.registries import SPACES  # the registry imports the built-in spaces on first use

    cls = type(space)
    name = space_name(space)
    if name in SPACES and SPACES.get(name) is cls:
        return None
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return None
    return f"{cls.__module__}:{cls.__qualname__}"


def space_kwargs(space: nn.Module) -> Mapping[str, Any]:
    return dict(getattr(space, "space_kwargs", {}) or {})
