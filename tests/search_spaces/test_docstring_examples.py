"""The ``Example:`` sections of the search-space modules run as written."""

import doctest
import importlib

import pytest

MODULES = ["", ".ops", ".darts_genotypes", ".darts_network", ".darts_space", ".nb201", ".proxyless"]


@pytest.mark.parametrize("suffix", MODULES)
def test_examples(suffix):
    module = importlib.import_module("hwnas.search_spaces" + suffix)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
