"""Old flat module paths of ``hwnas.latency_models`` that the tests and examples used, kept importable.

``latency_models/`` was flat until it got sub-packages (``tpe``, ``lut``, ``predictor``, ``targets``). Code written
against the old paths keeps working: importing one gives the new module itself (the same objects, no copy)
and a DeprecationWarning naming the new path. Paths nobody used outside the package were just moved.

Example:
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     warnings.simplefilter("always")
    ...     from hwnas.latency_models.predictor_schema import get_schema
    >>> get_schema.__module__
    'hwnas.latency_models.predictor.schema'
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

_PKG = "hwnas.latency_models"

#: old module -> new module
MOVED = {
    f"{_PKG}.predictor_additive": f"{_PKG}.predictor.additive",
    f"{_PKG}.predictor_cost": f"{_PKG}.targets.predictors",
    f"{_PKG}.predictor_data": f"{_PKG}.predictor.data",
    f"{_PKG}.predictor_schema": f"{_PKG}.predictor.schema",
    f"{_PKG}.predictor_sweep": f"{_PKG}.predictor.sweep",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(f"{spec.name} moved to {self.new}; import it from there", DeprecationWarning, stacklevel=2)
        return importlib.import_module(self.new)

    def exec_module(self, module: ModuleType) -> None:
        pass  # the new module is already executed; the import system records it under the old name too


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> Any:
        new = MOVED.get(fullname)
        return importlib.util.spec_from_loader(fullname, _Alias(new)) if new else None


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
