"""Which architectures to measure on a new device: the few samples that tell the adapted head the most.

:meth:`LatencyPredictor.adapt` learns a new device's head ``log ms = b + z(x) @ w`` from a few measurements.
Drawn at random, those archs are mostly mid-range cells whose features say little about the direction ``w``.
:func:`design_rows` picks them instead as a sequential Bayesian design: the next arch is the one whose
prediction is most uncertain under the head's combination prior (:func:`~hwnas.latency_models.predictor.bayes.
device_prior`: how pretraining devices are explained by each other) given the archs already picked, i.e. greedy
D-optimal design for a Bayesian linear model. It needs no measurement of the device, so the list is fixed
before anything is timed, as HELP's reference architectures are (Lee et al., NeurIPS 2021), but chosen for
the pretrained predictor rather than by hand.

Measured with ``benchmarks/predictor_loo.py --design`` against random draws of the same size (10 shots,
seeds 0-9 on NB201 and 0-2 on FBNet): NB201 mean Spearman 0.9730 -> 0.9768, mean ratio to the bound 0.949 ->
0.958 (the development half of the devices 0.944 -> 0.959, the held-out half 0.954 -> 0.958), 19 of 27 devices
at >= 95% of the bound either way; FBNet 0.9461 -> 0.9504, 0.957 -> 0.974, 21 -> 23 of 27 devices. The
per-decision additive baseline gains more (NB201 Spearman 0.416 -> 0.815). The settings (a pool of 1,000 archs,
``noise`` 0.1) were chosen on NB201's development half (pool 300: 0.933, 3,000: 0.952; noise 0.01: 0.959, 1.0:
0.948, seeds 0-4). Designed lists favour archs at the ends of the latency range, where some phones are noisier:
NB201's raspi4 drops from 0.854 to 0.726 of its bound.

Ten are not enough for every device: a noisy CPU or phone needs more. ``suggest_archs(..., given=measured)``
(``hwnas predictor suggest --given``) conditions the design on the archs timed already and lists the next ones.
The greedy design is nested, so the first 10 and the next 10 of one pool are the list of 20. On NB201 (seeds
0-9, ``predictor_loo.py --design --shots N``) the share within ±10% reaches 95% of the bound on 19, 21 and 23 of
the 27 devices at 10, 20 and 30 designed archs (mean ratio 0.958, 0.975, 0.980); 20 random ones give 0.965
(seeds 0-4). gold_6240, whose table switches between two clock states, stays near 0.83 of its bound.

Example:
    >>> from hwnas.latency_models.predictor.design import suggest_archs
    >>> from hwnas.latency_models.predictor.model import LatencyPredictor
    >>> archs = suggest_archs(LatencyPredictor.load("nb201").without_device("pixel3"), 10)
    >>> len(archs), len(set(archs))
    (10, 10)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from hwnas.api import ArchSpec
from hwnas.latency_models.predictor.schema import ArchLike, PredictorError

if TYPE_CHECKING:
    from hwnas.latency_models.predictor.model import LatencyPredictor

POOL = 1000  # candidate archs drawn from the predictor's reference archs (chosen on NB201's development half)
NOISE = 0.1  # measurement noise variance assumed by the design, in (log ms)^2 (idem)
_INTERCEPT_VAR = 100.0  # the head's intercept prior (bayes._INTERCEPT_VAR): the level is learnt from the samples


def design_rows(features: np.ndarray, prior_cov: np.ndarray, count: int, *, noise: float = NOISE,
                given: np.ndarray | None = None) -> np.ndarray:
    """Indices of ``count`` rows of ``features`` chosen one by one for the largest predictive variance.

    Args:
        features: ``[N, D]`` the head's centred features of the candidate archs.
        prior_cov: ``[D, D]`` prior covariance of the head's weights.
        count: How many rows to pick (distinct).
        noise: Measurement noise variance (log ms squared) assumed when conditioning on a picked row.
        given: ``[G, D]`` centred features of archs measured already (not among ``features``): the design
            conditions on them first, so the picks add what they leave unknown.

    Example:
        >>> f = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.1, 0.1]])
        >>> sorted(design_rows(f, np.eye(2), 2).tolist())
        [1, 2]
        >>> design_rows(f, np.eye(2), 1, given=np.array([[1.0, 0.0]])).tolist()
        [2]
    """
    n, d = features.shape
    if not 1 <= count <= n:
        raise PredictorError(f"cannot pick {count} archs from a pool of {n}: ask for 1..{n}, or enlarge the pool")
    if prior_cov.shape != (d, d):
        raise PredictorError(f"prior covariance is {prior_cov.shape}, features have {d} columns")
    given = np.zeros((0, d)) if given is None else np.asarray(given, dtype=float)
    if given.ndim != 2 or given.shape[1] != d:
        raise PredictorError(f"given features are {given.shape}, candidate features have {d} columns")
    phi = np.c_[np.ones(n), features]
    cov = np.zeros((d + 1, d + 1))
    cov[0, 0] = _INTERCEPT_VAR
    cov[1:, 1:] = prior_cov
    var = np.einsum("ij,jk,ik->i", phi, cov, phi)
    for row in np.c_[np.ones(len(given)), given]:
        cov, var = _condition(cov, var, phi, row, noise)
    chosen: list[int] = []
    for _ in range(count):
        var[chosen] = -np.inf
        i = int(np.argmax(var))
        chosen.append(i)
        cov, var = _condition(cov, var, phi, phi[i], noise)
    return np.asarray(chosen)


def _condition(cov: np.ndarray, var: np.ndarray, phi: np.ndarray, row: np.ndarray,
               noise: float) -> tuple[np.ndarray, np.ndarray]:
    """The head's covariance and every candidate's predictive variance after measuring ``row`` (rank one)."""
    s = cov @ row
    denom = noise + row @ s
    return cov - np.outer(s, s) / denom, var - (phi @ s) ** 2 / denom


def design_pool(predictor: LatencyPredictor, x: torch.Tensor, count: int, *, noise: float = NOISE,
                given: torch.Tensor | None = None) -> np.ndarray:
    """Which ``count`` of the encoded candidate archs ``x`` ``[N, dim]`` to measure (row indices of ``x``).

    ``given`` ``[G, dim]``: encodings of archs measured already (see :func:`design_rows`).
    """
    _, cov, _ = predictor._head_prior()
    center = predictor.feat_mean.double().cpu().numpy()
    with torch.no_grad():
        z = predictor.features(x.double()).cpu().numpy() - center
        g = None if given is None else predictor.features(given.double()).cpu().numpy() - center
    return design_rows(z, cov, count, noise=noise, given=g)


def suggest_archs(predictor: LatencyPredictor, count: int = 10, *, given: Sequence[ArchLike] = (),
                  pool: int = POOL, seed: int = 0, noise: float = NOISE) -> list[str]:
    """Arch strings of the space to measure on a new device before :meth:`LatencyPredictor.adapt`.

    Args:
        predictor: The pretrained predictor that will be adapted (without the target device, if it knows it).
        count: How many archs to measure.
        given: Archs measured already (a first batch): the list adds the ones that tell the head most on top
            of them, and never repeats one of them. Time a first 10, fit, and where the device turns out noisy,
            ask for the next 10 this way.
        pool: Candidates drawn at random (``seed``) from the predictor's reference archs; all of them if fewer.
        seed: Seed of the pool's draw: another seed gives another list of the same quality.
        noise: See :func:`design_rows`.
    """
    n_ref = len(predictor.ref_index)
    if pool < 1:
        raise PredictorError(f"pool must be >= 1, got {pool}")
    rows = np.sort(np.random.default_rng(seed).choice(n_ref, pool, replace=False)) if pool < n_ref else np.arange(n_ref)
    x = predictor._ref_encoding()[torch.as_tensor(rows)]
    x_given = predictor.encode(list(given)) if len(given) else None
    if x_given is not None:
        # Never suggest an arch that was measured already.
        seen = {tuple(r) for r in x_given.round().to(torch.int8).tolist()}
        fresh = np.array([tuple(r) not in seen for r in x.round().to(torch.int8).tolist()])
        rows, x = rows[fresh], x[torch.as_tensor(fresh)]
        if len(rows) < count:
            raise PredictorError(f"only {len(rows)} archs of the pool of {len(fresh)} are not measured yet: ask for "
                                 f"at most {len(rows)}, or enlarge the pool")
    picked = rows[design_pool(predictor, x, count, noise=noise, given=x_given)]
    schema = predictor.schema
    index = predictor.ref_index.long().numpy()
    return [schema.format(ArchSpec(schema.space, {lb: cands[int(i)] for lb, cands, i in
                                                  zip(schema.labels, schema.candidates, index[r])})) for r in picked]
