"""The decision graph of a space: its decisions, their candidates, and which InputChoice input each Choice feeds.

Selection, pricing, freezing and drawing all need the same facts about a space's decisions; this is
the one place that derives them. A Choice *feeds* an InputChoice input when its label is named in
that InputChoice's ``sources`` (DARTS: edge ``normal/n3_e1`` feeds input 1 of node ``normal/n3``).
A fed Choice whose input is not kept is absent from the frozen network, and a fed Choice never picks
a zero op (an edge that is kept carries something).

Example:
    >>> from torch import nn
    >>> from hwnas.api import Choice, InputChoice
    >>> class Node(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.e0 = Choice(["none", "skip_connect"], label="e0", c_in=4, c_out=4)
    ...         self.e1 = Choice(["none", "skip_connect"], label="e1", c_in=4, c_out=4)
    ...         self.pick = InputChoice(n_candidates=2, n_chosen=1, label="n", sources=["e0", "e1"])
    >>> g = DecisionGraph.of(Node())
    >>> g.feeds["e1"], g.selectable("e1")
    ((InputSlot(input_choice='n', index=1),), ('skip_connect',))
    >>> sorted(g.kept_labels({"n": (1,), "e1": "skip_connect"}))
    ['e1']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from hwnas.api.archspec import ArchSpecError
from hwnas.api.choice import ZERO_OPS, InputChoice, collect_decisions


@dataclass(frozen=True)
class InputSlot:
    """Input ``index`` of the InputChoice labelled ``input_choice``."""

    input_choice: str
    index: int


@dataclass(frozen=True)
class InputDecision:
    """An InputChoice label: keep ``n_chosen`` of ``n_candidates`` inputs; ``sources[i]`` feeds input ``i``."""

    label: str
    n_candidates: int
    n_chosen: int
    sources: tuple[str, ...] | None = None


def label_group(label: str) -> str:
    """The group of a label: what precedes its last ``/`` (``normal/n2_e0`` -> ``normal``), else ``""``.

    Cell spaces name their labels per cell type, so a group is a cell type; selection makes one
    decision per group and round, as DARTS-PT projects a normal and a reduction edge per round.
    """
    return label.rsplit("/", 1)[0] if "/" in label else ""


class DecisionGraph:
    """Every decision of a space, in network order: Choices (op decisions) and InputChoices (topology).

    Args:
        choices: Choice label -> candidate names.
        inputs: InputChoice label -> :class:`InputDecision`.
    """

    def __init__(self, choices: Mapping[str, tuple[str, ...]], inputs: Mapping[str, InputDecision]) -> None:
        self.choices: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in choices.items()}
        self.inputs: dict[str, InputDecision] = dict(inputs)
        feeds: dict[str, list[InputSlot]] = {}
        for ic in self.inputs.values():
            for i, src in enumerate(ic.sources or ()):
                if src not in self.choices:
                    raise ValueError(f"InputChoice {ic.label!r} names source {src!r}, which is no Choice label")
                feeds.setdefault(src, []).append(InputSlot(ic.label, i))
        #: Choice label -> the InputChoice inputs it feeds (absent when it feeds none).
        self.feeds: dict[str, tuple[InputSlot, ...]] = {k: tuple(v) for k, v in feeds.items()}

    @classmethod
    def of(cls, module: nn.Module) -> DecisionGraph:
        """The graph of a space (or of a supernet's ``space``: relaxed Choices are still Choices)."""
        inner = getattr(module, "space", None)
        if isinstance(inner, nn.Module) and callable(getattr(module, "probabilities", None)):
            module = inner
        choices: dict[str, tuple[str, ...]] = {}
        inputs: dict[str, InputDecision] = {}
        for label, d in collect_decisions(module).items():
            if isinstance(d, InputChoice):
                inputs[label] = InputDecision(label, d.n_candidates, d.n_chosen, d.sources)
            else:
                choices[label] = tuple(d)
        return cls(choices, inputs)

    # -- queries ---------------------------------------------------------------------------------
    @property
    def labels(self) -> tuple[str, ...]:
        """Every decision label: the Choices, then the InputChoices."""
        return (*self.choices, *self.inputs)

    @property
    def fed(self) -> frozenset[str]:
        """Choice labels that feed an InputChoice input."""
        return frozenset(self.feeds)

    def is_input(self, label: str) -> bool:
        """Whether ``label`` is an InputChoice (else a Choice); unknown labels raise with the known ones."""
        if label in self.inputs:
            return True
        if label in self.choices:
            return False
        raise KeyError(f"no decision labelled {label!r}; labels: {', '.join(self.labels)}")

    def size(self, label: str) -> int:
        """Number of candidates (Choice) or inputs (InputChoice) of ``label``."""
        return self.inputs[label].n_candidates if self.is_input(label) else len(self.choices[label])

    def selectable(self, label: str) -> tuple[str, ...]:
        """The candidates an architecture may pick: a fed Choice's non-zero ones (all, if it has none)."""
        names = self.choices[label]
        if label in self.feeds:
            nonzero = tuple(n for n in names if n not in ZERO_OPS)
            return nonzero or names
        return names

    def groups(self) -> dict[str, list[str]]:
        """Group name -> its labels in network order (see :func:`label_group`)."""
        out: dict[str, list[str]] = {}
        for label in self.labels:
            out.setdefault(label_group(label), []).append(label)
        return out

    def kept_labels(self, choices: Mapping[str, Any]) -> set[str]:
        """Choice labels present in the frozen network of ``choices`` (see :func:`kept_labels`)."""
        return kept_labels(self.choices, self.feeds, choices)

    def unused_labels(self, choices: Mapping[str, Any]) -> set[str]:
        """Choice labels that only feed inputs ``choices`` does not keep (they cost nothing when frozen)."""
        return set(self.choices) - self.kept_labels(choices)


def kept_labels(labels: Iterable[str], feeds: Mapping[str, Iterable[Any]], choices: Mapping[str, Any]) -> set[str]:
    """Of ``labels``, those present in the frozen network of ``choices``: a label feeding nothing, or
    feeding at least one kept input. ``feeds`` maps a label to its slots (anything with
    ``input_choice`` and ``index``, as :class:`InputSlot`; lookup tables store their own).

    Raises:
        ArchSpecError: ``choices`` lacks an InputChoice that a fed label needs.
    """
    kept = set()
    for label in labels:
        slots = tuple(feeds.get(label, ()))
        if not slots:
            kept.add(label)
            continue
        for slot in slots:
            sel = choices.get(slot.input_choice)
            if sel is None:
                raise ArchSpecError(
                    f"architecture lacks the input choice {slot.input_choice!r} that label {label!r} feeds"
                )
            if slot.index in tuple(sel):
                kept.add(label)
                break
    return kept


__all__ = ["DecisionGraph", "InputDecision", "InputSlot", "kept_labels", "label_group"]
