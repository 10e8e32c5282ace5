"""Selection never returns a degenerate architecture (one whose output does not depend on its input).

When a selector's choice is degenerate, it is repaired by the edits that replace a zero op by a non-zero
candidate: the least-regret single edit that connects input and output if one does, else the
least-regret edit, and again. The regret of an edit is the drop in the supernet's log-preference
(softmax of α, unmasked) for that label.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace

import torch
from torch import nn

from hwnas.api.archspec import ArchSpec
from hwnas.api.choice import ZERO_OPS
from hwnas.api.connectivity import is_degenerate
from hwnas.api.freeze import check_arch
from hwnas.api.graph import DecisionGraph


def has_zero_ops(arch: ArchSpec) -> bool:
    """Only an architecture that picks a zero op can be degenerate (a cheap test before the exact one)."""
    return any(isinstance(v, str) and v in ZERO_OPS for v in arch.choices.values())


def can_check(space: nn.Module, input_size: Sequence[int] | None) -> bool:
    """Whether the connectivity of ``space``'s architectures can be checked: an input size is known."""
    return input_size is not None or getattr(space, "default_input_size", None) is not None


def connected_arch(
    space: nn.Module,
    arch: ArchSpec,
    preference: Mapping[str, torch.Tensor],
    input_size: Sequence[int] | None = None,
) -> ArchSpec:
    """``arch`` if it is not degenerate, else the least-regret repair of it (see the module docstring).

    Args:
        space: The space (or a supernet's ``space``).
        arch: A selected architecture.
        preference: Per Choice label, logits of the supernet's preference over its candidates.
        input_size: One sample's shape (default: the space's ``default_input_size``).

    The repaired architecture carries ``repaired_degenerate: <edits>`` in its metrics. A space that
    declares no ``default_input_size``, selected without an ``input_size``, cannot be run to check: it is
    returned as it is, with a warning that says what to pass.
    """
    if not has_zero_ops(arch):
        return arch
    if not can_check(space, input_size):
        warnings.warn(f"cannot check that {arch.archid} is not degenerate: {type(space).__name__} declares no "
                      "default_input_size; pass SelectionContext(input_size=(C, H, W))", stacklevel=2)
        return arch
    if not is_degenerate(space, arch, input_size):
        return arch
    graph = DecisionGraph.of(space)
    logp = {k: torch.log_softmax(v.detach().float().cpu(), -1) for k, v in preference.items()}
    choices, edits = dict(arch.choices), 0
    while True:
        options = []
        for label, names in graph.choices.items():
            now = choices.get(label)
            if now not in ZERO_OPS:
                continue
            for i, cand in enumerate(names):
                if cand not in ZERO_OPS and cand in graph.selectable(label):
                    regret = float(logp[label][names.index(now)] - logp[label][i]) if label in logp else 0.0
                    options.append((regret, label, cand))
        if not options:
            warnings.warn(f"architecture {arch.archid} is degenerate and no edit of a zero op repairs it",
                          stacklevel=2)
            return arch
        options.sort()
        edits += 1
        for _, label, cand in options:
            trial = replace(arch, choices={**choices, label: cand})
            if not is_degenerate(space, trial, input_size):
                return check_arch(space, trial).with_metrics(repaired_degenerate=edits)
        _, label, cand = options[0]  # no single edit connects it: take the cheapest and look again
        choices[label] = cand


def preference_of(supernet: object) -> dict[str, torch.Tensor]:
    """Per Choice label, the supernet's unmasked preference logits: α where it has them, else log-probabilities."""
    probs = supernet.probabilities()  # type: ignore[attr-defined]
    alpha_of = getattr(supernet, "alpha_of", None)  # a SupernetLike need not be a parametrised strategy
    if callable(alpha_of):
        return {k: alpha_of(k).detach() for k in probs}
    return {k: torch.log(v.detach().clamp_min(1e-12)) for k, v in probs.items()}
