"""What each candidate of a lookup table weighs in the expected cost: ``keep(label) · p(candidate)``.

One rule for every user of a table (a ``LUTCost`` target, co-search's per-configuration tables). For a label
that feeds input ``i`` of an InputChoice keeping ``k`` of ``n`` inputs (DARTS edges), a derived network keeps the
edge or drops it and never picks its zero op: there ``p`` is renormalised over the non-zero candidates and
``keep = min(1, k · w_i / Σ_j w_j)`` with ``w`` the supernet's input weights (none given: ``k / n``). Other
labels have ``keep = 1``, and their zero op costs what the table says (0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

from hwnas.api import ZERO_OPS
from hwnas.latency_models.lut.candidates import _input_edges


class CandidateWeights:
    """``keep · p`` per label of a space, for candidate lists in a table's ``order``.

    Example:
        >>> import torch
        >>> from hwnas.search_spaces import NB201Space
        >>> space = NB201Space(C=4, N=1)
        >>> cw = CandidateWeights(space, {"1<-0": ["none", "skip_connect"]})
        >>> cw({"1<-0": torch.tensor([0.5, 0.5])})["1<-0"]   # no InputChoice in NB201: keep = 1, p as given
        tensor([0.5000, 0.5000])
    """

    def __init__(self, space: nn.Module, order: Mapping[str, Iterable[str]]) -> None:
        self.labels = list(order)
        self.nonzero = {lb: [n not in ZERO_OPS for n in names] for lb, names in order.items()}
        self.edges = _input_edges(space)
        self._masks: dict[torch.device, dict[str, torch.Tensor]] = {}

    def _mask(self, label: str, device: torch.device) -> torch.Tensor:
        # Built once per device: no host-to-device copies in the search's arch steps.
        per = self._masks.setdefault(device, {})
        if label not in per:
            per[label] = torch.tensor(self.nonzero[label], device=device)
        return per[label]

    def __call__(self, probabilities: Mapping[str, torch.Tensor],
                 input_weights: Mapping[str, torch.Tensor] | None = None,
                 dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
        input_weights = input_weights or {}
        out = {}
        for label in self.labels:
            p = probabilities[label]
            p = p.to(dtype) if dtype is not None else p
            edge = self.edges.get(label)
            if edge is not None:
                if any(self.nonzero[label]):  # a python check: no device sync per step
                    p = torch.where(self._mask(label, p.device), p, torch.zeros_like(p))
                    p = p / p.sum().clamp_min(torch.finfo(p.dtype).tiny)
                w = input_weights.get(edge.input_choice)
                if w is None:
                    p = p * min(1.0, edge.n_chosen / edge.n_candidates)
                else:
                    w = w.to(p.dtype)
                    p = p * (edge.n_chosen * w[edge.index] / w.sum().clamp_min(1e-12)).clamp(max=1.0)
            out[label] = p
        return out
