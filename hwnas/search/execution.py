"""How a search step is computed on this machine (never what it computes): memory format and autocast.

Every setting here leaves the step's result the same up to floating-point rounding; the ``auto`` defaults
are the choices that measured fastest (``benchmarks/peers.py`` prints the figures of each lever alone).

* ``channels_last: auto`` uses NHWC on the CPU, where oneDNN's depthwise and pooling kernels are several
  times faster in it, and on CUDA when autocast is on (tensor-core convolutions want NHWC). Convolutions with
  fewer than 8 input channels stay NCHW (:func:`apply_channels_last`).
* ``amp: auto`` autocasts to bfloat16 on CUDA where supported and on CPUs with native bfloat16 arithmetic
  (AVX512-BF16 or AMX); elsewhere it is off, since emulated bfloat16 is slower than float32.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch
from torch import nn

#: CPU flags (``/proc/cpuinfo``) that mean native bfloat16 arithmetic.
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); False where it cannot tell."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return any(f in flags.split() for f in _BF16_FLAGS)


def autocast_dtype(amp: bool | str, amp_dtype: str, device: torch.device) -> torch.dtype | None:
    """The dtype a step autocasts to, or None for full precision.

    Args:
        amp: ``True``/``False``, or ``"auto"``: bfloat16 on CUDA where supported and on CPUs with native
            bfloat16, else off.
        amp_dtype: With ``amp=True``, ``float16`` or ``bfloat16`` (float16 is a CUDA dtype: on the CPU
            ``True`` means bfloat16).
        device: Where the step runs.

    Example:
        >>> autocast_dtype(False, "float16", torch.device("cpu")) is None
        True
        >>> autocast_dtype(True, "float16", torch.device("cpu"))
        torch.bfloat16
    """
    if amp == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
        return torch.bfloat16 if device.type == "cpu" and cpu_has_native_bf16() else None
    if not amp:
        return None
    if device.type != "cuda":
        return torch.bfloat16
    return torch.float16 if amp_dtype == "float16" else torch.bfloat16


def use_channels_last(setting: bool | str, device: torch.device, *, amp: torch.dtype | None) -> bool:
    """Whether a step uses the NHWC memory format: ``auto`` on the CPU, and on CUDA with autocast.

    Example:
        >>> use_channels_last("auto", torch.device("cpu"), amp=None)
        True
    """
    if setting == "auto":
        return device.type == "cpu" or (device.type == "cuda" and amp is not None)
    return bool(setting)


def step_execution(train: Any, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """The autocast dtype and memory format of a search step with ``train`` (a ``TrainConfig``) on ``device``.

    The unrolled second-order step runs in full precision (the config refuses ``amp: true`` with it).
    """
    amp = None if train.order == "second" else autocast_dtype(train.amp, train.amp_dtype, device)
    return amp, use_channels_last(train.channels_last, device, amp=amp)


#: Convolutions with fewer input channels than this run in NCHW under ``channels_last``.
NARROW_CONV = 8


def _nchw_input(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return (args[0].contiguous(), *args[1:])


def apply_channels_last(module: nn.Module) -> None:
    """Put ``module`` in NHWC, except its convolutions with fewer than :data:`NARROW_CONV` input channels.

    Those keep NCHW weights and get their input in NCHW: NHWC gains nothing at such widths, and oneDNN's weight
    gradient of a 1x1 stride-2 convolution over an NHWC input of 2 to 7 channels corrupts the heap (torch
    2.14.1, x86 CPU; every such case tried crashed the process).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(4, 8, 1, stride=2), nn.Conv2d(8, 8, 3))
        >>> apply_channels_last(net)
        >>> net[0].weight.is_contiguous(), net[1].weight.is_contiguous(memory_format=torch.channels_last)
        (True, True)
    """
    module.to(memory_format=torch.channels_last)
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and m.in_channels < NARROW_CONV:
            # A fresh NCHW copy, not contiguous(): a 1x1 kernel in NHWC strides counts as contiguous, yet oneDNN
            # reads the strides.
            w = m.weight.data
            m.weight.data = torch.empty(w.shape, dtype=w.dtype, device=w.device).copy_(w)
            if not getattr(m, "_hwnas_nchw", False):  # one hook, however often a trainer is built around it
                m.register_forward_pre_hook(_nchw_input)
                m._hwnas_nchw = True


def to_memory_format(x: Any, channels_last: bool) -> Any:
    """``x`` in NHWC when asked for and it is a batch of images; anything else unchanged."""
    if channels_last and isinstance(x, torch.Tensor) and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x
