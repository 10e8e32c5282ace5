"""The ``Example:`` sections of hwnas.export run as written."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("suffix", ["", ".pt", ".timm", ".onnx"])
def test_examples(suffix):
    module = importlib.import_module("hwnas.export" + suffix)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
