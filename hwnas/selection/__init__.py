"""Selection methods: turn a trained supernet into an ArchSpec."""

from hwnas.selection.base import SelectorBase
from hwnas.selection.constrained import ConstrainedSelector
from hwnas.selection.magnitude import MagnitudeSelector
from hwnas.selection.pricing import OneHotView, price_arch, price_terms

__all__ = ["ConstrainedSelector", "MagnitudeSelector", "OneHotView", "SelectorBase", "price_arch", "price_terms"]
