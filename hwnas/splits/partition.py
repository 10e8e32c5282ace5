"""Partitions of one edge's candidates into groups: exhaustive optimum, random, and few-shot singletons."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Partition:
    """Groups of candidate indices, with the summed pairwise distances inside and across the groups."""

    groups: tuple[tuple[int, ...], ...]
    within: float
    cross: float


def set_partitions(n: int, k: int, min_size: int = 1) -> Iterator[tuple[tuple[int, ...], ...]]:
    """Every partition of ``range(n)`` into exactly ``k`` non-empty blocks of at least ``min_size``.

    Blocks are listed by their smallest element, so each partition appears once (restricted growth
    strings). There are Stirling S(n, k) of them: S(9, 2) = 255, S(9, 4) = 7,770.

    Example:
        >>> [p for p in set_partitions(4, 2, min_size=2)]
        [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]
    """
    if k < 1 or n < k * min_size:
        return
    labels = [0] * n

    def grow(i: int, used: int) -> Iterator[tuple[tuple[int, ...], ...]]:
        if n - i < k - used:  # not enough items left to open the remaining blocks
            return
        if i == n:
            if used == k:
                blocks = tuple(tuple(j for j in range(n) if labels[j] == b) for b in range(k))
                if all(len(b) >= min_size for b in blocks):
                    yield blocks
            return
        for b in range(min(used + 1, k)):
            labels[i] = b
            yield from grow(i + 1, max(used, b + 1))

    yield from grow(0, 0)


def _within(dist: np.ndarray, groups: Sequence[Sequence[int]]) -> float:
    return float(sum(dist[a, b] for g in groups for i, a in enumerate(g) for b in g[i + 1:]))


def best_partition(dist: np.ndarray | Sequence[Sequence[float]], groups: int = 2, min_size: int = 2) -> Partition:
    """The partition minimising the summed within-group distance (GM-NAS's objective, exhaustively).

    The sum is not normalised by the number of pairs, as in the official code (which therefore prefers
    the more balanced of the sizes it allows). Ties go to the first partition in :func:`set_partitions`
    order.

    Raises:
        ValueError: the candidates cannot make ``groups`` groups of ``min_size``.

    Example:
        >>> d = [[0, .1, .9, .9], [.1, 0, .9, .9], [.9, .9, 0, .2], [.9, .9, .2, 0]]
        >>> best_partition(d).groups
        ((0, 1), (2, 3))
    """
    d = np.asarray(dist, dtype=np.float64)
    n = d.shape[0]
    total = float(np.triu(d, 1).sum())
    best: Partition | None = None
    for p in set_partitions(n, groups, min_size):
        w = _within(d, p)
        if best is None or w < best.within - 1e-12:
            best = Partition(p, w, total - w)
    if best is None:
        raise ValueError(f"{n} candidates cannot form {groups} groups of at least {min_size}")
    return best


def random_partition(n: int, groups: int, rng: random.Random) -> Partition:
    """A random partition into ``groups`` blocks of ``n // groups`` (the last takes the remainder), as
    GM-NAS's random-split baseline cuts a random permutation."""
    if n < groups:
        raise ValueError(f"{n} candidates cannot form {groups} groups")
    order = list(range(n))
    rng.shuffle(order)
    size = n // groups
    blocks = [sorted(order[i * size:(i + 1) * size]) for i in range(groups - 1)] + [sorted(order[(groups - 1) * size:])]
    return Partition(tuple(tuple(b) for b in sorted(blocks)), float("nan"), float("nan"))


def singletons(n: int) -> Partition:
    """One group per candidate: the few-shot NAS split (Zhao et al., 2021)."""
    return Partition(tuple((i,) for i in range(n)), 0.0, float("nan"))
