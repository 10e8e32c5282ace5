"""The tied-cost additive model a predictor blends in when adapting to a new device.

Latency in ms is modelled as ``b + sum over decisions of cost[candidate name]``: one cost per
candidate *name*, shared by every decision that offers it. Where the decisions are interchangeable
in shape (NAS-Bench-201's six edges all run on the same tensor), that is the physically right
additive model, with a handful of parameters instead of one per (decision, candidate), so 20
samples determine it; on a deterministic cost model (a simulator, an accelerator's cycle count)
it is exact. Where decisions differ (FBNet's layers), it explains the samples worse than the head
and the blend gives it no weight: by marginal likelihood for the ``bayes`` head (:func:`tied_evidence`, the
same evidence that weighs the head's own components), by leave-one-out error for ``pca``
(:func:`blend_weight`).

The encoding of an architecture (one-hot per decision) or of probabilities times the
:func:`tied_matrix` is the (expected) number of decisions choosing each name, so the blended
prediction stays differentiable in α.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from hwnas.latency_models.predictor.evidence import OUTLIER, gaussian_evidence, outlier_subsets
from hwnas.latency_models.predictor.schema import SpaceSchema

TIED_SCALE = 2.0  # prior std of a tied cost, relative to the mean cost per decision (chosen on NB201's dev half)


def tied_names(schema: SpaceSchema) -> list[str]:
    """Candidate names of the space's single-choice decisions, sorted (one tied cost each)."""
    return sorted({c for cands, m in zip(schema.candidates, schema.multi) if m == 1 for c in cands})


def tied_matrix(schema: SpaceSchema) -> torch.Tensor:
    """``[dim, n_names]``: maps an encoding to the number of decisions that choose each name."""
    names = tied_names(schema)
    col = {n: i for i, n in enumerate(names)}
    mat = torch.zeros(schema.dim, len(names))
    off = 0
    for cands, m in zip(schema.candidates, schema.multi):
        if m == 1:
            for k, c in enumerate(cands):
                mat[off + k, col[c]] = 1.0
        off += len(cands)
    return mat


def fit_tied(counts: np.ndarray, y_ms: np.ndarray, *, ridge: float = 1e-3) -> tuple[np.ndarray, float]:
    """Ridge least squares of ``y_ms ~ b + counts @ w`` (intercept unpenalized); returns ``(w, b)``.

    The counts of a single-choice space sum to the number of decisions, so they are collinear with the
    intercept; the small ridge picks the minimum-norm split, which predicts the same.
    """
    a = np.c_[np.ones(len(counts)), counts]
    reg = ridge * np.eye(a.shape[1])
    reg[0, 0] = 0.0
    coef = np.linalg.solve(a.T @ a + reg, a.T @ y_ms)
    return coef[1:], float(coef[0])


def tied_evidence(counts: np.ndarray, y_ms: np.ndarray, *, scale: float = TIED_SCALE,
                  outlier: float = OUTLIER) -> tuple[np.ndarray, float, float]:
    """Posterior-mean ``(w, b)`` of the tied model and the log evidence of ``log y_ms`` under it.

    The noise is multiplicative (``y = (b + counts @ w) * exp(e)``, ``e`` small), as the head's is in log ms:
    dividing each row by its ``y`` makes it a Gaussian linear model of the constant 1 whose evidence, with
    the Jacobian of ``log y``, is the evidence of the log latencies, so it compares directly with
    :func:`~hwnas.latency_models.predictor.bayes.bayes_head`'s. Priors scale with the samples' geometric
    mean ``g`` (the unit must not matter): ``b ~ N(0, g^2)``, each cost ``~ N(c, (scale * c)^2)`` with
    ``c = g / decisions``. The noise grid and the outlier configurations are the head's.

    Example:
        >>> counts = np.array([[3, 0, 3], [0, 6, 0], [2, 2, 2], [6, 0, 0], [1, 4, 1], [0, 0, 6]], dtype=float)
        >>> w, b, ev = tied_evidence(counts, 1.0 + counts @ np.array([2.0, 1.0, 0.5]))
        >>> [round(float(v), 2) for v in (b + counts[:2] @ w)], ev > 5
        ([8.5, 7.0], True)
    """
    y = np.asarray(y_ms, dtype=np.float64)
    geo = float(np.exp(np.mean(np.log(y))))
    cost = geo / max(float(counts.sum(1).mean()), 1.0)
    k = counts.shape[1]
    phi = np.c_[np.ones(len(y)), counts] / y[:, None]
    mean = np.r_[0.0, np.full(k, cost)]
    var = np.r_[geo**2, np.full(k, (scale * cost) ** 2)]
    logp, thetas = [], []
    for rows, lc in outlier_subsets(len(y), outlier):
        ev, theta = gaussian_evidence(phi[rows], np.ones(len(rows)), mean, var)
        logp.append(ev + lc)
        thetas.append(theta)
    logp_a = np.array(logp)
    top = float(logp_a.max())
    post = np.exp(logp_a - top)
    total = float(post.sum())
    theta = (post / total) @ np.array(thetas)
    return theta[1:], float(theta[0]), top + float(np.log(total))


def evidence_weight(log_ev_head: float, log_ev_tied: float, *, prior: float = 0.1) -> float:
    """Posterior probability of the tied model against the head, with prior weight ``prior`` on the tied one.

    Example:
        >>> evidence_weight(0.0, 0.0, prior=0.5), round(evidence_weight(0.0, float(np.log(9.0))), 2)
        (0.5, 0.5)
    """
    d = float(np.log1p(-prior) + log_ev_head - np.log(prior) - log_ev_tied)
    return float(1.0 / (1.0 + np.exp(min(d, 700.0))))


def tied_predict(counts: np.ndarray, w: np.ndarray, b: float, floor: float) -> np.ndarray:
    """The tied model's ms, clipped below at ``floor`` (an additive fit can dip under zero far from the data)."""
    return np.maximum(b + counts @ w, floor)


def loo_predictions(fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], n: int) -> np.ndarray:
    """``[n]`` leave-one-out predictions (ms) of ``fit_predict(train_idx, test_idx) -> ms``."""
    out = np.empty(n)
    for i in range(n):
        out[i] = float(fit_predict(np.flatnonzero(np.arange(n) != i), np.array([i]))[0])
    return out


def loo_log_error(fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], n: int, y_ms: np.ndarray) -> float:
    """Mean squared leave-one-out error in log ms of ``fit_predict(train_idx, test_idx) -> ms``."""
    p = loo_predictions(fit_predict, n)
    return float(np.mean((np.log(np.maximum(p, 1e-12)) - np.log(y_ms)) ** 2))


def stacked_weight(loo_head_ms: np.ndarray, loo_tied_ms: np.ndarray, y_ms: np.ndarray, *, steps: int = 10) -> float:
    """Weight of the tied model: the blend whose leave-one-out predictions have the least squared log error.

    The ``bayes`` head's blend until :func:`tied_evidence` replaced it (at 10 shots the leave-one-out choice
    is noisy: NB201 mean ratio to the bound 0.930 with it, 0.946 by evidence); kept for comparisons.

    Unlike :func:`blend_weight` it scores the blend itself, so two models that err in different
    directions can share the weight, and one that is only a little worse does not get a third of it.

    Example:
        >>> y = np.array([10.0, 20.0, 30.0])
        >>> stacked_weight(y * 1.2, y * 0.8, y), stacked_weight(y, y * 2, y)
        (0.5, 0.0)
    """
    grid = np.linspace(0.0, 1.0, steps + 1)
    blend = (1.0 - grid[:, None]) * loo_head_ms[None, :] + grid[:, None] * loo_tied_ms[None, :]
    err = np.mean((np.log(np.maximum(blend, 1e-12)) - np.log(y_ms)[None, :]) ** 2, axis=1)
    return float(grid[int(np.argmin(err + 1e-12 * grid))])  # ties: the smaller weight


def blend_weight(loo_head: float, loo_tied: float, *, temperature: float = 3.0) -> float:
    """Weight of the tied model: the two leave-one-out errors turned into softmax weights, as the head's mixture.

    Example:
        >>> round(blend_weight(0.01, 0.01), 2), blend_weight(0.01, 0.5) < 1e-6
        (0.5, True)
    """
    best = max(min(loo_head, loo_tied), 1e-12)
    a = np.exp(-(loo_head - best) / best * temperature)
    t = np.exp(-(loo_tied - best) / best * temperature)
    return float(t / (a + t))
