"""The selection interface: a trained supernet in, an ArchSpec out."""

from __future__ import annotations

from abc import ABC, abstractmethod

from hwnas.api.archspec import ArchSpec
from hwnas.api.protocols import SupernetLike
from hwnas.selection.context import SelectionContext


class SelectorBase(ABC):
    """Base of selection methods; ``context`` carries what a method may need (loaders, loss, device...)."""

    @abstractmethod
    def select(self, supernet: SupernetLike, context: SelectionContext | None = None) -> ArchSpec: ...
