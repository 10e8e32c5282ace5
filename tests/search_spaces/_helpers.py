"""Helpers for the search-space tests: tiny settings per space, a random-arch sampler, the NB201 table."""

from __future__ import annotations

import csv
import functools
import gzip
import random
from pathlib import Path

import pytest

from hwnas.api import ZERO_OPS, ArchSpec, InputChoice, collect_decisions, space_kwargs, space_name

#: Tiny settings per registered space so tests stay fast; unknown (user) spaces use their defaults.
TINY = {
    "darts": {"C": 4, "layers": 3},
    "nb201": {"C": 4, "N": 1},
    "proxyless": {"variant": "cifar", "width_mult": 0.25},
    "fbnet": {"width_mult": 0.25},
}
#: Small test images per space (side length).
SIDE = {"darts": 16, "nb201": 8, "proxyless": 16, "fbnet": 32}

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def random_arch(space, seed: int) -> ArchSpec:
    """A random valid ArchSpec: kept DARTS edges never pick a zero op."""
    rng = random.Random(seed)
    decisions = collect_decisions(space)
    fed = {s for d in decisions.values() if isinstance(d, InputChoice) and d.sources for s in d.sources}
    choices = {}
    for label, d in decisions.items():
        if isinstance(d, InputChoice):
            choices[label] = tuple(sorted(rng.sample(range(d.n_candidates), d.n_chosen)))
        else:
            names = [n for n in d if not (label in fed and n in ZERO_OPS)]
            choices[label] = rng.choice(names)
    return ArchSpec(space_name(space), choices, space_kwargs(space))


@functools.lru_cache(maxsize=1)
def _read_nb201_table() -> tuple[dict[str, str], ...]:
    with gzip.open(DATA / "nb201_hw.csv.gz", "rt") as f:
        return tuple(csv.DictReader(f))


def nb201_table() -> tuple[dict[str, str], ...]:
    """Rows of the shared NB201 table; skips the test when the shared data is absent."""
    if not (DATA / "nb201_hw.csv.gz").is_file():
        pytest.skip(f"{DATA / 'nb201_hw.csv.gz'} not found (shared measured data is optional)")
    return _read_nb201_table()
