"""The project's registries. Plug-in packages fill them on import; lookups import them on first miss."""

from __future__ import annotations

from typing import Any

from hwnas.api.registry import Registry

#: Candidate operations: ``name -> factory(c_in, c_out, stride, *, affine=True) -> nn.Module``.
OPS: Registry[Any] = Registry("op", populate=("hwnas.search_spaces",))
#: Search spaces: ``name -> nn.Module class`` whose keyword arguments are the space's settings.
SPACES: Registry[Any] = Registry("search space", populate=("hwnas.search_spaces",))
#: Published architectures: ``name -> ArchSpec``.
ARCHS: Registry[Any] = Registry("published architecture", populate=("hwnas.search_spaces",))
#: Supernet strategies: ``name -> class(space, **kwargs)``.
SUPERNETS: Registry[Any] = Registry("supernet strategy", populate=("hwnas.supernets",))
#: Cost models / hardware targets.
COST_MODELS: Registry[Any] = Registry("cost model", populate=("hwnas.latency_models",))
#: Hardware spaces of network-accelerator co-search: ``name -> nn.Module class`` (``hwnas.latency_models.hwspace``).
HARDWARE_SPACES: Registry[Any] = Registry("hardware space", populate=("hwnas.latency_models",))
#: Selection methods: ``name -> class`` implementing ``select(supernet, ...) -> ArchSpec``.
SELECTORS: Registry[Any] = Registry("selector", populate=("hwnas.selection",))
#: Datasets: ``name -> builder``.
DATASETS: Registry[Any] = Registry("dataset", populate=("hwnas.data",))
