"""Deriving architectures from a space: the argmax rule shared by every supernet's ``export()``, and random draws."""

from __future__ import annotations

import random
from collections.abc import Mapping

import torch
from torch import nn

from hwnas.api.archspec import ArchSpec
from hwnas.api.choice import InputChoice
from hwnas.api.freeze import check_arch
from hwnas.api.graph import DecisionGraph
from hwnas.api.protocols import space_kwargs, space_name, space_ref


def fed_labels(decisions: Mapping[str, object]) -> set[str]:
    """Labels of Choices that feed an InputChoice (``decisions`` as :func:`collect_decisions` returns them).

    Kept for callers holding a decisions mapping; :attr:`DecisionGraph.fed` is the same set.
    """
    return {s for d in decisions.values() if isinstance(d, InputChoice) and d.sources for s in d.sources}


def _best(names: tuple[str, ...], allowed: tuple[str, ...], p: torch.Tensor) -> tuple[str, float]:
    """The most probable of ``allowed`` (ties to the lower index) and its probability.

    Candidates with probability exactly 0 (masked away by a supernet) are passed over while any
    allowed one has mass, so a tie at zero never revives a masked candidate.
    """
    pool = [(float(p[i]), -i, n) for i, n in enumerate(names) if n in allowed]
    w, _, n = max([t for t in pool if t[0] > 0] or pool)
    return n, w


def magnitude_arch(
    space: nn.Module,
    probabilities: Mapping[str, torch.Tensor],
    input_weights: Mapping[str, torch.Tensor] | None = None,
) -> ArchSpec:
    """Pick the strongest candidate per Choice and the strongest inputs per InputChoice.

    A Choice feeding an InputChoice is chosen among its non-zero candidates (DARTS); an input's
    score is its strategy weight (PC-DARTS softmax(β), else 1; 0 when masked away) times its edge's
    best non-zero probability. Ties go to the lower index, so the result is deterministic.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from hwnas.api import Choice
        >>> net = nn.Sequential(Choice(["skip_connect", "nor_conv_3x3"], label="op", c_in=4, c_out=4))
        >>> magnitude_arch(net, {"op": torch.tensor([0.3, 0.7])}).choices
        {'op': 'nor_conv_3x3'}
    """
    graph = DecisionGraph.of(space)
    input_weights = input_weights or {}
    choices: dict[str, object] = {}
    strength: dict[str, float] = {}
    for label, names in graph.choices.items():
        if label not in probabilities:
            raise KeyError(f"no probabilities for decision {label!r}")
        p = probabilities[label].detach().float().cpu()
        choices[label], strength[label] = _best(names, graph.selectable(label), p)
    for label, d in graph.inputs.items():
        w = input_weights.get(label)
        w = torch.ones(d.n_candidates) if w is None else w.detach().float().cpu()
        scores = [float(w[i]) * (strength.get(d.sources[i], 1.0) if d.sources else 1.0) for i in range(d.n_candidates)]
        order = sorted(range(d.n_candidates), key=lambda i: (-scores[i], i))
        choices[label] = tuple(sorted(order[: d.n_chosen]))
    return check_arch(space, ArchSpec(space_name(space), choices, space_kwargs(space), space_ref=space_ref(space)))


def random_arch(space: nn.Module, rng: random.Random | int | None = None) -> ArchSpec:
    """A uniformly drawn architecture of ``space`` (the random-search baseline, and predictor sweeps).

    Each Choice takes a uniform candidate (one feeding an InputChoice a non-zero one, as selection
    would), each InputChoice a uniform set of its ``n_chosen`` inputs.

    Example:
        >>> from torch import nn
        >>> from hwnas.api import Choice
        >>> net = nn.Sequential(Choice(["skip_connect", "nor_conv_3x3"], label="op", c_in=4, c_out=4))
        >>> random_arch(net, 0).choices["op"] in ("skip_connect", "nor_conv_3x3")
        True
    """
    rng = rng if isinstance(rng, random.Random) else random.Random(rng)
    graph = DecisionGraph.of(space)
    choices: dict[str, object] = {}
    for label, d in {**graph.choices, **graph.inputs}.items():
        if graph.is_input(label):
            choices[label] = tuple(sorted(rng.sample(range(d.n_candidates), d.n_chosen)))
        else:
            choices[label] = rng.choice(list(graph.selectable(label)))
    return check_arch(space, ArchSpec(space_name(space), choices, space_kwargs(space), space_ref=space_ref(space)))
