"""GM-NAS's gradient-matching distance between the candidates of one edge.

For each candidate the edge is forced to it and the cross-entropy gradient of the shared weights
*outside* that edge is taken on one training batch, flattened into a single vector. Candidates whose
gradients point alike can share weights; those that conflict should be split apart. The distance is
``1 - cos`` of those vectors (with the code's ``+1e-6`` in the denominator), averaged over ``R``
batches; all candidates see the same batch and the same random draws within a repeat.

Which weights count (``scope``): ``"choices"`` takes every Choice's ops except the split edge's (the
DARTS-space code: its MixedOps only); a module path such as ``"cells"`` takes everything under
``space.cells`` except the split edge's ops (the NB201 code: its cells, ResNet reduction blocks
included). Both leave out the stem and the classifier, as the paper does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from hwnas.api.choice import Choice
from hwnas.data.sampler import mix_seed
from hwnas.selection.measure import bn_stats_restored


def scope_parameters(supernet: Any, label: str, scope: Sequence[str]) -> list[nn.Parameter]:
    """The weights whose gradients are compared when splitting ``label`` (see the module docstring)."""
    space: nn.Module = supernet.space
    excluded: set[int] = set()
    chosen: dict[int, nn.Parameter] = {}
    for _, m in space.named_modules():
        if isinstance(m, Choice) and m.label == label:
            excluded.update(id(p) for p in m.parameters())
    for entry in scope:
        if entry == "choices":
            for _, m in space.named_modules():
                if isinstance(m, Choice) and m.label != label:
                    chosen.update((id(p), p) for p in m.parameters())
            continue
        try:
            sub = space.get_submodule(entry)
        except AttributeError:
            names = [n for n, _ in space.named_children()]
            raise ValueError(f"splits.grad_scope names {entry!r}, which is no module of the space; "
                             f"use 'choices' or one of {', '.join(names)}") from None
        chosen.update((id(p), p) for p in sub.parameters())
    params = [p for i, p in chosen.items() if i not in excluded and p.requires_grad]
    if not params:
        raise ValueError(f"splits.grad_scope {list(scope)} leaves no weights outside {label!r} to compare")
    return params


@contextlib.contextmanager
def forced(supernet: Any, label: str, candidate: str, others: Sequence[str],
           force: Literal["hard", "soft"]) -> Iterator[None]:
    """Force ``label`` to ``candidate``: ``hard`` fixes it (weight 1), ``soft`` perturbs the ``others``
    away so it keeps its own weight (the DARTS-space code's 1/7 under a uniform α)."""
    if force == "hard":
        before = supernet.masks.allowed(label)
        supernet.fix(label, candidate)
        try:
            yield
        finally:
            supernet.masks.set(label, before)
        return
    with contextlib.ExitStack() as stack:
        for o in others:
            if o != candidate:
                stack.enter_context(supernet.perturb(label, o))
        yield


def _flat_grad(loss: torch.Tensor, params: Sequence[nn.Parameter]) -> torch.Tensor:
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in zip(grads, params)])


def cosine_distances(vectors: Sequence[torch.Tensor]) -> torch.Tensor:
    """``1 - <a, b> / (|a| |b| + 1e-6)`` for every pair (GM-NAS's ``match_loss(..., 'cos')``)."""
    v = torch.stack([x.double() for x in vectors])
    norms = v.norm(dim=1)
    return 1.0 - (v @ v.T) / (norms[:, None] * norms[None, :] + 1e-6)


def gradient_distances(
    supernet: Any,
    label: str,
    batches: Sequence[Any],
    *,
    candidates: Sequence[str],
    force: Literal["hard", "soft"] = "hard",
    scope: Sequence[str] = ("choices",),
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> torch.Tensor:
    """The ``K x K`` matrix of mean gradient distances between ``candidates`` of ``label``.

    The supernet runs in training mode (batch statistics, as the code) and its BatchNorm running
    statistics, masks and gradients are left as they were.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from hwnas.api import Choice
        >>> from hwnas.supernets import DartsSupernet
        >>> conv = lambda ci, co, s: nn.Conv2d(ci, co, 3, s, 1)
        >>> body = nn.Sequential(Choice({"a": conv, "b": conv}, label="e", c_in=3, c_out=4),
        ...                      Choice({"c": conv, "d": conv}, label="f", c_in=4, c_out=4), nn.Flatten(),
        ...                      nn.LazyLinear(2))
        >>> net = DartsSupernet(body); _ = net(torch.zeros(1, 3, 4, 4))
        >>> batch = (torch.randn(4, 3, 4, 4), torch.tensor([0, 1, 0, 1]))
        >>> d = gradient_distances(net, "e", [batch], candidates=["a", "b"])
        >>> d.shape, float(d[0, 0]) < 1e-6
        (torch.Size([2, 2]), True)
    """
    params = scope_parameters(supernet, label, scope)
    allowed = supernet.allowed(label)
    total = torch.zeros(len(candidates), len(candidates), dtype=torch.float64)
    was_training, phase = supernet.training, supernet.phase
    devices = [torch.cuda.current_device()] if torch.device(device).type == "cuda" else []
    try:
        supernet.train()
        supernet.set_phase("weight")
        with bn_stats_restored(supernet):
            for r, batch in enumerate(batches):
                x, y = batch[0].to(device), batch[1].to(device)
                vectors = []
                for c in candidates:
                    with torch.random.fork_rng(devices=devices), forced(supernet, label, c, allowed, force):
                        torch.manual_seed(mix_seed(seed, 3571, r))
                        out = supernet(x)
                        logits = out[0] if isinstance(out, (tuple, list)) else out
                        vectors.append(_flat_grad(F.cross_entropy(logits.float(), y), params))
                total += cosine_distances(vectors).cpu()
    finally:
        supernet.train(was_training)
        supernet.set_phase(phase)
    dist = total / max(len(batches), 1)
    dist.fill_diagonal_(0.0)
    return dist.float()
