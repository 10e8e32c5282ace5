"""Selection methods: turn a trained supernet into an ArchSpec."""

from hwnas.selection.base import SelectorBase
from hwnas.selection.constrained import ConstrainedSelector
from hwnas.selection.context import SelectionContext
from hwnas.selection.magnitude import MagnitudeSelector
from hwnas.selection.measure import Measurement, bn_stats_restored, measure
from hwnas.selection.perturbation import PerturbationSelector
from hwnas.selection.pricing import OneHotView, price_arch, price_terms

__all__ = [
    "ConstrainedSelector", "MagnitudeSelector", "Measurement", "OneHotView", "PerturbationSelector", "SelectionContext",
    "SelectorBase", "bn_stats_restored", "measure", "price_arch", "price_terms",
]
