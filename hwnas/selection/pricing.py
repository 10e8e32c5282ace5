"""Price one fixed architecture with the same cost functions the search loss uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from hwnas.api.archspec import ArchSpec
from hwnas.api.graph import DecisionGraph
from hwnas.api.protocols import SupernetLike


class OneHotView:
    """Looks like a supernet whose distribution puts all mass on ``arch``.

    Cost functions compute an expectation under ``probabilities()`` and ``input_weights()``; under
    this view the expectation is the cost of ``arch`` itself, so one code path prices both.
    """

    def __init__(self, supernet: SupernetLike, arch: ArchSpec) -> None:
        self.space: nn.Module = supernet.space
        self._probs: dict[str, torch.Tensor] = {}
        self._inputs: dict[str, torch.Tensor] = {}
        ref = supernet.probabilities()
        graph = getattr(supernet, "graph", None) or DecisionGraph.of(self.space)  # a strategy keeps its graph
        for label, ic in graph.inputs.items():
            w = torch.zeros(ic.n_candidates)
            w[list(arch.choices[label])] = 1.0
            self._inputs[label] = w
        for label, d in graph.choices.items():
            p = torch.zeros(len(d), dtype=ref[label].dtype, device=ref[label].device)
            chosen = arch.choices.get(label)
            if chosen is None:  # an edge no kept input uses: its cost is weighted by zero anyway
                p += 1.0 / len(d)
            else:
                p[d.index(chosen)] = 1.0
            self._probs[label] = p
        hardware = getattr(supernet, "hardware", None)
        if hardware is not None and arch.hardware is not None:  # a co-searched pair: its own configuration
            self.hardware = hardware.fixed(arch.hardware)
        elif hardware is not None:
            self.hardware = hardware

    def probabilities(self) -> dict[str, torch.Tensor]:
        return dict(self._probs)

    def input_weights(self) -> dict[str, torch.Tensor]:
        return dict(self._inputs)


@torch.no_grad()
def price_arch(cost_fn: Any, supernet: SupernetLike, arch: ArchSpec) -> float:
    """The cost ``cost_fn`` gives to ``arch`` (all probability on its choices)."""
    cost, _ = cost_fn(OneHotView(supernet, arch))
    return float(cost)


def price_terms(terms: Any, supernet: SupernetLike, arch: ArchSpec) -> Mapping[str, float]:
    """``{"cost/<name>": value}`` for every cost term of a search loss."""
    return {f"cost/{t.name}": price_arch(t.cost_fn, supernet, arch) for t in terms}
