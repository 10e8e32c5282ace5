"""Magnitude selection: the strongest candidate per decision (DARTS argmax, top-k inputs, PC-DARTS α·β)."""

from __future__ import annotations

from typing import Any

from hwnas.api.archspec import ArchSpec
from hwnas.api.derive import magnitude_arch
from hwnas.api.protocols import SupernetLike
from hwnas.api.registries import SELECTORS
from hwnas.selection.base import SelectorBase


@SELECTORS.register("magnitude")
class MagnitudeSelector(SelectorBase):
    """Argmax of each Choice's probabilities; per InputChoice the inputs whose edges are strongest.

    The strength of an input is its strategy's input weight (PC-DARTS softmax(β), else 1) times
    the best non-zero probability of its edge, so DARTS keeps the two strongest edges per node.

    Example:
        >>> sel = MagnitudeSelector()
        >>> # arch = sel.select(supernet)
    """

    def select(self, supernet: SupernetLike, **context: Any) -> ArchSpec:
        return magnitude_arch(supernet.space, supernet.probabilities(), supernet.input_weights())
