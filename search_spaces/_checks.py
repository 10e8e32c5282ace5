"""Argument checks shared by the built-in spaces; bad values raise :class:`hwnas.api.ConfigError`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hwnas.api import ConfigError


def check_int(owner: str, name: str, value: Any, *, minimum: int) -> int:
    """``value`` as an int >= ``minimum``, or a ConfigError naming ``owner``'s argument."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_float(owner: str, name: str, value: Any, *, low: float, high: float | None = None) -> float:
    """``value`` as a float in ``[low, high]`` (``high=None``: no upper bound)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ConfigError(f"{owner}: {name} must be a number {bound}, got {value!r}")
    return float(value)


def check_option(owner: str, name: str, value: Any, options: Sequence[str]) -> str:
    """``value`` if it is one of ``options``."""
    if value not in options:
        raise ConfigError(f"{owner}: {name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return str(value)


def check_candidates(owner: str, value: Any, known: Sequence[str]) -> tuple[str, ...]:
    """``value`` as a non-empty tuple of distinct names from ``known``, in ``known``'s order (``None``: all)."""
    if value is None:
        return tuple(known)
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ConfigError(f"{owner}: candidates must be a non-empty list of op names from {', '.join(known)}; "
                          f"got {value!r}")
    unknown = [v for v in value if v not in known]
    if unknown:
        raise ConfigError(f"{owner}: unknown candidate(s) {unknown}; choose from {', '.join(known)}")
    if len(set(value)) != len(value):
        raise ConfigError(f"{owner}: candidates {list(value)} name an op twice")
    return tuple(n for n in known if n in value)
