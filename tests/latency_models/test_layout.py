"""The layout of hwnas.latency_models: sub-packages, one registration style, one cost-model contract."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import sys
import warnings
from pathlib import Path

import pytest

import hwnas.latency_models as lm
from hwnas.api import COST_MODELS, CostModel, Registry, cost_model

SUBPACKAGES = ("hwspace", "lut", "predictor", "targets")  # tpe has its own doctest test
MODULES = [f"hwnas.latency_models.{pkg}.{m.name}" for pkg in SUBPACKAGES
           for m in pkgutil.iter_modules([str(Path(lm.__file__).parent / pkg)]) if not m.name.startswith("_")]


def test_top_level_is_sub_packages_only():
    root = Path(lm.__file__).parent
    modules = sorted(p.name for p in root.glob("*.py"))
    packages = sorted(p.parent.name for p in root.glob("*/__init__.py"))
    assert modules == ["__init__.py", "_moved.py"]
    assert packages == ["hwspace", "lut", "predictor", "targets", "tpe"]


@pytest.mark.parametrize("name", [*MODULES, *(f"hwnas.latency_models.{p}" for p in SUBPACKAGES),
                                  "hwnas.latency_models._moved", "hwnas.api.registries", "hwnas.api.protocols"])
def test_docstring_examples(name):
    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0
    if name.rsplit(".", 1)[-1] not in ("data", "trunks"):  # table readers and trunk internals: no entry points
        assert res.attempted > 0, f"{name} has no runnable example"


def test_every_registered_kind_follows_the_contract():
    kinds = set(COST_MODELS.names())
    assert {"tpe", "lut", "measured", "nb201", "fbnet", "predictor", "cosearch"} <= kinds
    for kind in kinds:
        model = COST_MODELS.get(kind)
        assert isinstance(model, CostModel), kind
        assert model.kind == kind and model.metrics
        assert model.form == kind or model.form.startswith(f"{kind}:")  # cosearch takes no argument


def test_registration_where_defined_fails_loudly_on_a_second_class():
    reg = Registry("cost model")

    @cost_model("x", registry=reg)
    class A:
        def __init__(self, kind):
            self.kind = kind

    with pytest.raises(KeyError, match="'x' is already registered"):
        @cost_model("x", registry=reg)
        class B(A):
            pass

    assert type(reg.get("x")) is A


@pytest.mark.parametrize("old, new, name", [
    ("predictor_schema", "predictor.schema", "get_schema"),
    ("predictor_sweep", "predictor.sweep", "fit_sweep"),
    ("predictor_data", "predictor.data", "LatencyTable"),
    ("predictor_additive", "predictor.additive", "AdditivePredictor"),
    ("predictor_cost", "targets.predictors", "PredictorCost"),
])
def test_old_paths_that_tests_used_still_import(old, new, name, monkeypatch):
    monkeypatch.delitem(sys.modules, f"hwnas.latency_models.{old}", raising=False)  # an earlier import warned already
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mod = importlib.import_module(f"hwnas.latency_models.{old}")
    assert mod is importlib.import_module(f"hwnas.latency_models.{new}")
    assert getattr(mod, name) is getattr(importlib.import_module(f"hwnas.latency_models.{new}"), name)
    assert [w.category for w in caught] == [DeprecationWarning]
    assert f"hwnas.latency_models.{old} moved to hwnas.latency_models.{new}" in str(caught[0].message)


def test_old_targets_dict_and_package_level_names():
    from hwnas.latency_models.predictor import LatencyPredictor
    from hwnas.latency_models.predictor_cost import TARGETS

    assert sorted(TARGETS) == ["fbnet", "nb201", "predictor"] and TARGETS["nb201"] is COST_MODELS.get("nb201")
    assert lm.LatencyPredictor is LatencyPredictor and lm.LatencyLUT.__module__ == "hwnas.latency_models.lut.table"


def test_unknown_old_path_is_a_plain_import_error():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("hwnas.latency_models.hardware_targets")
