"""Lookup tables measured on this machine: every candidate timed where it sits, plus the fixed part.

Each candidate module is built afresh, put in eval mode on the device and timed on a zero tensor of
the input shape its Choice sees in the network (one dry run records it). Candidates that are equal at
equal shapes (same factory, widths, stride and input) are timed once. The fixed part is the network
with every Choice replaced by a stub that returns zeros, timed as a whole. Timing: ``warmup`` untimed
runs, then the median of ``repeats`` runs, each bracketed by ``torch.cuda.synchronize`` on CUDA, under
``torch.inference_mode``. The table records the device, torch version and thread count.

The sum ``fixed + Σ candidates`` omits what running them together changes (caches, launch overlap):
compare it with :func:`time_module` on a frozen network to see how far it is on your device.

Example:
    >>> import torch
    >>> from hwnas.search_spaces import NB201Space
    >>> lut = profile_lut(NB201Space(C=4, N=1), torch.zeros(1, 3, 8, 8), warmup=0, repeats=1)
    >>> lut.metrics, lut.device["type"]
    (('latency_ms',), 'cpu')
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from hwnas.api import UserError, space_kwargs, space_name
from hwnas.api.device import resolve_device as _resolve_device
from hwnas.latency_models.lut.candidates import (
    _candidate_key,
    _input_edges,
    _outer_choices,
    _Stub,
    _swap,
    network_of,
    trace_places,
)
from hwnas.latency_models.lut.table import LatencyLUT


def profiling_device(name: str | torch.device) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N``; asking for CUDA where there is none is a :class:`UserError`."""
    dev = _resolve_device(name)
    if dev.type not in ("cpu", "cuda"):
        raise UserError(f"device {name!r}: profiling supports cpu and cuda")
    return dev


def device_info(device: torch.device) -> dict[str, Any]:
    """What the timings depend on: device type and name, torch version, threads."""
    info: dict[str, Any] = {"type": device.type, "torch": torch.__version__, "threads": torch.get_num_threads(),
                            "interop_threads": torch.get_num_interop_threads(), "machine": platform.machine(),
                            "processor": platform.processor() or platform.machine()}
    if device.type == "cuda":
        idx = device.index if device.index is not None else torch.cuda.current_device()
        info["name"] = torch.cuda.get_device_name(idx)
        info["cuda"] = torch.version.cuda
    else:
        info["name"] = info["processor"]
    return info


def _sync(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


@torch.inference_mode()
def time_module(module: nn.Module, x: torch.Tensor, *, warmup: int = 5, repeats: int = 20) -> float:
    """Median wall time of ``module(x)`` in milliseconds (module and ``x`` already on one device).

    Example:
        >>> import torch
        >>> time_module(torch.nn.Conv2d(3, 4, 3), torch.zeros(1, 3, 8, 8), warmup=1, repeats=3) > 0
        True
    """
    if repeats < 1 or warmup < 0:
        raise UserError(f"need repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
    sync = _sync(x.device)
    module.eval()
    for _ in range(warmup):
        module(x)
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        module(x)
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(statistics.median(times))


def profile_lut(space_or_supernet: nn.Module, example_input: torch.Tensor, *, device: str | torch.device = "cpu",
                warmup: int = 5, repeats: int = 20, target: str = "") -> LatencyLUT:
    """Measure a latency table (``latency_ms``) for a space or a supernet's space at ``example_input``'s shape.

    Args:
        space_or_supernet: A search space (or a supernet; candidates are built afresh at full width).
        example_input: A batch shaped like the data; its batch size is the one timed.
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        warmup: Untimed runs per module. repeats: Timed runs per module (the median is kept).
    """
    dev = profiling_device(device)
    net = network_of(space_or_supernet)
    x0 = example_input.detach()
    places = trace_places(net, x0)
    choices = dict(_outer_choices(net))
    timed: dict[Any, float] = {}
    entries: dict[str, dict[str, dict[str, float]]] = {}
    for p in places:
        ch = choices[p.name]
        per = entries.setdefault(p.label, {n: {"latency_ms": 0.0} for n in p.candidates})
        for name in p.candidates:
            key = _candidate_key(ch, name, p.input_shape)
            if key not in timed:
                op = ch.build(name).to(dev)
                timed[key] = time_module(op, torch.zeros(p.input_shape, device=dev), warmup=warmup, repeats=repeats)
                del op
            per[name]["latency_ms"] += timed[key]
    fixed_ms = _time_fixed(net, x0, places, choices, dev, warmup=warmup, repeats=repeats)
    info = device_info(dev)
    info.update({"warmup": warmup, "repeats": repeats, "statistic": "median", "distinct_modules": len(timed)})
    return LatencyLUT(space=space_name(net), entries=entries, fixed={"latency_ms": fixed_ms}, metrics=("latency_ms",),
                      space_kwargs=space_kwargs(net), input_size=tuple(x0.shape[1:]), batch=int(x0.shape[0]),
                      target=target or f"measured:{dev}", device=info, input_edges=_input_edges(net))


def _time_fixed(net: nn.Module, x: torch.Tensor, places: list[Any], choices: dict[str, nn.Module],
                dev: torch.device, *, warmup: int, repeats: int) -> float:
    # The network is timed in place on the device with stubs for its Choices, then put back as it was.
    params = next(iter(net.parameters()), None)
    home = params.device if params is not None else torch.device("cpu")
    was_training = net.training
    try:
        for p in places:
            _swap(net, p.name, _Stub(p.output_shape))
        net.to(dev)
        return time_module(net, x.to(dev), warmup=warmup, repeats=repeats)
    finally:
        for p in places:
            _swap(net, p.name, choices[p.name])
        net.to(home)
        net.train(was_training)
