"""Deriving architectures from a space: the argmax rule shared by every supernet's ``export()``, and random draws."""

from __future__ import annotations

import random
from collections.abc import Mapping

import torch
from torch import nn

from hwnas.api.archspec import ArchSpec
from hwnas.api.choice import ZERO_OPS, InputChoice, collect_decisions
from hwnas.api.freeze import check_arch
from hwnas.api.protocols import space_kwargs, space_name


def fed_labels(decisions: Mapping[str, object]) -> set[str]:
    """Labels of Choices that feed an InputChoice: their zero candidates mean "input not kept"."""
    return {s for d in decisions.values() if isinstance(d, InputChoice) and d.sources for s in d.sources}


def _best_nonzero(names: tuple[str, ...], p: torch.Tensor) -> tuple[str, float]:
    pairs = [(float(p[i]), -i, n) for i, n in enumerate(names) if n not in ZERO_OPS]
    if not pairs:
        return names[int(torch.argmax(p))], 0.0
    w, _, n = max(pairs)
    return n, w


def magnitude_arch(
    space: nn.Module,
    probabilities: Mapping[str, torch.Tensor],
    input_weights: Mapping[str, torch.Tensor] | None = None,
) -> ArchSpec:
    """Pick the strongest candidate per Choice and the strongest inputs per InputChoice.

    A Choice feeding an InputChoice is chosen among its non-zero candidates (DARTS); an input's
    score is its strategy weight (PC-DARTS softmax(β), else 1) times its edge's best non-zero
    probability. Ties go to the lower index, so the result is deterministic.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from hwnas.api import Choice
        >>> net = nn.Sequential(Choice(["skip_connect", "nor_conv_3x3"], label="op", c_in=4, c_out=4))
        >>> magnitude_arch(net, {"op": torch.tensor([0.3, 0.7])}).choices
        {'op': 'nor_conv_3x3'}
    """
    decisions = collect_decisions(space)
    fed = fed_labels(decisions)
    input_weights = input_weights or {}
    choices: dict[str, object] = {}
    strength: dict[str, float] = {}
    for label, d in decisions.items():
        if isinstance(d, InputChoice):
            continue
        if label not in probabilities:
            raise KeyError(f"no probabilities for decision {label!r}")
        p = probabilities[label].detach().float().cpu()
        if label in fed:
            choices[label], strength[label] = _best_nonzero(d, p)
        else:
            choices[label] = d[int(torch.argmax(p))]
    for label, d in decisions.items():
        if not isinstance(d, InputChoice):
            continue
        w = input_weights.get(label)
        w = torch.ones(d.n_candidates) if w is None else w.detach().float().cpu()
        scores = [float(w[i]) * (strength.get(d.sources[i], 1.0) if d.sources else 1.0) for i in range(d.n_candidates)]
        order = sorted(range(d.n_candidates), key=lambda i: (-scores[i], i))
        choices[label] = tuple(sorted(order[: d.n_chosen]))
    return check_arch(space, ArchSpec(space_name(space), choices, space_kwargs(space)))


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
    decisions = collect_decisions(space)
    fed = fed_labels(decisions)
    choices: dict[str, object] = {}
    for label, d in decisions.items():
        if isinstance(d, InputChoice):
            choices[label] = tuple(sorted(rng.sample(range(d.n_candidates), d.n_chosen)))
        else:
            pool = [n for n in d if n not in ZERO_OPS] if label in fed else list(d)
            choices[label] = rng.choice(pool or list(d))
    return check_arch(space, ArchSpec(space_name(space), choices, space_kwargs(space)))
