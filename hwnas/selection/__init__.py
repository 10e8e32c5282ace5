"""Selection methods: turn a trained supernet into an ArchSpec."""

from hwnas.selection.base import SelectorBase
from hwnas.selection.magnitude import MagnitudeSelector

__all__ = ["MagnitudeSelector", "SelectorBase"]
