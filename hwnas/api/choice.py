"""Decision points of a search space: ``Choice`` (which op) and ``InputChoice`` (which inputs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from hwnas.api.registries import OPS

CandidateFactory = Callable[..., nn.Module]

#: Candidate names that denote the zero op; a Choice feeding an InputChoice never selects them.
ZERO_OPS = frozenset({"none", "zero"})


class UnresolvedChoiceError(RuntimeError):
    """A raw Choice was called: apply a supernet strategy or freeze the space first."""


class Choice(nn.Module):
    """A named set of candidate operations at one place of a network.

    Candidates are op names from :data:`hwnas.api.OPS` or factories
    ``f(c_in, c_out, stride) -> nn.Module``. They are *not* built here: a supernet strategy
    builds them (possibly at another width, as PC-DARTS does), and freezing builds only the
    chosen one. Choices with equal ``label`` share one decision.

    Args:
        candidates: Op names, or a mapping ``name -> op name | factory``.
        label: Decision name; equal labels share one architecture parameter.
        c_in: Input channels. c_out: Output channels. stride: Spatial stride.
        op_kwargs: Extra keyword arguments passed to every factory (e.g. ``affine=False``).

    Example:
        >>> from hwnas.api import Choice
        >>> c = Choice(["sep_conv_3x3", "skip_connect"], label="e0", c_in=8, c_out=8)
        >>> c.candidate_names
        ('sep_conv_3x3', 'skip_connect')
    """

    def __init__(
        self,
        candidates: Sequence[str] | Mapping[str, str | CandidateFactory],
        *,
        label: str,
        c_in: int,
        c_out: int,
        stride: int = 1,
        op_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(candidates, Mapping):
            items = dict(candidates)
        else:
            items = {str(n): str(n) for n in candidates}
        if not items:
            raise ValueError(f"Choice {label!r} needs at least one candidate")
        if len(items) != len(candidates):
            raise ValueError(f"Choice {label!r} has duplicate candidate names: {list(candidates)}")
        for name, cand in items.items():
            if isinstance(cand, str):
                OPS.get(cand)  # fail now, with the known op names, rather than at build time
            elif not callable(cand):
                raise TypeError(f"candidate {name!r} of Choice {label!r} must be an op name or a factory, got {cand!r}")
        if not label or "." in label:
            raise ValueError(f"Choice label must be a non-empty string without '.', got {label!r}")
        self.label = label
        self.c_in, self.c_out, self.stride = int(c_in), int(c_out), int(stride)
        self.op_kwargs = dict(op_kwargs or {})
        self._candidates = items

    @property
    def candidate_names(self) -> tuple[str, ...]:
        return tuple(self._candidates)

    def build(self, name: str, *, c_in: int | None = None, c_out: int | None = None, **kwargs: Any) -> nn.Module:
        """Build candidate ``name``, optionally at another width."""
        if name not in self._candidates:
            raise KeyError(
                f"Choice {self.label!r} has no candidate {name!r}; candidates: {', '.join(self._candidates)}"
            )
        cand = self._candidates[name]
        factory = OPS.get(cand) if isinstance(cand, str) else cand
        kw = {**self.op_kwargs, **kwargs}
        return factory(self.c_in if c_in is None else c_in, self.c_out if c_out is None else c_out, self.stride, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise UnresolvedChoiceError(
            f"Choice {self.label!r} is unresolved: wrap the space in a supernet strategy "
            "(e.g. hwnas.supernets.DartsSupernet(space)) or freeze it with an ArchSpec first"
        )

    def extra_repr(self) -> str:
        return (
            f"label={self.label!r}, candidates={list(self._candidates)}, "
            f"c_in={self.c_in}, c_out={self.c_out}, stride={self.stride}"
        )


class InputChoice(nn.Module):
    """Choose ``n_chosen`` of ``n_candidates`` incoming tensors and sum them.

    This is the topology decision of cell spaces (DARTS keeps two inputs per node). ``sources``
    names, per input, the label of the Choice that produced it, so selection can score an input
    by the strength of its edge. Unresolved, it sums all inputs (the DARTS relaxation); a
    strategy may weight them (PC-DARTS edge normalisation) and freezing keeps only the chosen.
    Inputs that a frozen network skipped arrive as ``None`` and are ignored.

    Example:
        >>> import torch
        >>> from hwnas.api import InputChoice
        >>> ic = InputChoice(n_candidates=3, n_chosen=2, label="n0")
        >>> ic([torch.ones(1), torch.ones(1), torch.ones(1)]).item()
        3.0
    """

    def __init__(self, *, n_candidates: int, n_chosen: int, label: str, sources: Sequence[str] | None = None) -> None:
        super().__init__()
        if not 1 <= n_chosen <= n_candidates:
            raise ValueError(f"InputChoice {label!r}: need 1 <= n_chosen ({n_chosen}) <= n_candidates ({n_candidates})")
        if sources is not None and len(sources) != n_candidates:
            raise ValueError(f"InputChoice {label!r}: {len(sources)} sources for {n_candidates} candidates")
        if not label or "." in label:
            raise ValueError(f"InputChoice label must be a non-empty string without '.', got {label!r}")
        self.label = label
        self.n_candidates, self.n_chosen = int(n_candidates), int(n_chosen)
        self.sources = tuple(sources) if sources is not None else None

    def forward(self, inputs: Sequence[torch.Tensor | None]) -> torch.Tensor:
        return _sum_present(inputs)

    def extra_repr(self) -> str:
        return f"label={self.label!r}, n_candidates={self.n_candidates}, n_chosen={self.n_chosen}"


class ChosenInputs(nn.Module):
    """Frozen :class:`InputChoice`: sums the inputs at ``indices``."""

    def __init__(self, indices: Sequence[int]) -> None:
        super().__init__()
        self.indices = tuple(int(i) for i in indices)

    def forward(self, inputs: Sequence[torch.Tensor | None]) -> torch.Tensor:
        return _sum_present([inputs[i] for i in self.indices])

    def extra_repr(self) -> str:
        return f"indices={self.indices}"


class Skipped(nn.Module):
    """Stands in for an edge that a frozen InputChoice does not use; returns ``None`` at no cost."""

    def forward(self, x: torch.Tensor) -> None:
        return None


def _sum_present(inputs: Sequence[torch.Tensor | None]) -> torch.Tensor:
    present = [t for t in inputs if t is not None]
    if not present:
        raise RuntimeError("no input reached this node: every chosen input was skipped")
    out = present[0]
    for t in present[1:]:
        out = out + t
    return out


def iter_choices(module: nn.Module) -> Iterator[tuple[str, Choice]]:
    """Yield ``(qualified_name, choice)`` for every Choice inside ``module``."""
    for name, m in module.named_modules():
        if isinstance(m, Choice):
            yield name, m


def iter_input_choices(module: nn.Module) -> Iterator[tuple[str, InputChoice]]:
    """Yield ``(qualified_name, input_choice)`` for every InputChoice inside ``module``."""
    for name, m in module.named_modules():
        if isinstance(m, InputChoice):
            yield name, m


def collect_decisions(module: nn.Module) -> dict[str, tuple[str, ...] | InputChoice]:
    """Map each decision label to its candidate names (Choice) or its InputChoice.

    Raises if Choices sharing a label disagree on their candidate names.
    """
    out: dict[str, Any] = {}
    for name, c in iter_choices(module):
        prev = out.get(c.label)
        if prev is not None and prev != c.candidate_names:
            raise ValueError(
                f"Choices sharing label {c.label!r} must have the same candidates; {name} has "
                f"{list(c.candidate_names)} but an earlier one has {list(prev)}"
            )
        out[c.label] = c.candidate_names
    for name, ic in iter_input_choices(module):
        if ic.label in out and not isinstance(out[ic.label], InputChoice):
            raise ValueError(f"label {ic.label!r} is used by both a Choice and an InputChoice ({name})")
        out[ic.label] = ic
    return out
