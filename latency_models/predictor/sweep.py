"""A predictor for any space and any cost model: price sampled architectures, fit, and say how well it holds out.

The sweep is how a user gets a learned, differentiable cost for hardware nobody has a table for: draw
architectures of the space (:func:`sample_archs`), price each with a target (a TPE engine, a lookup
table, a timing on this machine; ``hwnas predictor sweep`` does this part), then :func:`fit_sweep`
trains a one-device predictor. With ``trunk="auto"`` it tries the additive trunk (exact when the cost is
a sum over layers, as TPE engines and lookup tables are) and the MLP trunk (interactions, as whole-network
timings have) on a held-out share and keeps the better; the held-out scores are reported either way.

Example:
    >>> from hwnas.search_spaces import NB201Space
    >>> from hwnas.latency_models.predictor.sweep import fit_sweep, sample_archs
    >>> space = NB201Space(C=4, N=1)
    >>> archs = sample_archs(space, 40, seed=0)
    >>> cost = {"none": 0.0, "skip_connect": 0.1, "nor_conv_1x1": 0.5, "nor_conv_3x3": 1.2, "avg_pool_3x3": 0.3}
    >>> fit = fit_sweep(space, archs, [1.0 + sum(cost[o] for o in a.choices.values()) for a in archs],
    ...                 trunk="additive")
    >>> fit.trunk, fit.holdout_within10
    ('additive', 1.0)
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from hwnas.api import ArchSpec, random_arch
from hwnas.latency_models.predictor.model import LatencyPredictor, train_direct
from hwnas.latency_models.predictor.schema import PredictorError, SpaceSchema, get_schema

TRUNKS = ("auto", "additive", "mlp")


@dataclass(frozen=True)
class SweepFit:
    """The fitted predictor and how it did on the held-out archs (NaN when too few to hold any out)."""

    predictor: LatencyPredictor
    trunk: str
    holdout_n: int
    holdout_spearman: float
    holdout_within10: float
    tried: dict[str, dict[str, float]] = field(default_factory=dict)


def sample_archs(space: nn.Module, n: int, *, seed: int = 0) -> list[ArchSpec]:
    """Up to ``n`` distinct uniformly drawn architectures (fewer only if the space has fewer)."""
    if n < 1:
        raise PredictorError(f"a sweep needs at least 1 architecture, got {n}")
    rng = random.Random(seed)
    seen: dict[str, ArchSpec] = {}
    tries = 0
    while len(seen) < n and tries < 50 * n:
        a = random_arch(space, rng)
        seen.setdefault(a.archid, a)
        tries += 1
    return list(seen.values())


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (phones report whole ms, so ties are common)."""
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + ends - 1) / 2.0)[inv]


def spearman(pred: np.ndarray, truth: np.ndarray) -> float:
    """Spearman's rank correlation (ties averaged); NaN when it is undefined (under 3 values, or constant truth)."""
    if len(truth) <= 2 or np.ptp(truth) == 0:
        return math.nan
    return float(np.corrcoef(_ranks(pred), _ranks(truth))[0, 1])


def within(pred: np.ndarray, truth: np.ndarray, tol: float = 0.10) -> float:
    """Share of predictions within ``±tol`` of the truth, relative to the truth."""
    return float(np.mean(np.abs(pred - truth) <= tol * truth))


def _scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {"spearman": spearman(pred, truth), "within10": within(pred, truth),
            "log_mse": float(np.mean((np.log(pred) - np.log(truth)) ** 2))}


def fit_sweep(space: nn.Module | SpaceSchema | str, archs: Sequence[ArchSpec], values: Sequence[float], *,
              metric: str = "latency_ms", trunk: str = "auto", holdout: float = 0.2, seed: int = 0) -> SweepFit:
    """Fit a one-device predictor to ``(arch, value)`` pairs of a sweep.

    Args:
        space: The space (or its schema) the archs belong to; all its decisions must be single Choices.
        archs, values: The sweep; values > 0 in the unit of ``metric`` (``latency_ms``, ``energy_mj``...).
        trunk: ``additive``, ``mlp``, or ``auto`` (the one with the lower held-out log error).
        holdout: Share of the sweep held out to score the trunks (none when fewer than 10 pairs);
            the returned predictor is refitted on every pair.
    """
    if trunk not in TRUNKS:
        raise PredictorError(f"unknown trunk {trunk!r}; trunks: {', '.join(TRUNKS)}")
    schema = get_schema(space)
    y = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(y) != len(archs):
        raise PredictorError(f"{len(archs)} architectures but {len(y)} values")
    if not np.all(np.isfinite(y)) or np.any(y <= 0):
        raise PredictorError(f"sweep values must be finite and > 0 ({metric}); got min {np.nanmin(y)!r}")
    kinds = ["additive", "mlp"] if trunk == "auto" else [trunk]
    order = np.random.default_rng(seed).permutation(len(y))
    n_out = int(round(holdout * len(y))) if len(y) >= 10 else 0
    test, train = order[:n_out], order[n_out:]
    tried: dict[str, dict[str, float]] = {}
    if n_out:
        for kind in kinds:
            p = _direct(schema, [archs[i] for i in train], y[train], kind, seed)
            with torch.no_grad():
                tried[kind] = _scores(p.predict([archs[i] for i in test]).double().numpy(), y[test])
    best = min(tried, key=lambda k: tried[k]["log_mse"]) if tried else kinds[0]
    pred = _direct(schema, list(archs), y, best, seed)
    pred.metric = metric
    pred.meta = {**pred.meta, "sweep": {"pairs": int(len(y)), "trunk": best, "holdout": int(n_out), "tried": tried}}
    s = tried.get(best, {})
    return SweepFit(pred, best, int(n_out), s.get("spearman", math.nan), s.get("within10", math.nan), tried)


def _direct(schema: SpaceSchema, archs: list[ArchSpec], y: np.ndarray, kind: str, seed: int) -> LatencyPredictor:
    # A near-zero ridge: a sweep of an additive cost should be fitted exactly, not shrunk.
    kwargs = {"ridge": 1e-6 * max(1.0, float(len(y)))} if kind == "additive" else {}
    return train_direct(schema, archs, y, trunk=kind, seed=seed, **kwargs)
