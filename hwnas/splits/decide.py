"""Which edge of a supernet to split, and into which groups (GM-NAS, Hu et al., ICLR 2022).

Faithful to the official code (``skhu101/GM-NAS``) where it is consistent, with its two edge rules
offered by name since its two spaces disagree:

* ``cross`` — the edge whose best partition has the largest summed distance *across* groups (the
  paper's min-cut rule, and its NB201 code);
* ``within`` — the edge whose best partition has the smallest summed distance *within* groups (its
  DARTS-space code).

The partition minimises the within-group distance exhaustively over every partition into ``groups``
groups of at least ``min_group_size`` candidates (the NB201 code's 2/3 split of 5 ops and the DARTS
code's 2/5 or 3/4 split of 7 both follow with ``min_group_size=2``). Each sub-supernet decides its own
next edge, and an edge is split at most once per lineage. Only candidates the supernet still allows
(and, on a Choice feeding an InputChoice, non-zero ones) take part.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hwnas.splits.distance import gradient_distances
from hwnas.splits.partition import Partition, best_partition, random_partition, singletons


@dataclass(frozen=True)
class SplitDecision:
    """The edge to split, its candidates and their groups; ``distance`` for gradient splits."""

    label: str
    names: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    distance: list[list[float]] | None = None
    #: For gradient splits: per eligible edge, its best partition's within and cross distance.
    scores: dict[str, dict[str, float]] = field(default_factory=dict)


def split_candidates(supernet: Any, label: str) -> list[str]:
    """The candidates of ``label`` a split partitions: allowed, and selectable on a fed edge."""
    allowed = set(supernet.allowed(label))
    return [c for c in supernet.graph.selectable(label) if c in allowed]


def eligible_labels(supernet: Any, *, patterns: Sequence[str], lineage: set[str], need: int) -> list[str]:
    """Choice labels matching ``patterns`` (all if empty), not split in this lineage, with ``need`` candidates."""
    out = []
    for label in supernet.graph.choices:
        if label in lineage or (patterns and not any(fnmatch.fnmatchcase(label, p) for p in patterns)):
            continue
        if len(split_candidates(supernet, label)) >= need:
            out.append(label)
    return out


def decide_split(
    supernet: Any,
    *,
    cfg: Any,
    lineage: set[str],
    batches: Sequence[Any],
    rng: random.Random,
    device: Any = "cpu",
    seed: int = 0,
) -> SplitDecision | None:
    """Choose the edge and the groups for one sub-supernet; None when no edge can be split.

    Args:
        supernet: The (masked) supernet to split.
        cfg: A :class:`hwnas.search.config.SplitsConfig` (method, groups, min_group_size, edge_rule,
            labels, force, grad_scope).
        lineage: Labels already split on this sub-supernet's path.
        batches: The training batches the gradient distances average over (R of them).
        rng: Draws of the random rules.
    """
    need = 2 if cfg.method == "fewshot" else cfg.groups * cfg.min_group_size
    labels = eligible_labels(supernet, patterns=cfg.labels, lineage=lineage, need=need)
    if not labels:
        return None
    if cfg.method != "gradient":
        label = rng.choice(labels) if cfg.edge_rule == "random" else labels[0]
        names = split_candidates(supernet, label)
        part = singletons(len(names)) if cfg.method == "fewshot" else random_partition(len(names), cfg.groups, rng)
        return SplitDecision(label, tuple(names), _named(part, names))
    if cfg.edge_rule in ("random", "first"):
        labels = [rng.choice(labels) if cfg.edge_rule == "random" else labels[0]]
    best: tuple[float, str, Partition, list[list[float]]] | None = None
    scores: dict[str, dict[str, float]] = {}
    for label in labels:
        names = split_candidates(supernet, label)
        dist = gradient_distances(supernet, label, batches, candidates=names, force=cfg.force, scope=cfg.grad_scope,
                                  device=device, seed=seed)
        part = best_partition(dist.numpy(), cfg.groups, cfg.min_group_size)
        scores[label] = {"within": part.within, "cross": part.cross}
        # cross: the largest disagreement across groups; within: the tightest groups. Ties keep the earlier edge.
        key = -part.cross if cfg.edge_rule == "cross" else part.within
        if best is None or key < best[0] - 1e-12:
            best = (key, label, part, dist.tolist())
    assert best is not None
    _, label, part, dist = best
    names = split_candidates(supernet, label)
    return SplitDecision(label, tuple(names), _named(part, names), dist, scores)


def _named(part: Partition, names: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(names[i] for i in g) for g in part.groups)
