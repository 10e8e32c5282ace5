"""DARTS second-order (unrolled) architecture gradient with a finite-difference Hessian-vector product.

With ``w' = w − ξ (momentum · buf + ∇_w L_train(w, α) + wd · w)`` (one virtual SGD step), DARTS
approximates

    ∇_α L_val(w', α) − ξ ∇²_{α,w} L_train(w, α) · ∇_{w'} L_val(w', α)

and the mixed second derivative is a central difference:
``(∇_α L_train(w⁺, α) − ∇_α L_train(w⁻, α)) / 2ε`` with ``w± = w ± ε v``, ``v = ∇_{w'} L_val``,
``ε = r / ‖v‖``. Every evaluation at other weights uses :func:`torch.func.functional_call` on the
supernet itself (no model copy); the module's own parameters are never modified.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call


def _buffers_by_id(buffers: Mapping[Any, Any] | None) -> dict[int, torch.Tensor]:
    """Normalise momentum buffers keyed by parameter or by ``id(parameter)`` to a dict keyed by id.

    (Never look a tensor up in an id-keyed dict or vice versa: a tensor hashes as its id and would
    then be compared elementwise with the int.)
    """
    out: dict[int, torch.Tensor] = {}
    for k, v in (buffers or {}).items():
        if isinstance(v, Mapping):  # an optimizer's per-parameter state dict
            v = v.get("momentum_buffer")
        if v is not None:
            out[k if isinstance(k, int) else id(k)] = v
    return out


def _grads(loss: torch.Tensor, params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    gs = torch.autograd.grad(loss, list(params), allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, gs)]


def unrolled_arch_backward(
    supernet: nn.Module,
    loss_fn: Callable[[Any, torch.Tensor], torch.Tensor],
    train_batch: tuple[torch.Tensor, torch.Tensor],
    val_batch: tuple[torch.Tensor, torch.Tensor],
    *,
    lr: float,
    momentum: float,
    weight_decay: float,
    momentum_buffers: Mapping[Any, Any] | None = None,
    r: float = 1e-2,
    reduce: Callable[[list[torch.Tensor]], list[torch.Tensor]] | None = None,
) -> torch.Tensor:
    """Accumulate DARTS's second-order architecture gradient into ``α.grad`` (like ``backward()``).

    Args:
        supernet: A strategy exposing ``arch_parameters()`` and ``weight_parameters()``; it should be
            deterministic per forward (DARTS, PC-DARTS), since the loss is evaluated several times.
        loss_fn: ``loss_fn(output, target) -> scalar``. Terms that depend only on α (a hardware cost)
            may be included: their gradient enters ∇_α L_val and cancels in the Hessian term.
        train_batch: ``(x, y)`` for the virtual weight step and the Hessian term.
        val_batch: ``(x, y)`` for the validation loss.
        lr: ξ, the weight optimizer's current learning rate.
        momentum: SGD momentum of the weight optimizer.
        weight_decay: Weight decay of the weight optimizer.
        momentum_buffers: The weight optimizer's momentum buffers, keyed by parameter or ``id(parameter)``;
            values are tensors or per-parameter state dicts (so ``optimizer.state`` itself works).
            Missing buffers count as zero (the optimizer's first step).
        r: ε = r / ‖∇_{w'} L_val‖ (DARTS: 0.01).
        reduce: Averages a list of gradients over the processes of a data-parallel job. Every gradient
            is reduced where it is computed, before it is used, so each rank takes the virtual step, the
            finite difference and the result of the whole job's batches (equal per rank): exactly what
            one process would compute on their union.

    Returns:
        The validation loss at the virtual weights ``w'`` (detached).

    Example:
        >>> import torch, torch.nn.functional as F
        >>> from torch import nn
        >>> from hwnas.api import Choice
        >>> from hwnas.supernets import DartsSupernet
        >>> lin = lambda ci, co, s: nn.Linear(ci, co)
        >>> net = DartsSupernet(nn.Sequential(Choice({"a": lin, "b": lin}, label="op", c_in=4, c_out=3)))
        >>> batch = (torch.randn(8, 4), torch.randint(0, 3, (8,)))
        >>> loss = unrolled_arch_backward(net, F.cross_entropy, batch, batch, lr=0.1, momentum=0.9, weight_decay=3e-4)
        >>> net.alpha_of("op").grad.shape
        torch.Size([2])
    """
    arch = list(supernet.arch_parameters())
    weights = list(supernet.weight_parameters())
    ids = {id(p): n for n, p in supernet.named_parameters()}
    w_names = [ids[id(p)] for p in weights]
    xt, yt = train_batch
    xv, yv = val_batch

    def _loss_at(new_w: Sequence[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss_fn(functional_call(supernet, dict(zip(w_names, new_w)), (x,), strict=False), y)

    # 1. virtual step w' = w − ξ (m·buf + ∇w L_train + wd·w), as the weight optimizer would take it
    mean = reduce or (lambda gs: gs)
    g_train = mean(_grads(loss_fn(supernet(xt), yt), weights))
    bufs = _buffers_by_id(momentum_buffers)
    with torch.no_grad():
        w_virtual = []
        for p, g in zip(weights, g_train):
            d = g + weight_decay * p
            buf = bufs.get(id(p))
            if buf is not None and momentum:
                d = d + momentum * buf
            w_virtual.append((p - lr * d).requires_grad_(True))
    # 2. ∇α and ∇w' of L_val(w', α)
    loss_val = _loss_at(w_virtual, xv, yv)
    grads = mean(_grads(loss_val, arch + w_virtual))
    d_alpha, v = grads[: len(arch)], grads[len(arch) :]
    # 3. finite-difference ∇²_{α,w} L_train · v at w
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in v]))
    if float(norm) > 0:
        eps = r / norm
        with torch.no_grad():
            w_plus = [p + eps * t for p, t in zip(weights, v)]
            w_minus = [p - eps * t for p, t in zip(weights, v)]
        g_plus = mean(_grads(_loss_at(w_plus, xt, yt), arch))
        g_minus = mean(_grads(_loss_at(w_minus, xt, yt), arch))
        d_alpha = [d - lr * (gp - gm) / (2 * eps) for d, gp, gm in zip(d_alpha, g_plus, g_minus)]
    with torch.no_grad():
        for a, d in zip(arch, d_alpha):
            if a.grad is None:
                a.grad = d.detach().clone()
            else:
                a.grad.add_(d)
    return loss_val.detach()
