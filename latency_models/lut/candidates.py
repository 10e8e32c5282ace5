"""Per-candidate OpSpecs of a search space: what every candidate of every Choice costs where it sits.

One dry run of the space records the input and output shape at every Choice (each Choice temporarily
replaced by a freshly built non-zero candidate, so a raw space runs without a supernet; a supernet's
relaxed choices are swapped the same way). Every candidate is then built with ``choice.build(name)`` and
traced alone at its recorded input shape. The *fixed* part is the network with every Choice replaced by
a stub that returns zeros of the right shape: its OpSpecs are the stem, head, reductions and the adds.

So for any architecture, ``fixed + Σ_label specs[label][chosen]`` is the frozen network's op list
(edges an InputChoice drops excluded; see :meth:`SpaceSpecs.network_specs`). Choices sharing a label
(DARTS's normal cells) list the OpSpecs of all their places under that label.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from hwnas.api import Choice
    >>> conv = lambda k: (lambda ci, co, s: nn.Conv2d(ci, co, k, s, k // 2, bias=False))
    >>> space = nn.Sequential(nn.Conv2d(3, 4, 1), Choice({"k1": conv(1), "k3": conv(3)}, label="op", c_in=4, c_out=4))
    >>> specs = candidate_opspecs(space, torch.zeros(1, 3, 8, 8))
    >>> [s.macs for s in specs["op"]["k3"]]
    [9216]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from hwnas.api import ZERO_OPS, ArchSpec, Choice, DecisionGraph, OpSpec, UserError, collect_opspecs, kept_labels


@dataclass(frozen=True)
class ChoicePlace:
    """One Choice of the network: its qualified name, label and the shapes that flow through it."""

    name: str
    label: str
    candidates: tuple[str, ...]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]


@dataclass(frozen=True)
class InputEdge:
    """A Choice label feeding input ``index`` of InputChoice ``input_choice`` (``n_chosen`` of ``n_candidates``)."""

    input_choice: str
    index: int
    n_chosen: int
    n_candidates: int


@dataclass
class SpaceSpecs:
    """OpSpecs of a space split into a fixed part and per-candidate parts.

    Attributes:
        candidates: ``{label: {candidate: [OpSpec, ...]}}`` summed (concatenated) over the label's places.
        fixed: OpSpecs of everything outside the Choices.
        places: Every Choice place, in network order.
        input_edges: Labels whose output feeds an InputChoice (DARTS edges), with where it goes.
        input_shape: Shape of the example input (batch included).
    """

    candidates: dict[str, dict[str, list[OpSpec]]]
    fixed: list[OpSpec]
    places: list[ChoicePlace]
    input_edges: dict[str, InputEdge] = field(default_factory=dict)
    input_shape: tuple[int, ...] = ()
    #: For each place and candidate, the key under which equal (candidate, widths, stride, shape) builds dedupe.
    place_keys: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    def labels(self) -> tuple[str, ...]:
        return tuple(self.candidates)

    def kept_labels(self, choices: Mapping[str, Any]) -> set[str]:
        """Labels present in the frozen network of ``choices`` (an edge whose input is dropped is absent)."""
        return kept_labels(self.candidates, {lb: (e,) for lb, e in self.input_edges.items()}, choices)

    def network_specs(self, arch: ArchSpec | Mapping[str, Any]) -> list[OpSpec]:
        """``fixed`` + the OpSpecs of each kept label's chosen candidate."""
        choices = arch.choices if isinstance(arch, ArchSpec) else dict(arch)
        out = list(self.fixed)
        for label in self.candidates:
            if label not in self.kept_labels(choices):
                continue
            name = choices.get(label)
            if name not in self.candidates[label]:
                raise UserError(f"choice {label!r} = {name!r} is not a candidate; candidates: "
                                f"{', '.join(self.candidates[label])}")
            out += self.candidates[label][name]
        return out


class _Probe(nn.Module):
    """Stands in for a Choice during the shape pass: runs one built candidate and records the shapes."""

    def __init__(self, op: nn.Module) -> None:
        super().__init__()
        self.op = op
        self.shapes: tuple[tuple[int, ...], tuple[int, ...]] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.op(x)
        if self.shapes is None:
            self.shapes = (tuple(x.shape), tuple(y.shape))
        return y


class _Stub(nn.Module):
    """Stands in for a Choice in the fixed part: zeros of the candidate's output shape, no ops."""

    def __init__(self, output_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.tail = tuple(output_shape[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros((x.shape[0], *self.tail))


def require_pricing_inputs(target: str, supernet: Any, example_input: Any) -> None:
    """A target that prices the space's candidates traces them: it needs the supernet and an example input."""
    if supernet is None or example_input is None:
        raise UserError(f"target {target!r} needs the supernet and an example input to price its candidates")


def network_of(space_or_supernet: nn.Module) -> nn.Module:
    """The module to run: a supernet's ``space`` (its Choices are relaxed in place), else the module itself."""
    inner = getattr(space_or_supernet, "space", None)
    if isinstance(inner, nn.Module) and callable(getattr(space_or_supernet, "probabilities", None)):
        return inner
    return space_or_supernet


def _outer_choices(module: nn.Module) -> list[tuple[str, Choice]]:
    out: list[tuple[str, Choice]] = []
    for name, m in module.named_modules():
        if isinstance(m, Choice) and not any(name.startswith(p + ".") for p, _ in out):
            out.append((name, m))
    return out


def _swap(module: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(module.get_submodule(parent) if parent else module, child, new)


def _shape_candidate(choice: Choice) -> str:
    names = choice.candidate_names
    return next((n for n in names if n not in ZERO_OPS), names[0])


def _candidate_key(choice: Choice, name: str, shape: tuple[int, ...]) -> Any:
    # Equal factories at equal widths, stride, kwargs and input shape give equal OpSpecs (and timings).
    cand = getattr(choice, "_candidates", {}).get(name, name)
    ident = cand if isinstance(cand, str) else id(cand)
    return (ident, choice.c_in, choice.c_out, choice.stride, repr(sorted(choice.op_kwargs.items())), shape)


def _input_edges(net: nn.Module) -> dict[str, InputEdge]:
    graph = DecisionGraph.of(net)
    edges: dict[str, InputEdge] = {}
    for label, slots in graph.feeds.items():
        # A label feeding several inputs keeps the first; the built-in spaces feed exactly one.
        ic = graph.inputs[slots[0].input_choice]
        edges[label] = InputEdge(ic.label, slots[0].index, ic.n_chosen, ic.n_candidates)
    return edges


@torch.no_grad()
def trace_places(space_or_supernet: nn.Module, example_input: torch.Tensor) -> list[ChoicePlace]:
    """One dry run recording the input/output shape of every Choice (the module is restored afterwards)."""
    net = network_of(space_or_supernet)
    choices = _outer_choices(net)
    if not choices:
        raise UserError(f"{type(net).__name__} holds no Choice: nothing to price per candidate")
    probes = []
    was_training = net.training
    try:
        for name, ch in choices:
            probe = _Probe(ch.build(_shape_candidate(ch)).to(example_input.device))
            _swap(net, name, probe)
            probes.append(probe)
        net.eval()
        net(example_input)
    finally:
        for name, ch in choices:
            _swap(net, name, ch)
        net.train(was_training)
    places = []
    for (name, ch), probe in zip(choices, probes):
        if probe.shapes is None:
            raise UserError(f"Choice {name!r} (label {ch.label!r}) was not reached by a forward pass")
        places.append(ChoicePlace(name, ch.label, ch.candidate_names, *probe.shapes))
    return places


@torch.no_grad()
def fixed_opspecs(space_or_supernet: nn.Module, example_input: torch.Tensor,
                  places: list[ChoicePlace] | None = None) -> list[OpSpec]:
    """OpSpecs of the network with every Choice removed (stem, head, fixed blocks, adds)."""
    net = network_of(space_or_supernet)
    places = places if places is not None else trace_places(net, example_input)
    choices = dict(_outer_choices(net))
    try:
        for p in places:
            _swap(net, p.name, _Stub(p.output_shape))
        specs = collect_opspecs(net, example_input)
    finally:
        for p in places:
            _swap(net, p.name, choices[p.name])
    return specs


def _prefixed(specs: list[OpSpec], prefix: str) -> list[OpSpec]:
    return [OpSpec(**{**s.to_dict(), "name": f"{prefix}.{s.name}" if s.name else prefix}) for s in specs]


def space_opspecs(space_or_supernet: nn.Module, example_input: torch.Tensor) -> SpaceSpecs:
    """Fixed part, per-candidate OpSpecs (all places of a label), places and InputChoice edges.

    Args:
        space_or_supernet: A search space with raw Choices, or a supernet (its relaxed space is used;
            candidates are built afresh at full width, e.g. not at PC-DARTS's C/K).
        example_input: A batch shaped like the data (its batch size is kept in the OpSpecs).

    Example:
        >>> import torch
        >>> from hwnas.search_spaces import NB201Space
        >>> s = space_opspecs(NB201Space(C=4, N=1), torch.zeros(1, 3, 8, 8))
        >>> len(s.places), sorted(s.candidates["1<-0"])[:2]
        (18, ['avg_pool_3x3', 'none'])
    """
    net = network_of(space_or_supernet)
    example_input = example_input.detach()
    places = trace_places(net, example_input)
    choices = dict(_outer_choices(net))
    cache: dict[Any, list[OpSpec]] = {}
    out: dict[str, dict[str, list[OpSpec]]] = {}
    keys: dict[tuple[str, str], Any] = {}
    for p in places:
        ch = choices[p.name]
        per = out.setdefault(p.label, {n: [] for n in p.candidates})
        for name in p.candidates:
            key = _candidate_key(ch, name, p.input_shape)
            keys[(p.name, name)] = key
            if key not in cache:
                op = ch.build(name)
                cache[key] = collect_opspecs(op, torch.zeros(p.input_shape))
            per[name] += _prefixed(cache[key], f"{p.name}.{name}")
    fixed = fixed_opspecs(net, example_input, places)
    return SpaceSpecs(out, fixed, places, _input_edges(net), tuple(example_input.shape), keys)


def candidate_opspecs(space_or_supernet: nn.Module, example_input: torch.Tensor) -> dict[str, dict[str, list[OpSpec]]]:
    """``{label: {candidate: [OpSpec, ...]}}`` for every Choice label of a space or supernet.

    See :func:`space_opspecs` for the fixed part and the places. No input size is assumed: shapes come
    from a dry run at ``example_input``.

    Example:
        >>> import torch
        >>> from hwnas.search_spaces import NB201Space
        >>> specs = candidate_opspecs(NB201Space(C=4, N=1), torch.zeros(1, 3, 8, 8))
        >>> sum(s.macs for s in specs["1<-0"]["nor_conv_3x3"])  # 3 cells: 8x8x4, 4x4x8, 2x2x16
        27648
    """
    return space_opspecs(space_or_supernet, example_input).candidates
