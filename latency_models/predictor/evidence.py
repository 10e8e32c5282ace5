"""Marginal likelihood pieces shared by the adapted head (``bayes``) and the tied-cost model (``tied``).

Both models are judged by the same evidence: a Gaussian linear model whose noise variance is integrated
over one log grid, and whose samples may each be an **outlier** with a small prior probability. At 10 shots
of a phone one sample in a few draws is far off (a background task, a thermal step: pixel3's and raspi4's
tables hold rows 0.3 and more in log ms from any smooth fit); a Gaussian likelihood lets that one sample
move the whole head. Enumerating "no outlier" and "sample i is the outlier" (at most one: with 10 samples
two are rare, and the count stays linear) costs n + 1 fits and lets the samples say which they are.

Example:
    >>> import numpy as np
    >>> from hwnas.latency_models.predictor.evidence import gaussian_evidence, outlier_subsets
    >>> phi = np.c_[np.ones(8), np.arange(8.0)]
    >>> t = 1.0 + 0.5 * np.arange(8.0)
    >>> ev, theta = gaussian_evidence(phi, t, np.zeros(2), np.full(2, 10.0))
    >>> [round(float(v), 3) for v in theta]
    [1.0, 0.5]
    >>> [len(rows) for rows, _ in outlier_subsets(3, 0.1)]
    [3, 2, 2, 2]
"""

from __future__ import annotations

import numpy as np

NOISE_GRID = np.exp(np.linspace(np.log(1e-5), np.log(1.0), 31))  # noise variance in (log ms)^2
OUTLIER = 0.1  # prior probability that one sample is an outlier (chosen on NB201's development devices)
OUTLIER_WIDTH = 4.0  # an outlier's log ms is uniform over a range this wide (a factor of e^4 ~ 55)


def outlier_subsets(n: int, outlier: float, width: float = OUTLIER_WIDTH) -> list[tuple[np.ndarray, float]]:
    """``(kept rows, log prior)`` for "no outlier" and, if ``outlier > 0``, "sample i is the only outlier".

    The log prior of a configuration includes the outlier's own density (``-log width``), so the evidence of
    the kept rows plus it is the evidence of all ``n`` samples under that configuration.
    """
    if outlier <= 0.0 or n < 3:
        return [(np.arange(n), 0.0)]
    none = n * float(np.log1p(-outlier))
    one = float(np.log(outlier)) + (n - 1) * float(np.log1p(-outlier)) - float(np.log(width))
    return [(np.arange(n), none)] + [(np.flatnonzero(np.arange(n) != i), one) for i in range(n)]


def gaussian_evidence(phi: np.ndarray, t: np.ndarray, mean: np.ndarray, var: np.ndarray,
                      grid: np.ndarray = NOISE_GRID) -> tuple[float, np.ndarray]:
    """Log evidence and posterior mean of ``t = phi @ theta + e``, ``theta ~ N(mean, diag(var))``.

    The noise ``e ~ N(0, s2 I)`` has ``s2`` uniform over the log ``grid``; the posterior mean is averaged over
    the grid with its evidence weights.
    """
    n = len(t)
    r = t - phi @ mean
    ptp, ptr, rtr = phi.T @ phi, phi.T @ r, float(r @ r)
    s2 = grid[:, None, None]
    a = ptp[None] / s2 + np.diag(1.0 / var)[None]
    chol = np.linalg.cholesky(a)
    theta = np.linalg.solve(a, (ptr[None, :] / s2[:, :, 0])[..., None])[..., 0]
    fit = np.einsum("gp,gpq,gq->g", theta, a, theta)
    lls = -0.5 * (n * np.log(2 * np.pi * grid) + float(np.log(var).sum())
                  + 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(1) + rtr / grid - fit)
    top = lls.max()
    wts = np.exp(lls - top)
    return float(top + np.log(wts.mean())), mean + (wts / wts.sum()) @ theta
