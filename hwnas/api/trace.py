"""Collect OpSpecs from any module by one dry-run forward with hooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from hwnas.api.opspec import OpSpec

_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
_NORMS = (nn.BatchNorm2d, nn.BatchNorm1d, nn.GroupNorm, nn.LayerNorm)
_ACTS = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish, nn.Hardsigmoid, nn.Sigmoid)
_ELTWISE = {
    torch.add,
    torch.Tensor.add,
    torch.Tensor.__add__,
    torch.Tensor.__iadd__,
    torch.Tensor.add_,
    torch.mul,
    torch.Tensor.mul,
    torch.Tensor.__mul__,
    torch.Tensor.__imul__,
    torch.Tensor.mul_,
}


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _hw(t: torch.Tensor) -> tuple[int, int]:
    return (int(t.shape[-2]), int(t.shape[-1])) if t.dim() >= 4 else (1, 1)


def _spec_for(name: str, m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> OpSpec | None:
    batch = int(x.shape[0]) if x.dim() > 1 else 1
    h_in, w_in = _hw(x)
    h_out, w_out = _hw(y)
    if isinstance(m, nn.Conv2d):
        return OpSpec(
            "conv",
            m.in_channels,
            m.out_channels,
            h_in,
            w_in,
            h_out,
            w_out,
            _pair(m.kernel_size),
            _pair(m.stride),
            _pair(m.padding) if not isinstance(m.padding, str) else (0, 0),
            _pair(m.dilation),
            m.groups,
            batch,
            name=name,
        )
    if isinstance(m, nn.Linear):
        rows = int(x.numel() // x.shape[-1] // batch) if x.dim() > 1 else 1
        return OpSpec("linear", m.in_features, m.out_features, batch=batch, name=name, extra={"rows": rows})
    if isinstance(m, _POOLS):
        k = getattr(m, "kernel_size", None)
        kernel = _pair(k) if k is not None else (h_in // max(h_out, 1), w_in // max(w_out, 1))
        s = getattr(m, "stride", None)
        stride = _pair(s) if s is not None else kernel
        c = int(x.shape[1])
        return OpSpec(
            "pool",
            c,
            c,
            h_in,
            w_in,
            h_out,
            w_out,
            kernel,
            stride,
            batch=batch,
            name=name,
            extra={"op": type(m).__name__},
        )
    if isinstance(m, _NORMS):
        c = int(x.shape[1])
        return OpSpec("norm", c, c, h_in, w_in, h_out, w_out, batch=batch, name=name)
    if isinstance(m, _ACTS):
        c = int(x.shape[1]) if x.dim() > 1 else 1
        return OpSpec("act", c, c, h_in, w_in, h_out, w_out, batch=batch, name=name, extra={"op": type(m).__name__})
    return None


class _EltwiseMode(TorchFunctionMode):
    def __init__(self, sink: Callable[[torch.Tensor], None]) -> None:
        super().__init__()
        self._sink = sink

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        out = func(*args, **(kwargs or {}))
        if func in _ELTWISE and isinstance(out, torch.Tensor) and all(isinstance(a, torch.Tensor) for a in args[:2]):
            self._sink(out)
        return out


@torch.no_grad()
def collect_opspecs(module: nn.Module, *inputs: torch.Tensor, eltwise: bool = True) -> list[OpSpec]:
    """Run ``module(*inputs)`` once and return an OpSpec per conv, linear, pool, norm, activation and add.

    Shapes come from the tensors that actually flow, so nothing is hard-coded. The module's
    training mode is restored afterwards.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> specs = collect_opspecs(nn.Conv2d(3, 8, 3, padding=1), torch.zeros(1, 3, 8, 8))
        >>> specs[0].kind, specs[0].macs
        ('conv', 13824)
    """
    specs: list[OpSpec] = []
    handles = []

    def _hook(name: str) -> Callable[..., None]:
        def fn(m: nn.Module, args: tuple[Any, ...], out: Any) -> None:
            x = args[0] if args and isinstance(args[0], torch.Tensor) else None
            if x is None or not isinstance(out, torch.Tensor):
                return
            s = _spec_for(name, m, x, out)
            if s is not None:
                specs.append(s)

        return fn

    for name, m in module.named_modules():
        if not list(m.children()):
            handles.append(m.register_forward_hook(_hook(name)))

    def _elt(out: torch.Tensor) -> None:
        h, w = _hw(out)
        c = int(out.shape[1]) if out.dim() > 1 else 1
        specs.append(OpSpec("eltwise", c, c, h, w, h, w, batch=int(out.shape[0]) if out.dim() > 1 else 1))

    was_training = module.training
    module.eval()
    try:
        if eltwise:
            with _EltwiseMode(_elt):
                module(*inputs)
        else:
            module(*inputs)
    finally:
        for h in handles:
            h.remove()
        module.train(was_training)
    return specs


def count_params(module: nn.Module, *, exclude: tuple[str, ...] = ()) -> int:
    """Number of parameters, skipping those whose qualified name starts with any of ``exclude``."""
    return sum(p.numel() for n, p in module.named_parameters() if not n.startswith(exclude))


def count_macs(module: nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-accumulates of conv and linear layers per sample (NAS-Bench-201's and DARTS' "FLOPs")."""
    specs = collect_opspecs(module, *inputs, eltwise=False)
    total = 0
    for s in specs:
        rows = s.extra.get("rows", 1) if s.kind == "linear" else 1
        total += s.macs * rows
    return total
