"""The marginal-likelihood pieces of the 10-shot adaptation: outlier-robust head, tied model judged by evidence."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.latency_models.predictor.bayes import bayes_head, device_heads, device_prior, fit_bayes_head
from hwnas.latency_models.predictor.evidence import gaussian_evidence, outlier_subsets
from hwnas.latency_models.predictor.tied import evidence_weight, tied_evidence
from tests.latency_models._synthetic import latent_devices

_COSTS = np.array([0.0, 0.2, 0.9, 2.3, 0.6])


def _devices(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Log ms of 7 pretraining devices on 400 archs, standardized, and the head prior learned from them."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(400, 5)) @ rng.normal(size=(5, 7))
    z = (f - f.mean(0)) / f.std(0, ddof=1)
    mean, cov = device_prior(f, z)
    return f, z, mean, cov


def test_one_far_off_sample_no_longer_moves_the_head():
    f, z, mean, cov = _devices()
    y = 1.0 + 0.7 * z[:, 2] + np.random.default_rng(0).normal(0.0, 0.02, 400)
    shots = y[:10].copy()
    shots[3] += 1.0  # a background task tripled one measurement
    kw = {"prior_mean": mean, "prior_cov": cov, "spread": f.std(0, ddof=1)}
    errs = {}
    for outlier in (0.0, 0.1):
        w, b, ev = bayes_head(z[:10], shots, outlier=outlier, **kw)
        errs[outlier] = (float(np.abs(b + z[10:] @ w - y[10:]).max()), ev)
    assert errs[0.0][0] > 0.4 and errs[0.1][0] < 0.08, errs  # measured 0.437 / 0.070 (log ms)
    assert errs[0.1][1] > errs[0.0][1] + 15, errs  # the evidence says so too: 3.1 against -13.4
    # clean samples: the outlier configurations change next to nothing
    w0, b0 = fit_bayes_head(z[:10], y[:10], outlier=0.0, **kw)
    w1, b1 = fit_bayes_head(z[:10], y[:10], **kw)
    assert np.abs((b1 + z @ w1) - (b0 + z @ w0)).max() < 0.01


def test_tied_model_and_head_are_judged_by_the_same_evidence():
    f, z, mean, cov = _devices()
    rng = np.random.default_rng(5)
    counts = rng.multinomial(6, np.full(5, 0.2), size=400).astype(float)  # six edges, five op names
    kw = {"prior_mean": mean, "prior_cov": cov, "spread": f.std(0, ddof=1)}
    # a cycle model: additive in ms over op names -> the tied model wins and is exact
    ms = 1.5 + counts @ _COSTS
    w, b, ev_tied = tied_evidence(counts[:10], ms[:10])
    ev_head = bayes_head(z[:10], np.log(ms[:10]), **kw)[2]
    assert evidence_weight(ev_head, ev_tied) > 0.999
    assert np.abs((b + counts @ w) / ms - 1).max() < 1e-3
    # a copy of a pretraining device at another clock: the head wins, the tied model gets no weight
    log_ms = 2.0 + 0.5 * z[:, 4]
    ev_tied = tied_evidence(counts[:10], np.exp(log_ms[:10]))[2]
    ev_head = bayes_head(z[:10], log_ms[:10], **kw)[2]
    assert evidence_weight(ev_head, ev_tied) < 1e-3
    # the unit does not matter: the same latencies in µs have the same evidence (of log latency, up to its shift)
    assert tied_evidence(counts[:10], 1000 * ms[:10])[2] == pytest.approx(tied_evidence(counts[:10], ms[:10])[2])
    assert evidence_weight(0.0, 0.0, prior=0.1) == pytest.approx(0.1)
    assert evidence_weight(0.0, float(np.log(9.0)), prior=0.1) == pytest.approx(0.5)


def test_evidence_helpers():
    assert [len(r) for r, _ in outlier_subsets(4, 0.1)] == [4, 3, 3, 3, 3]
    assert outlier_subsets(4, 0.0)[0][1] == 0.0 and len(outlier_subsets(2, 0.1)) == 1
    lp = [p for _, p in outlier_subsets(4, 0.1)]
    assert lp[0] == pytest.approx(4 * np.log(0.9)) and lp[1] == pytest.approx(np.log(0.1) + 3 * np.log(0.9) - np.log(4))
    # one observation, one weight with prior N(0, 1), noise on a one-point grid: the textbook evidence N(t; 0, 1 + s2)
    ev, theta = gaussian_evidence(np.ones((1, 1)), np.array([2.0]), np.zeros(1), np.ones(1), grid=np.array([0.5]))
    assert ev == pytest.approx(-0.5 * np.log(2 * np.pi * 1.5) - 4.0 / 3.0)
    assert theta[0] == pytest.approx(2.0 / 1.5)


def test_explained_like_a_device_beats_copying_its_noise():
    # 8 pretraining devices time archs through 3 latent costs, each with its own measurement noise; the new
    # device times them as device 5 does, with noise of its own. A copy of device 5 carries device 5's noise
    # into every prediction; device 5's head explained by the others averages it out.
    errs = []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        d = latent_devices(rng, 400, 0.15)
        truth = 2.0 + d.lat @ d.a[:, 5]
        y = truth + rng.normal(0.0, 0.15, 400)
        kw = {"prior_mean": d.mean, "prior_cov": d.cov, "spread": d.f.std(0, ddof=1)}
        row = []
        for h in (None, d.heads):
            w, b, _ = bayes_head(d.z[:10], y[:10], heads=h, **kw)
            row.append(float(np.sqrt(np.mean((b + d.z[10:] @ w - truth[10:]) ** 2))))
        errs.append(row)
    without, with_heads = np.mean(errs, 0)
    assert with_heads < 0.8 * without and with_heads < 0.15, errs  # measured 0.124 against 0.175 (log ms, rms)
    assert np.allclose(np.diag(d.heads), 0.0) and d.heads.shape == (8, 8)


def test_prior_weights_are_checked():
    f, z, mean, cov = _devices()
    kw = {"prior_mean": mean, "prior_cov": cov, "spread": f.std(0, ddof=1), "heads": device_heads(f, z)}
    with pytest.raises(ValueError, match="p_combo \\+ p_heads < 1"):
        bayes_head(z[:10], z[:10, 2], p_combo=0.5, p_heads=0.6, **kw)
