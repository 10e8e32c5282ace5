"""The project's registries. Plug-in packages fill them on import; lookups import them on first miss."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from hwnas.api.registry import Registry

T = TypeVar("T")

#: Candidate operations: ``name -> factory(c_in, c_out, stride, *, affine=True) -> nn.Module``.
OPS: Registry[Any] = Registry("op", populate=("hwnas.search_spaces",))
#: Search spaces: ``name -> nn.Module class`` whose keyword arguments are the space's settings.
SPACES: Registry[Any] = Registry("search space", populate=("hwnas.search_spaces",))
#: Published architectures: ``name -> ArchSpec``.
ARCHS: Registry[Any] = Registry("published architecture", populate=("hwnas.search_spaces",))
#: Supernet strategies: ``name -> class(space, **kwargs)``.
SUPERNETS: Registry[Any] = Registry("supernet strategy", populate=("hwnas.supernets",))
#: Cost models / hardware targets: ``kind -> CostModel`` (see :class:`hwnas.api.protocols.CostModel`).
COST_MODELS: Registry[Any] = Registry("cost model", populate=("hwnas.latency_models",))
#: Hardware spaces of network-accelerator co-search: ``name -> nn.Module class`` (``hwnas.latency_models.hwspace``).
HARDWARE_SPACES: Registry[Any] = Registry("hardware space", populate=("hwnas.latency_models",))
#: Selection methods: ``name -> class`` implementing ``select(supernet, ...) -> ArchSpec``.
SELECTORS: Registry[Any] = Registry("selector", populate=("hwnas.selection",))
#: Datasets: ``name -> builder``.
DATASETS: Registry[Any] = Registry("dataset", populate=("hwnas.data",))


def cost_model(*kinds: str, registry: Registry[Any] | None = None) -> Callable[[type[T]], type[T]]:
    """Class decorator: register ``cls(kind=k)`` in ``registry`` (:data:`COST_MODELS`) for each of ``kinds``.

    A target class is registered where it is defined, one instance per kind it serves.

    Example:
        >>> reg = Registry("cost model")
        >>> @cost_model("flat", registry=reg)
        ... class Flat:
        ...     def __init__(self, kind: str) -> None:
        ...         self.kind = kind
        >>> reg.get("flat").kind
        'flat'
    """

    def deco(cls: type[T]) -> type[T]:
        for k in kinds:
            (COST_MODELS if registry is None else registry).register(k, cls(kind=k))  # type: ignore[call-arg]
        return cls

    return deco
