"""What every supernet strategy shares: relaxed Choices, per-label parameters and the per-forward decisions.

A strategy replaces each :class:`~hwnas.api.Choice` of a space, in place, by a *relaxed choice*:
a subclass of ``Choice`` that holds the built candidates and mixes them. Because it is still a
``Choice`` (same label, candidates, widths and stride), :func:`hwnas.api.collect_decisions`,
:func:`hwnas.api.magnitude_arch` and :func:`hwnas.api.freeze_module` work on the wrapped space
unchanged: freezing replaces a relaxed choice by a freshly built chosen candidate.

The supernet owns one architecture parameter per label. Relaxed modules ask the supernet's
:class:`_Decisions` for their label's decision (mixing weights, a sampled path); inside one
``supernet(x)`` call each label is decided once and shared by every Choice with that label.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from hwnas.api import (
    ArchSpec,
    Choice,
    InputChoice,
    UserError,
    collect_decisions,
    magnitude_arch,
)

PHASES = ("weight", "arch")


class SupernetError(UserError, ValueError):
    """A space cannot be wrapped by a supernet strategy (no decisions, already wrapped, mismatched labels)."""


class _Decisions:
    """Per-forward cache of each label's decision, shared by all relaxed modules of one supernet.

    A plain object rather than a module, so relaxed modules reach the supernet's parameters without
    the supernet being registered inside its own space. Outside :meth:`scope` nothing is cached.
    """

    def __init__(self, decide: Callable[[str], Any]) -> None:
        self._decide = decide
        self._cache: dict[str, Any] | None = None

    def get(self, label: str) -> Any:
        if self._cache is None:
            return self._decide(label)
        if label not in self._cache:
            self._cache[label] = self._decide(label)
        return self._cache[label]

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        outer = self._cache is not None
        if not outer:
            self._cache = {}
        try:
            yield
        finally:
            if not outer:
                # Dropped at once: cached tensors are part of the graph and must not outlive the forward
                # (deep copies of the space, e.g. by freeze_module, cannot copy non-leaf tensors).
                self._cache = None


class RelaxedChoice(Choice):
    """Base of the strategies' mixed ops: a ``Choice`` with its candidates built and a way to mix them.

    Args:
        choice: The Choice it replaces (label, candidates, widths, stride and op kwargs are copied).
        decisions: The supernet's per-forward decisions.
    """

    def __init__(self, choice: Choice, decisions: _Decisions) -> None:
        # The candidate table is the Choice's private mapping; copying it keeps factories, not built modules.
        super().__init__(
            dict(choice._candidates),
            label=choice.label,
            c_in=choice.c_in,
            c_out=choice.c_out,
            stride=choice.stride,
            op_kwargs=choice.op_kwargs,
        )
        self._decisions = decisions

    def decision(self) -> Any:
        return self._decisions.get(self.label)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - every strategy overrides it
        raise NotImplementedError


class WeightedInputs(InputChoice):
    """An InputChoice whose inputs are scaled by per-input weights from the supernet (PC-DARTS's β)."""

    def __init__(self, ic: InputChoice, decisions: _Decisions) -> None:
        super().__init__(n_candidates=ic.n_candidates, n_chosen=ic.n_chosen, label=ic.label, sources=ic.sources)
        self._decisions = decisions

    def forward(self, inputs: Any) -> torch.Tensor:
        w = self._decisions.get(self.label)
        terms = [w[i] * t for i, t in enumerate(inputs) if t is not None]
        if not terms:
            raise RuntimeError(f"InputChoice {self.label!r}: no input reached this node")
        out = terms[0]
        for t in terms[1:]:
            out = out + t
        return out


_UNSAFE = re.compile(r"[^0-9A-Za-z_]")


def _param_keys(labels: list[str]) -> dict[str, str]:
    """Map labels to ParameterDict keys: prefixed (never clashes with Module attributes) and sanitized."""
    keys: dict[str, str] = {}
    taken: set[str] = set()
    for label in labels:
        base = "l_" + _UNSAFE.sub("_", label)
        key, i = base, 1
        while key in taken:
            key, i = f"{base}_{i}", i + 1
        taken.add(key)
        keys[label] = key
    return keys


def _replace_decisions(
    module: nn.Module,
    relax_choice: Callable[[Choice], nn.Module],
    relax_input: Callable[[InputChoice], nn.Module],
) -> None:
    for name, child in list(module.named_children()):
        if isinstance(child, Choice):
            setattr(module, name, relax_choice(child))
        elif isinstance(child, InputChoice):
            setattr(module, name, relax_input(child))
        else:
            _replace_decisions(child, relax_choice, relax_input)


class Supernet(nn.Module):
    """Common base of the strategies. Subclasses implement ``_relax_choice`` and ``_decide``.

    Architecture parameters live in ``self.alpha`` (one per Choice label, over
    ``choice.candidate_names``) and, where a strategy learns input weights, ``self.beta`` (one per
    InputChoice label); the wrapped space is ``self.space``. Both are registered, so
    ``state_dict()``, checkpoints and DDP see them (DDP needs ``find_unused_parameters=True`` for
    strategies that run a subset of paths or of parameters per step).

    The search loop tells phase-dependent strategies what a forward is for with
    :meth:`set_phase` (``"weight"`` or ``"arch"``; ``"arch"`` until told otherwise), and calls
    :meth:`after_arch_step` right after every architecture-optimizer step.
    """

    #: Registry name of the strategy.
    strategy: str = "base"

    def __init__(self, space: nn.Module, *, alpha_init_std: float = 1e-3) -> None:
        super().__init__()
        if isinstance(space, (Choice, InputChoice)):
            raise SupernetError("a supernet wraps a module that contains Choices, not a bare Choice: put it in one")
        if any(isinstance(m, (RelaxedChoice, WeightedInputs)) for m in space.modules()):
            raise SupernetError("this space is already wrapped by a supernet strategy; build a fresh space")
        try:
            decisions = collect_decisions(space)
        except ValueError as e:
            raise SupernetError(str(e)) from None
        if not decisions:
            raise SupernetError(f"{type(space).__name__} holds no Choice or InputChoice: nothing to search")
        self._choice_names: dict[str, tuple[str, ...]] = {
            k: v for k, v in decisions.items() if not isinstance(v, InputChoice)
        }
        self._input_sizes: dict[str, int] = {}
        for _, m in space.named_modules():
            if isinstance(m, InputChoice):
                n = self._input_sizes.setdefault(m.label, m.n_candidates)
                if n != m.n_candidates:
                    raise SupernetError(
                        f"InputChoices sharing label {m.label!r} must have the same number of inputs; got {n} and "
                        f"{m.n_candidates}"
                    )
        self._alpha_keys = _param_keys(list(self._choice_names))
        self.alpha = nn.ParameterDict(
            {
                self._alpha_keys[label]: nn.Parameter(alpha_init_std * torch.randn(len(names)))
                for label, names in self._choice_names.items()
            }
        )
        # "arch" by default so that a plain training forward gives α its gradient (ProxylessNAS's
        # active path weights get theirs too, except in lean mode); the loop sets the phase per step.
        self._phase = "arch"
        self._decisions = _Decisions(self._decide)
        self._init_strategy(alpha_init_std)
        _replace_decisions(space, self._relax_choice, self._relax_input)
        self.space = space

    # -- hooks for subclasses ------------------------------------------------------------------
    def _init_strategy(self, alpha_init_std: float) -> None:
        """Create extra parameters (e.g. β) before the space is relaxed."""

    def _relax_choice(self, choice: Choice) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def _relax_input(self, ic: InputChoice) -> nn.Module:
        return ic  # plain sum of the inputs, the DARTS relaxation

    def _decide(self, label: str) -> Any:
        """The decision of ``label`` for one forward (weights, a sampled path...)."""
        return self.probabilities_of(label)

    # -- public interface ----------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        with self._decisions.scope():
            return self.space(*args, **kwargs)

    @property
    def labels(self) -> tuple[str, ...]:
        """The Choice labels, each with one architecture parameter."""
        return tuple(self._choice_names)

    def alpha_of(self, label: str) -> nn.Parameter:
        """The architecture parameter of Choice ``label`` (one entry per candidate name)."""
        try:
            return self.alpha[self._alpha_keys[label]]
        except KeyError:
            raise KeyError(f"no Choice label {label!r}; labels: {', '.join(self._choice_names)}") from None

    def probabilities_of(self, label: str) -> torch.Tensor:
        return torch.softmax(self.alpha_of(label), dim=-1)

    def arch_parameters(self) -> list[nn.Parameter]:
        """α (and β where learned): every parameter registered outside ``self.space``."""
        return [p for n, p in self.named_parameters() if not n.startswith("space.")]

    def weight_parameters(self) -> list[nn.Parameter]:
        """The space's own parameters; never an architecture parameter."""
        arch = {id(p) for p in self.arch_parameters()}
        return [p for p in self.space.parameters() if id(p) not in arch]

    def probabilities(self) -> dict[str, torch.Tensor]:
        """Per Choice label, softmax(α) over ``choice.candidate_names`` (differentiable)."""
        return {label: self.probabilities_of(label) for label in self._choice_names}

    def input_weights(self) -> dict[str, torch.Tensor]:
        """Per InputChoice label, a weight per input: all ones unless the strategy learns them."""
        return {label: torch.ones(n, device=self._device()) for label, n in self._input_sizes.items()}

    def export(self) -> ArchSpec:
        """The magnitude-selected architecture (argmax per Choice, strongest inputs per InputChoice)."""
        with torch.no_grad():
            return magnitude_arch(self.space, self.probabilities(), self.input_weights())

    def set_phase(self, phase: str) -> None:
        """Say what the next forwards are for: ``"weight"`` (weight step) or ``"arch"`` (architecture step)."""
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
        self._phase = phase

    @property
    def phase(self) -> str:
        return self._phase

    def after_arch_step(self) -> None:
        """Called by the loop right after each architecture-optimizer step (no-op for most strategies)."""

    def arch_state(self) -> dict[str, Any]:
        """Plain numbers for logging: probabilities per Choice label and input weights per InputChoice label."""
        with torch.no_grad():
            return {
                "probabilities": {k: v.cpu().tolist() for k, v in self.probabilities().items()},
                "input_weights": {k: v.cpu().tolist() for k, v in self.input_weights().items()},
            }

    def _device(self) -> torch.device:
        for p in self.alpha.values():
            return p.device
        return torch.device("cpu")

    def extra_repr(self) -> str:
        return f"strategy={self.strategy!r}, choices={len(self._choice_names)}, input_choices={len(self._input_sizes)}"

