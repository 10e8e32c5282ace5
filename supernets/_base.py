"""What every supernet strategy shares: relaxed Choices, per-label parameters and the per-forward decisions.

A strategy replaces each :class:`~hwnas.api.Choice` of a space, in place, by a *relaxed choice*:
a subclass of ``Choice`` that holds the built candidates and mixes them. Because it is still a
``Choice`` (same label, candidates, widths and stride), :func:`hwnas.api.collect_decisions`,
:func:`hwnas.api.magnitude_arch` and :func:`hwnas.api.freeze_module` work on the wrapped space
unchanged: freezing replaces a relaxed choice by a freshly built chosen candidate.

The supernet owns one architecture parameter per label. Relaxed modules ask the supernet's
:class:`_Decisions` for their label's decision (mixing weights, a sampled path); inside one
``supernet(x)`` call each label is decided once and shared by every Choice with that label.

Masks on decisions (the mechanism of perturbation selection and supernet splits), for every strategy:

* :meth:`Supernet.restrict` / :meth:`Supernet.fix` keep a subset of a label's candidates (or of an
  InputChoice's inputs). The distribution is renormalised over what is allowed: softmax over the
  allowed entries, exactly 0 elsewhere (GM-NAS's masked softmax). Sampling strategies (GDAS,
  ProxylessNAS) draw only allowed candidates. Masks are buffers (checkpointed), α keeps its shape,
  and ``probabilities()`` / ``input_weights()`` return the masked distribution, so every cost model
  prices it. An InputChoice restricted to ``n_chosen`` inputs has its topology decided.
* :meth:`Supernet.perturb` drops one candidate or input for the forwards inside a ``with`` block,
  without renormalising: a mixing strategy's remaining weights sum to ``1 - w_dropped`` (DARTS-PT);
  a sampling strategy draws among the rest. ``probabilities()`` does not see a perturbation.
* Mixed ops never run a candidate whose weight is structurally zero (masked, perturbed away, or on
  an edge all of whose InputChoice inputs are masked): a fixed edge costs one op.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from hwnas.api import (
    ZERO_OPS,
    ArchSpec,
    Choice,
    DecisionGraph,
    InputChoice,
    UserError,
    magnitude_arch,
)
from hwnas.supernets._masks import DecisionMasks

PHASES = ("weight", "arch")


class SupernetError(UserError, ValueError):
    """A space cannot be wrapped by a supernet strategy (no decisions, already wrapped, mismatched labels),
    or a mask names an unknown label or candidate."""


@dataclass(frozen=True)
class Mix:
    """A mixing strategy's decision of one label for one forward.

    Attributes:
        weights: Per-candidate (or per-input) weights; ``None`` for an unweighted sum (DARTS inputs).
        active: The candidates (inputs) to run (sum), in index order: allowed, not perturbed away, and
            not on an edge whose every InputChoice input is masked.
    """

    weights: torch.Tensor | None
    active: tuple[int, ...]


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


def zeros_output(x: torch.Tensor, c_out: int, stride: int) -> torch.Tensor:
    """What an edge that runs nothing outputs: zeros of a ``c_out``-channel, stride-``stride`` op's shape."""
    if x.dim() != 4:
        return torch.zeros_like(x)
    n, _, h, w = x.shape
    return x.new_zeros(n, c_out, math.ceil(h / stride), math.ceil(w / stride))


class WeightedInputs(InputChoice):
    """An InputChoice that sums its active inputs, each scaled by its weight when the decision has
    weights (PC-DARTS's softmax(β)); without weights it is the DARTS sum over the allowed inputs."""

    def __init__(self, ic: InputChoice, decisions: _Decisions) -> None:
        super().__init__(n_candidates=ic.n_candidates, n_chosen=ic.n_chosen, label=ic.label, sources=ic.sources)
        self._decisions = decisions

    def forward(self, inputs: Any) -> torch.Tensor:
        mix: Mix = self._decisions.get(self.label)
        w = mix.weights
        out: torch.Tensor | None = None
        for i in mix.active:
            if (t := inputs[i]) is None:
                continue
            if w is None:
                out = t if out is None else out + t
            else:  # the first product is a fresh tensor that no backward reads: the rest add into it
                out = t * w[i] if out is None else out.addcmul_(t, w[i])
        if out is None:
            raise RuntimeError(f"InputChoice {self.label!r}: no input reached this node")
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
    strategies that run a subset of paths or of parameters per step). ``self.masks`` holds the
    masks on decisions (see the module docstring) and ``self.graph`` the space's decision graph.

    Lifecycle, called by the search loop: :meth:`on_epoch_start` before each epoch, :meth:`set_phase`
    (``"weight"`` or ``"arch"``; ``"arch"`` until told otherwise) before each step, and
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
            graph = DecisionGraph.of(space)
        except ValueError as e:
            raise SupernetError(str(e)) from None
        if not graph.labels:
            raise SupernetError(f"{type(space).__name__} holds no Choice or InputChoice: nothing to search")
        #: The space's decisions: labels, candidates, which inputs each Choice feeds.
        self.graph = graph
        self._choice_names: dict[str, tuple[str, ...]] = dict(graph.choices)
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
        mask_keys = _param_keys([*self._choice_names, *self._input_sizes])
        self.masks = DecisionMasks({**{k: len(v) for k, v in self._choice_names.items()}, **self._input_sizes},
                                   mask_keys)
        #: Label -> candidate (input) indices dropped by an open :meth:`perturb` block.
        self._dropped: dict[str, set[int]] = {}
        self._zero = {k: tuple(n in ZERO_OPS for n in v) for k, v in self._choice_names.items()}
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
        return WeightedInputs(ic, self._decisions)  # without weights: the DARTS sum, over the allowed inputs

    def _decide(self, label: str) -> Any:
        """The decision of ``label`` for one forward (weights, a sampled path...): a :class:`Mix` by default."""
        if label in self._input_sizes:
            return self._input_mix(label)
        return Mix(self.mixing_weights(label), self.active(label))

    def _input_mix(self, label: str) -> Mix:
        """An InputChoice's decision: the DARTS sum over the active inputs (strategies with β weigh them)."""
        return Mix(None, self.active(label))

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
        """softmax(α) of Choice ``label`` over its allowed candidates (exactly 0 on masked ones)."""
        return self._masked_softmax(self.alpha_of(label), label)

    def _masked_softmax(self, logits: torch.Tensor, label: str) -> torch.Tensor:
        if self.masks.all_allowed(label):
            return torch.softmax(logits, dim=-1)
        return torch.softmax(logits.masked_fill(~self.masks.tensor(label), -math.inf), dim=-1)

    def _drop_perturbed(self, weights: torch.Tensor, label: str) -> torch.Tensor:
        dropped = self._dropped.get(label)
        if not dropped:
            return weights
        idx = torch.tensor(sorted(dropped), device=weights.device)
        return weights.index_fill(0, idx, 0.0)

    def _support_logits(self, logits: torch.Tensor, label: str) -> torch.Tensor:
        """``logits`` with every candidate a forward may not use now (masked or perturbed away) at -inf."""
        dropped = self._dropped.get(label)
        if not dropped:
            return logits if self.masks.all_allowed(label) else logits.masked_fill(~self.masks.tensor(label), -math.inf)
        keep = self.masks.tensor(label).clone()
        keep[sorted(dropped)] = False
        return logits.masked_fill(~keep, -math.inf)

    def mixing_weights(self, label: str) -> torch.Tensor:
        """The weights a mixing forward uses: ``probabilities_of``, perturbed candidates zeroed (not renormalised)."""
        return self._drop_perturbed(self.probabilities_of(label), label)

    # -- masks -----------------------------------------------------------------------------------
    def _indices(self, label: str, candidates: Iterable[str | int]) -> list[int]:
        try:
            is_input = self.graph.is_input(label)
        except KeyError as e:
            raise SupernetError(str(e.args[0])) from None
        out = []
        for c in candidates:
            if is_input:
                if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < self._input_sizes[label]:
                    raise SupernetError(
                        f"input choice {label!r} has inputs 0..{self._input_sizes[label] - 1}, got {c!r}"
                    )
                out.append(int(c))
            else:
                names = self._choice_names[label]
                if c not in names:
                    raise SupernetError(f"choice {label!r} has no candidate {c!r}; candidates: {', '.join(names)}")
                out.append(names.index(c))
        return sorted(set(out))

    def restrict(self, label: str, candidates: Iterable[str | int]) -> None:
        """Allow only ``candidates`` of ``label`` (names for a Choice, input indices for an InputChoice).

        Replaces any earlier mask of the label. The distribution renormalises over what is allowed.

        Raises:
            SupernetError: unknown label or candidate; an empty set; fewer inputs than the InputChoice
                keeps; or only zero ops on a Choice that feeds an InputChoice.
        """
        idx = self._indices(label, candidates)
        if not idx:
            raise SupernetError(f"restrict({label!r}) needs at least one candidate")
        if label in self._input_sizes:
            need = self.graph.inputs[label].n_chosen
            if len(idx) < need:
                raise SupernetError(f"input choice {label!r} keeps {need} inputs; allow at least {need}, got {idx}")
        elif label in self.graph.fed and all(self._zero[label][i] for i in idx) and not all(self._zero[label]):
            raise SupernetError(
                f"choice {label!r} feeds an input choice and cannot be restricted to zero ops only; "
                f"drop the input instead (restrict its input choice)"
            )
        self.masks.set(label, [i in idx for i in range(self.graph.size(label))])

    def fix(self, label: str, candidate: str | Iterable[int]) -> None:
        """Decide ``label``: one candidate name for a Choice, its ``n_chosen`` input indices for an InputChoice."""
        if label in self._input_sizes:
            if isinstance(candidate, (str, int)):
                raise SupernetError(f"fix({label!r}) of an input choice takes a list of input indices")
            picked = list(candidate)
            if len(set(picked)) != self.graph.inputs[label].n_chosen:
                raise SupernetError(
                    f"input choice {label!r} keeps {self.graph.inputs[label].n_chosen} inputs, got {picked}"
                )
            self.restrict(label, picked)
        else:
            self.restrict(label, [candidate])  # type: ignore[list-item]

    def unmask(self, label: str | None = None) -> None:
        """Allow every candidate again (of ``label``, or of every label)."""
        for lb in [label] if label is not None else list(self.graph.labels):
            self._indices(lb, [])  # validates the label
            self.masks.set(lb, [True] * self.graph.size(lb))

    def allowed(self, label: str) -> tuple[Any, ...]:
        """The allowed candidate names (Choice) or input indices (InputChoice) of ``label``."""
        self._indices(label, [])
        mask = self.masks.allowed(label)
        if label in self._input_sizes:
            return tuple(i for i, a in enumerate(mask) if a)
        return tuple(n for n, a in zip(self._choice_names[label], mask) if a)

    def is_decided(self, label: str) -> bool:
        """Whether the masks leave ``label`` no choice (one candidate; ``n_chosen`` inputs)."""
        n = len(self.allowed(label))
        return n == (self.graph.inputs[label].n_chosen if label in self._input_sizes else 1)

    @contextlib.contextmanager
    def perturb(self, label: str, candidate: str | int) -> Iterator[None]:
        """Inside the block, forwards run without ``candidate`` of ``label`` (an op name, or an input index).

        Nothing is renormalised: a mixing strategy's other weights keep their values (DARTS-PT's
        "remove the op"); a sampling strategy draws among the rest. Blocks nest.

        Raises:
            SupernetError: unknown label or candidate, or a candidate the masks already exclude.
        """
        (i,) = self._indices(label, [candidate])
        if not self.masks.allowed(label)[i]:
            raise SupernetError(f"cannot perturb {candidate!r} of {label!r}: the masks already exclude it")
        dropped = self._dropped.setdefault(label, set())
        fresh = i not in dropped
        dropped.add(i)
        try:
            yield
        finally:
            if fresh:
                dropped.discard(i)
            if not dropped:
                self._dropped.pop(label, None)

    def active(self, label: str) -> tuple[int, ...]:
        """Candidate (input) indices a forward uses now: allowed, not perturbed away, and - for a Choice
        feeding InputChoices - none if every input it feeds is masked or perturbed away. Host-side only."""
        mask = self.masks.allowed(label)
        dropped = self._dropped.get(label, ())
        slots = self.graph.feeds.get(label)
        if slots and not any(self._input_live(s.input_choice, s.index) for s in slots):
            return ()
        return tuple(i for i, a in enumerate(mask) if a and i not in dropped)

    def _input_live(self, label: str, index: int) -> bool:
        return self.masks.allowed(label)[index] and index not in self._dropped.get(label, ())

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
        """Per InputChoice label, a weight per input: 1 where allowed and 0 where masked, unless the strategy
        learns them."""
        return {label: self.masks.tensor(label).to(torch.float32) for label in self._input_sizes}

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

    def on_epoch_start(self, epoch: int, epochs: int) -> None:
        """Called by the loop before each epoch (``epoch`` counts from 0 of ``epochs``); GDAS anneals τ here."""

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

