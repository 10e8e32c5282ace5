"""Check an ArchSpec against a space and build the plain network it names."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace

from torch import nn

from hwnas.api.archspec import ArchSpec, ArchSpecError
from hwnas.api.choice import Choice, ChosenInputs, InputChoice, Skipped
from hwnas.api.graph import DecisionGraph


def check_arch(module: nn.Module, arch: ArchSpec, *, connected: bool = False,
               input_size: Sequence[int] | None = None) -> ArchSpec:
    """Validate ``arch`` against the decisions in ``module`` and return its canonical form.

    The canonical form drops the choices of edges that no kept input uses, so equal
    architectures have equal ``archid``. With ``connected=True`` it also checks that the frozen
    network's output depends on its input (see :mod:`hwnas.api.connectivity`; one forward and
    backward at ``input_size``, default the space's ``default_input_size``).

    Raises:
        ArchSpecError: naming the unknown label, the missing label, or the bad candidate,
            with the valid values; or, with ``connected``, a degenerate architecture.
    """
    graph = DecisionGraph.of(module)
    unknown = sorted(set(arch.choices) - set(graph.labels))
    if unknown:
        raise ArchSpecError(
            f"ArchSpec for space {arch.space!r} has unknown label(s) {unknown[:5]}{'...' if len(unknown) > 5 else ''}; "
            f"the space's labels are: {', '.join(sorted(graph.labels))}"
        )
    choices = dict(arch.choices)
    for label, d in graph.inputs.items():
        if label in choices:
            v = choices[label]
            if (
                isinstance(v, str)
                or len(v) != d.n_chosen
                or len(set(v)) != len(v)
                or not all(0 <= i < d.n_candidates for i in v)
            ):
                raise ArchSpecError(
                    f"choice {label!r} must list {d.n_chosen} distinct input indices "
                    f"in [0, {d.n_candidates}), got {v!r}"
                )
        else:
            raise ArchSpecError(
                f"ArchSpec is missing the input choice {label!r} ({d.n_chosen} of {d.n_candidates} inputs)"
            )
    unused = graph.unused_labels(choices)
    for label, d in graph.choices.items():
        if label in unused:
            choices.pop(label, None)
            continue
        if label not in choices:
            raise ArchSpecError(f"ArchSpec is missing choice {label!r}; candidates: {', '.join(d)}")
        v = choices[label]
        if not isinstance(v, str) or v not in d:
            raise ArchSpecError(f"choice {label!r} = {v!r} is not a candidate; candidates: {', '.join(d)}")
    out = replace(arch, choices=choices)
    if connected:
        from hwnas.api.connectivity import is_degenerate  # it freezes, so it imports this module

        if is_degenerate(module, out, input_size):
            raise ArchSpecError(
                f"architecture {out.archid} is degenerate: no path of non-zero ops joins its input to its output, "
                "so it outputs the same whatever it sees; pick a non-zero op on at least one such path"
            )
    return out


def freeze(space: nn.Module, arch: ArchSpec) -> nn.Module:
    """The plain network of ``arch``: the space's own ``freeze`` if it has one, else :func:`freeze_module`."""
    own = getattr(space, "freeze", None)
    return own(arch) if callable(own) else freeze_module(space, arch)


def freeze_module(module: nn.Module, arch: ArchSpec) -> nn.Module:
    """Return a copy of ``module`` with each Choice replaced by its chosen candidate, built fresh.

    InputChoices become :class:`ChosenInputs`; Choices whose edge was not kept become
    :class:`Skipped` and cost nothing. The result holds no Choice and trains like any module.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from hwnas.api import ArchSpec, Choice, freeze_module
        >>> net = nn.Sequential(Choice(["skip_connect", "nor_conv_3x3"], label="op", c_in=4, c_out=4))
        >>> frozen = freeze_module(net, ArchSpec(space="custom", choices={"op": "skip_connect"}))
        >>> frozen(torch.ones(1, 4, 2, 2)).shape
        torch.Size([1, 4, 2, 2])
    """
    arch = check_arch(module, arch)
    unused = DecisionGraph.of(module).unused_labels(arch.choices)
    out = copy.deepcopy(module)

    def _replace(parent: nn.Module) -> None:
        for name, child in list(parent.named_children()):
            if isinstance(child, Choice):
                new = Skipped() if child.label in unused else child.build(str(arch.choices[child.label]))
                setattr(parent, name, new)
            elif isinstance(child, InputChoice):
                setattr(parent, name, ChosenInputs(arch.choices[child.label]))
            else:
                _replace(child)

    if isinstance(out, (Choice, InputChoice)):
        raise ArchSpecError("freeze_module needs a module that contains Choices, not a bare Choice")
    _replace(out)
    return out
