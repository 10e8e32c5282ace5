"""Magnitude selection: the strongest candidate per decision (DARTS argmax, top-k inputs, PC-DARTS α·β)."""

from __future__ import annotations

from hwnas.api.archspec import ArchSpec
from hwnas.api.derive import magnitude_arch
from hwnas.api.protocols import SupernetLike
from hwnas.api.registries import SELECTORS
from hwnas.selection.base import SelectorBase
from hwnas.selection.connected import connected_arch, preference_of
from hwnas.selection.context import SelectionContext


@SELECTORS.register("magnitude")
class MagnitudeSelector(SelectorBase):
    """Argmax of each Choice's probabilities; per InputChoice the inputs whose edges are strongest.

    The strength of an input is its strategy's input weight (PC-DARTS softmax(β), else 1) times
    the best non-zero probability of its edge, so DARTS keeps the two strongest edges per node.
    Masks are respected: a masked candidate or input has weight 0. A degenerate argmax (an output that
    does not depend on the input) is repaired by the least-regret zero-op edits
    (:func:`hwnas.selection.connected.connected_arch`).

    Example:
        >>> sel = MagnitudeSelector()
        >>> # arch = sel.select(supernet)
    """

    def select(self, supernet: SupernetLike, context: SelectionContext | None = None) -> ArchSpec:
        arch = magnitude_arch(supernet.space, supernet.probabilities(), supernet.input_weights())
        return connected_arch(supernet.space, arch, preference_of(supernet), (context or SelectionContext()).input_size)
