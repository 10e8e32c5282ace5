"""Turn a device name from a config or a command line into a ``torch.device``, loudly."""

from __future__ import annotations

import torch

from hwnas.api.errors import UserError


class DeviceError(UserError):
    """An unknown device name, or CUDA asked for where there is none."""


def resolve_device(name: str | torch.device, *, fix: str = "cpu") -> torch.device:
    """``auto`` (CUDA when present, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``.

    Args:
        name: The device name.
        fix: What the error message suggests instead, e.g. ``--set device=cpu``.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"device {name!r} is not a valid torch device; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {name!r} was asked for but CUDA is not available here; use {fix}")
    return dev
