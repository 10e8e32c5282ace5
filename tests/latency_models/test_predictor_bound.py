"""The ±10% bound of a measured table, and the 10-shot Bayesian adaptation measured against it (synthetic tables)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwnas.api import ArchSpec
from hwnas.latency_models.predictor.bayes import device_prior, fit_bayes_head
from hwnas.latency_models.predictor.ceiling import (
    best_level_share,
    few_shot_reference,
    own_rows_reference,
    within_bounds,
    within_share,
)
from hwnas.latency_models.predictor.data import LatencyTable
from hwnas.latency_models.predictor.model import LatencyPredictor, pretrain
from hwnas.latency_models.predictor.schema import PredictorError, get_schema
from hwnas.latency_models.predictor.sweep import spearman
from hwnas.latency_models.predictor.tied import stacked_weight


def _noise_table(n: int = 3000) -> LatencyTable:
    """``b`` is exactly 2x ``a``; ``noisy`` is ``a`` times log-normal noise (sd 0.1); ``walk`` drifts along the rows."""
    rng = np.random.default_rng(0)
    index = rng.integers(0, 5, (n, 6))
    a = np.exp(rng.normal(2.0, 0.5, n))
    noisy = a * np.exp(rng.normal(0.0, 0.1, n))
    walk = a * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))
    return LatencyTable("nb201", index, ["a", "b", "noisy", "walk"], np.c_[a, 2 * a, noisy, walk])


def test_bound_of_a_synthetic_table_is_the_known_share():
    bounds = within_bounds(_noise_table())
    assert bounds["b"].bound == 1.0 and bounds["b"].spearman == pytest.approx(1.0)
    # log error ~ N(0, 0.1): within ±10% means -0.1054 <= e <= 0.0953, probability Φ(0.953) - Φ(-1.054) = 0.684
    assert bounds["noisy"].bound == pytest.approx(0.684, abs=0.025)
    assert abs(bounds["noisy"].drift) < 0.1  # independent noise: no drift
    assert bounds["walk"].drift > 0.8  # a random walk along the rows is drift
    assert bounds["noisy"].bound == max(bounds["noisy"].linear, bounds["noisy"].rich)
    assert within_share(np.log([1.0, 1.2]), np.log([1.05, 1.0])) == 0.5


def test_bound_errors_are_clear():
    table = _noise_table(200)
    with pytest.raises(PredictorError, match="folds must be >= 2"):
        within_bounds(table, folds=1)
    with pytest.raises(PredictorError, match="no fully measured column for pixel9"):
        within_bounds(table, devices=["pixel9"])
    one = LatencyTable("nb201", table.index, ["a"], table.latency_ms[:, :1])
    with pytest.raises(PredictorError, match="at least 2 fully measured devices"):
        within_bounds(one)


def test_few_shot_reference_pays_for_a_level_read_off_the_samples():
    table = _noise_table()
    ref = few_shot_reference(table, shots=10, seeds=200, devices=["b", "noisy"], level="mean")
    assert ref["b"] == 1.0  # an exact copy: any level from exact samples is exact
    # log error ~ N(0, 0.1) and the level's error ~ N(0, 0.1^2 / 10): the sum has sd 0.1 * sqrt(1.1) = 0.1049,
    # so the share is Φ(0.0953 / 0.1049) - Φ(-0.1054 / 0.1049) = 0.661, below the bound's 0.684
    assert ref["noisy"] == pytest.approx(0.661, abs=0.01)
    # Gaussian noise: the maximum-likelihood shift is the mean, so knowing the shape adds nothing
    shape = few_shot_reference(table, shots=10, seeds=200, devices=["b", "noisy"])
    assert shape["b"] == 1.0 and shape["noisy"] == pytest.approx(0.661, abs=0.01)
    with pytest.raises(PredictorError, match="leaves no row to score"):
        few_shot_reference(table, shots=len(table.index))
    with pytest.raises(PredictorError, match="shots and seeds must be >= 1"):
        few_shot_reference(table, seeds=0)
    with pytest.raises(PredictorError, match="bounds has no entry for noisy"):
        few_shot_reference(table, devices=["noisy"], bounds={})
    with pytest.raises(PredictorError, match="unknown level 'median'; levels: shape, mean"):
        few_shot_reference(table, level="median")


def test_few_shot_reference_reads_the_level_of_a_two_state_device_by_its_shape():
    """70% of rows 6% fast, 30% 15% slow (a CPU switching clock states): the mean of 10 lands between the modes."""
    rng = np.random.default_rng(0)
    n = 3000
    a = np.exp(rng.normal(2.0, 0.5, n))
    state = np.where(rng.random(n) < 0.3, 0.14, -0.06)  # log ms; mean 0 over the states
    table = LatencyTable("nb201", rng.integers(0, 5, (n, 6)), ["a", "two"],
                         np.c_[a, a * np.exp(state + rng.normal(0.0, 0.01, n))])
    bound = within_bounds(table)["two"].bound
    assert bound == pytest.approx(0.72, abs=0.02)  # the fast state is within ±10% of the mean level, the slow not
    shape = few_shot_reference(table, seeds=200, devices=["two"])["two"]
    mean = few_shot_reference(table, seeds=200, devices=["two"], level="mean")["two"]
    # 10 samples hold k ~ Bin(10, 0.3) slow ones; their mean is 0.2 (k/10 - 0.3) off and loses the fast rows
    # when k >= 5 (15% of draws). The density's shift is found whatever k is.
    assert shape == pytest.approx(bound, abs=0.005)
    assert mean < bound - 0.03


def test_best_level_share_is_the_best_constant_shift():
    rng = np.random.default_rng(0)
    shifts = np.arange(-0.6, 0.6, 1e-4)
    for _ in range(5):
        lp = rng.normal(size=60)
        lt = lp + rng.normal(0.0, 0.12, 60) + rng.normal()
        got = best_level_share(lp, lt)
        brute = max(within_share(lp + (lt - lp).mean() + s, lt) for s in shifts)
        assert got == pytest.approx(brute)
        assert got >= within_share(lp, lt)
    # a constant factor in ms is only a level: every row fits once it is removed
    assert best_level_share(np.log([1.0, 2.0, 4.0]), np.log([1.5, 3.0, 6.0])) == 1.0
    # ratios 1.0 and 1.25: one window of ±10% (0.9-1.1 of the level) cannot hold both
    assert best_level_share(np.zeros(2), np.log([1.0, 1.25])) == 0.5
    with pytest.raises(PredictorError, match="at least one row"):
        best_level_share(np.zeros(0), np.zeros(0))


def test_own_rows_reference_needs_rows_to_find_a_direction():
    table = _noise_table()
    ref = own_rows_reference(table, rows=(5, 400), seeds=3, devices=["b", "noisy"])
    # 2x a: exact from 400 rows; from 5 nearly (the ridge shrinks a's weight and lends some to its noisy copies)
    assert ref["b"][1] == 1.0 and ref["b"][0] > 0.99
    bound = within_bounds(table, devices=["noisy"])["noisy"].bound
    # 400 rows estimate 4 weights well: the share is the noise's own (0.684) within sampling error
    assert ref["noisy"][1] == pytest.approx(bound, abs=0.02)
    # 5 rows for an intercept and 3 weights under sd-0.1 noise: the fit's own error costs share
    assert ref["noisy"][0] < ref["noisy"][1] - 0.02
    with pytest.raises(PredictorError, match=r"rows must lie in 2 \.\. 2999"):
        own_rows_reference(table, rows=(3000,))
    with pytest.raises(PredictorError, match="no fully measured column for pixel9"):
        own_rows_reference(table, devices=["pixel9"])
    with pytest.raises(PredictorError, match="seeds must be >= 1"):
        own_rows_reference(table, seeds=0)


def _device_table(n: int = 2000) -> LatencyTable:
    """Eight devices from three families of per-op costs (ms additive), 3% log-normal noise, plus two targets.

    ``copy`` is 1.6x the family-1 device ``f1_0`` (a sibling at another clock); ``combo`` the geometric mean
    of ``f0_0`` and ``f2_0`` (like nothing seen alone). Both have their own 3% noise.
    """
    rng = np.random.default_rng(1)
    index = rng.integers(0, 5, (n, 6))
    one_hot = np.zeros((n, 30))
    one_hot[np.arange(n)[:, None], index + 5 * np.arange(6)] = 1.0
    families = [np.exp(rng.normal(0.0, 1.2, 30)) for _ in range(3)]
    names, clean = [], []
    for f, costs in enumerate(families):
        for k in range(3 if f < 2 else 2):
            names.append(f"f{f}_{k}")
            clean.append(rng.uniform(0.5, 3.0) * (1.0 + one_hot @ (costs * rng.uniform(0.9, 1.1, 30))))
    clean = np.stack(clean, 1)
    copy = 1.6 * clean[:, names.index("f1_0")]
    combo = np.sqrt(clean[:, names.index("f0_0")] * clean[:, names.index("f2_0")])
    lat = np.c_[clean, copy, combo] * np.exp(rng.normal(0.0, 0.03, (n, len(names) + 2)))
    return LatencyTable("nb201", index, [*names, "copy", "combo"], lat)


def _strings(table: LatencyTable, rows: np.ndarray) -> list[str]:
    schema = get_schema("nb201")
    return [schema.format(ArchSpec("nb201", {lb: c[int(i)] for lb, c, i in zip(schema.labels, schema.candidates, r)}))
            for r in table.index[rows]]


@pytest.mark.parametrize("target", ["copy", "combo"])
def test_ten_shots_reach_the_goals_on_an_unseen_device(target):
    """HELP's setting on a table where it is reachable: Spearman >= 0.97, share >= 95% of the device's bound."""
    table = _device_table()
    bound = within_bounds(table, devices=[target])[target].bound
    base = pretrain("nb201", table.drop(target).drop("copy" if target == "combo" else "combo"), trunk="additive")
    truth = table.column(target)
    scores = {}
    for method in ("bayes", "pca"):
        rhos, shares = [], []
        for seed in range(3):
            shots = np.random.default_rng(seed).choice(len(truth), 10, replace=False)
            rest = np.setdiff1d(np.arange(len(truth)), shots)
            pred = LatencyPredictor(base.schema, base.trunk, base.devices, base.ref_index).calibrate()
            pred.adapt(_strings(table, shots), truth[shots], name=target, method=method)
            assert pred.meta["adapt_method"] == method
            with torch.no_grad():
                got = pred.predict(_strings(table, rest)).double().numpy()
            rhos.append(spearman(got, truth[rest]))
            shares.append(within_share(np.log(got), np.log(truth[rest])))
        scores[method] = (float(np.mean(rhos)), float(np.mean(shares)) / bound)
    rho, ratio = scores["bayes"]
    assert bound > 0.99
    assert rho >= 0.97 and ratio >= 0.95, scores  # measured: copy 0.993 / 0.997, combo 0.991 / 0.989
    assert ratio > scores["pca"][1], scores  # the earlier head: copy 0.976, combo 0.62 of the bound


def test_bayes_head_copies_a_device_from_ten_exact_samples():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(400, 5)) @ rng.normal(size=(5, 7))
    z = (f - f.mean(0)) / f.std(0, ddof=1)
    mean, cov = device_prior(f, z)
    assert mean.shape == (7,) and cov.shape == (7, 7) and np.all(np.linalg.eigvalsh(cov) > 0)
    y = 1.0 + 0.7 * z[:, 2]
    w, b = fit_bayes_head(z[:10], y[:10], prior_mean=mean, prior_cov=cov, spread=f.std(0, ddof=1))
    assert np.abs(b + z @ w - y).max() < 0.01
    assert w[2] == pytest.approx(0.7, abs=0.01)


def test_stacked_weight_and_unknown_method():
    y = np.array([10.0, 20.0, 30.0])
    assert stacked_weight(y * 1.2, y * 0.8, y) == 0.5
    assert stacked_weight(y, y * 2, y) == 0.0
    assert stacked_weight(y * 3, y, y) == 1.0
    pred = LatencyPredictor.load("fbnet").without_device("raspi4")
    with pytest.raises(PredictorError, match="unknown adapt method 'ridge'; methods: bayes, pca"):
        pred.adapt(["-".join(["skip"] * 22)], [5.0], method="ridge")
