"""The examples in the TPE docstrings run and give the numbers they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["bitweight", "engine", "engines", "lowering", "mac", "names", "paper", "systolic", "tech", "topology"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    mod = importlib.import_module(f"hwnas.latency_models.tpe.{name}")
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0
