"""Predictors for any space from a sweep: sampling, trunk choice by held-out error, the sweep/train CLI, the target."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from torch import nn

from hwnas.api import COST_MODELS, SUPERNETS, Choice, UserError
from hwnas.cli import main
from hwnas.latency_models.predictor.model import LatencyPredictor
from hwnas.latency_models.predictor.schema import PredictorError
from hwnas.latency_models.predictor.sweep import fit_sweep, sample_archs
from hwnas.search_spaces import DartsSpace, NB201Space

COST = {"none": 0.0, "skip_connect": 0.1, "nor_conv_1x1": 0.5, "nor_conv_3x3": 1.2, "avg_pool_3x3": 0.3}


def _additive(archs):
    return [1.0 + sum(COST[o] * (1 + 0.1 * k) for k, o in enumerate(a.choices.values())) for a in archs]


def test_sample_archs_are_distinct_and_stop_at_the_space_size():
    archs = sample_archs(NB201Space(C=4, N=1), 50, seed=0)
    assert len(archs) == len({a.archid for a in archs}) == 50
    assert [a.archid for a in sample_archs(NB201Space(C=4, N=1), 50, seed=0)] == [a.archid for a in archs]
    tiny = nn.Sequential(Choice(["skip_connect", "nor_conv_3x3"], label="op", c_in=4, c_out=4))
    assert sorted(a.choices["op"] for a in sample_archs(tiny, 10)) == ["nor_conv_3x3", "skip_connect"]


def test_additive_sweep_is_fitted_exactly_and_auto_prefers_the_additive_trunk():
    space = NB201Space(C=4, N=1)
    archs = sample_archs(space, 60, seed=1)
    y = _additive(archs)
    fit = fit_sweep(space, archs, y, metric="energy_mj")
    assert fit.trunk == "additive" and set(fit.tried) == {"additive", "mlp"}
    assert fit.tried["additive"]["log_mse"] < 1e-8 < fit.tried["mlp"]["log_mse"]
    assert fit.holdout_n == 12 and fit.holdout_within10 == 1.0
    fresh = sample_archs(space, 200, seed=2)
    with torch.no_grad():
        got = fit.predictor.predict(fresh).double().numpy()
    np.testing.assert_allclose(got, _additive(fresh), rtol=1e-4)
    assert fit.predictor.metric == "energy_mj" and fit.predictor.meta["sweep"]["pairs"] == 60


def test_interactions_choose_the_mlp_trunk():
    space = NB201Space(C=4, N=1)
    archs = sample_archs(space, 300, seed=3)
    # one decision slows every other op down (a cache effect, say): no sum over edges fits that
    y = [(1.0 + sum(COST[o] for o in a.choices.values())) * (2.0 if a.choices["1<-0"] == "nor_conv_3x3" else 1.0)
         for a in archs]
    fit = fit_sweep(space, archs, y)
    assert fit.trunk == "mlp" and fit.tried["mlp"]["log_mse"] < 0.5 * fit.tried["additive"]["log_mse"]
    assert fit.holdout_within10 > max(0.85, fit.tried["additive"]["within10"])


def test_bad_sweeps_raise_clear_errors():
    space = NB201Space(C=4, N=1)
    archs = sample_archs(space, 12)
    with pytest.raises(PredictorError, match="unknown trunk 'tree'; trunks: auto, additive, mlp"):
        fit_sweep(space, archs, _additive(archs), trunk="tree")
    with pytest.raises(PredictorError, match="12 architectures but 11 values"):
        fit_sweep(space, archs, _additive(archs)[:11])
    with pytest.raises(PredictorError, match="finite and > 0"):
        fit_sweep(space, archs, [0.0] + _additive(archs)[1:])
    with pytest.raises(PredictorError, match="single Choices"):
        fit_sweep(DartsSpace(C=4, layers=3), sample_archs(DartsSpace(C=4, layers=3), 3), [1.0, 2.0, 3.0])


def test_sweep_cli_prices_on_a_tpe_target_and_the_file_is_a_search_target(tmp_path, capsys):
    out, pairs = tmp_path / "p.pt", tmp_path / "pairs.csv"
    kw = "{C: 4, N: 1}"
    assert main(["predictor", "sweep", "--space", "nb201", "--space-kwargs", kw, "--target",
                 "tpe:systolic-8x8-ws-int8", "--samples", "40", "--metric", "energy_mj", "--trunk", "additive",
                 "--out", str(out), "--csv", str(pairs)]) == 0
    msg = capsys.readouterr().out
    assert "energy_mj" in msg and "additive trunk" in msg and "held-out 8" in msg
    with pairs.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 40 and set(rows[0]) == {"arch", "energy_mj"}
    pred = LatencyPredictor.load(out)
    assert pred.target == "tpe:systolic-8x8-ws-int8" and pred.metric == "energy_mj"
    # the sweep's values are what the TPE target reports for each frozen network
    with torch.no_grad():
        got = pred.predict([r["arch"] for r in rows]).double().numpy()
    np.testing.assert_allclose(got, [float(r["energy_mj"]) for r in rows], rtol=1e-3)

    # train from the written pairs gives the same predictor
    out2 = tmp_path / "p2.pt"
    assert main(["predictor", "train", "--space", "nb201", "--space-kwargs", kw, "--train", str(pairs),
                 "--metric", "energy_mj", "--trunk", "additive", "--out", str(out2)]) == 0
    s = [r["arch"] for r in rows[:5]]
    torch.testing.assert_close(LatencyPredictor.load(out2).predict(s), pred.predict(s))

    # as a search target: differentiable in α, in the predictor's metric, and the wrong metric is refused
    supernet = SUPERNETS.get("darts")(NB201Space(C=4, N=1))
    factory = COST_MODELS.get("predictor")
    cost_fn = factory(f"predictor:{out}", metric="energy_mj", supernet=supernet)
    cost, details = cost_fn(supernet)
    cost.backward()
    assert details["energy_mj"] > 0 and supernet.alpha_of("1<-0").grad.abs().sum() > 0
    with pytest.raises(UserError, match="predicts energy_mj only, not 'latency_ms'"):
        factory(f"predictor:{out}", metric="latency_ms", supernet=supernet)


@pytest.mark.parametrize(("argv", "message"), [
    (["--space", "darts", "--space-kwargs", "{C: 4, layers: 3}", "--target", "tpe:systolic-8x8-ws-int8"],
     "input choices"),
    (["--space", "nb201", "--space-kwargs", "{C: 4, N: 1}", "--target", "tpe:systolic-8x8-ws-int8",
      "--metric", "watts"], "no positive 'watts'"),
    (["--space", "nb201", "--space-kwargs", "{C: 4, N: 1, colour: red}", "--target", "tpe:systolic-8x8-ws-int8"],
     "colour"),
    (["--space", "nb201", "--space-kwargs", "{C: 4, N: 1}", "--target", "tpe:systolic-8x8-ws-int8",
      "--samples", "1"], "--samples must be >= 2"),
])
def test_sweep_cli_errors_are_one_line(tmp_path, capsys, argv, message):
    assert main(["predictor", "sweep", *argv, "--out", str(tmp_path / "p.pt")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "p.pt").exists()


def test_train_cli_names_the_bad_row(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("arch,latency_ms\n|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|,-1\n")
    assert main(["predictor", "train", "--space", "nb201", "--train", str(bad), "--out", str(tmp_path / "p.pt")]) == 2
    assert "bad.csv:2: latency_ms must be a positive number" in capsys.readouterr().err
