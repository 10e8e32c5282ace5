"""The head of an adapted predictor as a Bayesian linear model with a prior learned from the pretraining devices.

A new device's log latency is modelled as ``b + z(x) @ w`` on the standardized log latencies ``z`` of the
pretraining devices (:meth:`LatencyPredictor.features`). Its prior over ``w`` is a mixture:

- **copies** (weight ``1 - p_combo - p_heads``, split evenly): ``w = s * e_k`` for one pretraining device ``k``,
  the scale ``s`` near the devices' typical spread (``tau`` sets how near). A new GPU at another batch size
  or a sibling phone is, up to an affine map in log space, one device already seen;
- **explained like device k** (weight ``p_heads``, split evenly; only when ``heads`` are given): ``w`` is
  exactly the head that explains pretraining device ``k`` by the others (:func:`device_heads`). It times the
  archs as device ``k`` does, but read through the other devices, whose measurement noise averages out,
  where a copy of ``k`` carries ``k``'s own noise into every prediction. A noisy CPU or phone has too few
  samples to find its direction and sits close to one of these (NB201, 10 shots, seeds 0-9: the ratio to
  the bound rose from 0.932 to 0.944 on the development half of the devices and from 0.940 to 0.954 on the
  held-out half; the mean Spearman from 0.9698 to 0.9730);
- **combinations** (weight ``p_combo``): a Gaussian fitted to the heads of all pretraining devices
  (:func:`device_prior`): accelerators and CPUs that no single device matches.

The noise variance is integrated over a log grid, the intercept has a broad prior, any one sample may be an
outlier (:mod:`~hwnas.latency_models.predictor.evidence`), and each mixture component is weighted by its
marginal likelihood of the few measurements. So nothing about the
measured device is tuned by hand: the samples themselves choose between "a copy of device k" and "a
combination", and how much to trust their values. The posterior-mean head is linear in ``z``, so the
adapted predictor stays one differentiable function of the probabilities. The fixed settings
(``p_combo``, ``p_heads``, ``tau``, ``ridge``, ``outlier``) were chosen on a development half of NB201's devices (every
second one, sorted by name); see ``benchmarks/predictor_loo.py``. :func:`bayes_head` also returns the
log evidence, so the adaptation can weigh the head against the tied-cost model on the same footing.

Example:
    >>> import numpy as np
    >>> from hwnas.latency_models.predictor.bayes import device_prior, fit_bayes_head
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(500, 4)) @ rng.normal(size=(4, 6))  # log ms of 6 devices on 500 archs
    >>> z = (f - f.mean(0)) / f.std(0, ddof=1)
    >>> mean, cov = device_prior(f, z)
    >>> w, b = fit_bayes_head(z[:10], 2.0 + 0.5 * z[:10, 3], prior_mean=mean, prior_cov=cov,
    ...                       spread=f.std(0, ddof=1))
    >>> float(np.abs(b + z[10:] @ w - (2.0 + 0.5 * z[10:, 3])).max()) < 0.01
    True
"""

from __future__ import annotations

import numpy as np

from hwnas.latency_models.predictor.evidence import NOISE_GRID, OUTLIER, outlier_subsets

_NOISE_GRID = NOISE_GRID
_INTERCEPT_VAR = 100.0  # broad: the unit of the measurements (ms, µs, mJ) must not matter
_JITTER = 1e-4
P_COMBO = 0.1  # prior weight of the combination component
P_HEADS = 0.6  # prior weight of the "explained like device k" components (0.3-0.8 all within 0.002 on the dev half)


def device_heads(f_ref: np.ndarray, z_ref: np.ndarray, *, ridge: float = 0.01) -> np.ndarray:
    """``[D, D]``: row ``i`` is the ridge head that explains pretraining device ``i`` by the others.

    Args:
        f_ref: ``[R, D]`` log latency of the reference archs on the ``D`` pretraining devices.
        z_ref: ``[R, D]`` the same standardized (the head's features).
        ridge: Ridge penalty per reference arch: keeps the heads of near-duplicate devices (a GPU at
            batch 256 next to its twins) from cancelling large opposite weights.

    Device ``i``'s head has weight 0 on itself, as a new device's head has no column of its own.
    """
    n_ref, n_dev = z_ref.shape
    zc = z_ref - z_ref.mean(0)
    gram = zc.T @ zc
    heads = np.zeros((n_dev, n_dev))
    for i in range(n_dev):
        others = [k for k in range(n_dev) if k != i]
        if not others:
            continue
        rhs = zc[:, others].T @ (f_ref[:, i] - f_ref[:, i].mean())
        heads[i, others] = np.linalg.solve(gram[np.ix_(others, others)] + ridge * n_ref * np.eye(len(others)), rhs)
    return heads


def device_prior(f_ref: np.ndarray, z_ref: np.ndarray, *, ridge: float = 0.01,
                 heads: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and covariance ``[D, D]`` of the heads that explain each pretraining device by the others.

    ``heads`` from :func:`device_heads` (same ``ridge``) saves computing them again.
    """
    heads = device_heads(f_ref, z_ref, ridge=ridge) if heads is None else heads
    n_dev = heads.shape[0]
    cov = np.cov(heads.T) if n_dev >= 2 else np.zeros((n_dev, n_dev))
    return heads.mean(0), np.atleast_2d(cov) + _JITTER * np.eye(n_dev)


def _components(prior_mean: np.ndarray, prior_cov: np.ndarray, spread: float, p_combo: float, tau: float,
                heads: np.ndarray | None = None,
                p_heads: float = 0.0) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """``(mean [D], factor [D, r], log prior weight)`` per mixture component; cov = factor @ factor.T."""
    n_dev = len(prior_mean)
    p_heads = p_heads if heads is not None else 0.0
    if not (0.0 < p_combo and 0.0 <= p_heads and p_combo + p_heads < 1.0):
        raise ValueError(f"prior weights p_combo={p_combo}, p_heads={p_heads}: need p_combo > 0, p_heads >= 0 and "
                         "p_combo + p_heads < 1 (the rest goes to the copies)")
    vals, vecs = np.linalg.eigh(prior_cov)
    out = [(prior_mean, vecs * np.sqrt(np.clip(vals, 0.0, None)), float(np.log(p_combo)))]
    for k in range(n_dev):
        e = np.zeros(n_dev)
        e[k] = 1.0
        out.append((e * spread, (e * tau * spread)[:, None], float(np.log((1.0 - p_combo - p_heads) / n_dev))))
    if p_heads > 0.0:
        # A fixed direction (rank 0): giving it a scale or a spread measured worse on the development half.
        out += [(h, np.zeros((n_dev, 0)), float(np.log(p_heads / n_dev))) for h in heads]
    return out


def _component_posterior(x: np.ndarray, y: np.ndarray, mean: np.ndarray,
                         factor: np.ndarray) -> tuple[float, np.ndarray, float]:
    """Log evidence (noise integrated over the grid), posterior-mean head and intercept of one component.

    Works in the component's weight space (rank r + 1), so a large sample costs O(n r^2), not O(n^3).
    """
    n = len(y)
    r = y - x @ mean
    shift = float(r.mean())
    r = r - shift
    phi = np.c_[np.ones(n), x @ factor]  # [n, p]: intercept and the component's directions
    prior_prec = np.r_[1.0 / _INTERCEPT_VAR, np.ones(factor.shape[1])]
    log_det_prior = float(np.log(_INTERCEPT_VAR))
    ptp, ptr, rtr = phi.T @ phi, phi.T @ r, float(r @ r)
    s2 = _NOISE_GRID[:, None, None]
    a = ptp[None] / s2 + np.diag(prior_prec)[None]  # [G, p, p] posterior precision per noise variance
    chol = np.linalg.cholesky(a)
    theta = np.linalg.solve(a, (ptr[None, :] / s2[:, :, 0])[..., None])[..., 0]  # [G, p]
    fit = np.einsum("gp,gpq,gq->g", theta, a, theta)
    lls = -0.5 * (n * np.log(2 * np.pi * _NOISE_GRID) + log_det_prior
                  + 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(1) + rtr / _NOISE_GRID - fit)
    top = lls.max()
    wts = np.exp(lls - top)
    evidence = float(top + np.log(wts.mean()))  # uniform prior over the log grid
    theta = (wts / wts.sum()) @ theta
    return evidence, mean + factor @ theta[1:], shift + float(theta[0])


def fit_bayes_head(z: np.ndarray, y: np.ndarray, *, prior_mean: np.ndarray, prior_cov: np.ndarray,
                   spread: np.ndarray, center: np.ndarray | None = None, heads: np.ndarray | None = None,
                   p_combo: float = P_COMBO, p_heads: float = P_HEADS, tau: float = 1.0,
                   outlier: float = OUTLIER) -> tuple[np.ndarray, float]:
    """Posterior-mean head ``(w, b)`` with ``log y ≈ b + z @ w`` from a few samples (see :func:`bayes_head`)."""
    w, b, _ = bayes_head(z, y, prior_mean=prior_mean, prior_cov=prior_cov, spread=spread, center=center,
                         heads=heads, p_combo=p_combo, p_heads=p_heads, tau=tau, outlier=outlier)
    return w, b


def bayes_head(z: np.ndarray, y: np.ndarray, *, prior_mean: np.ndarray, prior_cov: np.ndarray,
               spread: np.ndarray, center: np.ndarray | None = None, heads: np.ndarray | None = None,
               p_combo: float = P_COMBO, p_heads: float = P_HEADS, tau: float = 1.0,
               outlier: float = OUTLIER) -> tuple[np.ndarray, float, float]:
    """Posterior-mean head ``(w, b)`` and the log evidence of the samples ``y`` (log ms) under the prior.

    Args:
        z: ``[n, D]`` standardized features of the measured archs.
        y: ``[n]`` their log latencies.
        prior_mean, prior_cov: From :func:`device_prior`.
        spread: ``[D]`` std of each pretraining device's log latency over the reference archs (the scale
            of a copy of one device).
        center: ``[D]`` mean features over the reference archs (the intercept is the value there); default 0.
        heads: ``[D, D]`` from :func:`device_heads`: adds the "explained like device k" components; without
            them the mixture is the combination and the copies only.
        p_combo: Prior weight of the combination component.
        p_heads: Prior weight of the "explained like device k" components (ignored without ``heads``); the
            copies of single devices share the rest.
        tau: Prior std of a copy's scale, relative to the typical spread.
        outlier: Prior probability that a sample is an outlier (at most one is; 0: none).
    """
    center = np.zeros(z.shape[1]) if center is None else center
    x = z - center
    s = float(np.mean(spread))
    logp, ws, bs = [], [], []
    for m, f, lp in _components(prior_mean, prior_cov, s, p_combo, tau, heads, p_heads):
        for rows, lc in outlier_subsets(len(y), outlier):
            ev, w, b = _component_posterior(x[rows], y[rows], m, f)
            logp.append(ev + lp + lc)
            ws.append(w)
            bs.append(b)
    logp_a = np.array(logp)
    top = float(logp_a.max())
    post = np.exp(logp_a - top)
    total = float(post.sum())
    post /= total
    w = post @ np.array(ws)
    b = float(post @ np.array(bs))
    return w, b - float(center @ w), top + float(np.log(total))
