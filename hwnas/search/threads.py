"""How many CPU threads torch uses for one op, and why the default is not torch's.

torch starts one intra-op thread per core. Tiny search networks gain little from them, and on a
machine whose cores are shared (CI, a laptop doing other work, several searches at once) OpenMP
threads that wait for each other can make a search ten times slower: the quickstart took 58 minutes
with torch's default on a busy 2-core machine and 5.5 with one thread. hwnas therefore uses half the
cores, at most 4, unless told otherwise by ``threads:`` in the config (``--set threads=N``) or by the
``HWNAS_THREADS`` environment variable, in that order.
"""

from __future__ import annotations

import os

import torch

from hwnas.api.config import ConfigError

ENV = "HWNAS_THREADS"


def default_threads() -> int:
    """Half the cores this process may use, at least 1 and at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores // 2))


def resolve_threads(configured: int | None) -> tuple[int, str]:
    """The thread count to use and where it came from (``config``, ``$HWNAS_THREADS`` or ``default``)."""
    if configured is not None:
        return int(configured), "config"
    env = os.environ.get(ENV)
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ConfigError(f"{ENV}={env!r} is not a whole number of threads; set e.g. {ENV}=2") from None
        if n < 1:
            raise ConfigError(f"{ENV}={env!r} must be >= 1")
        return n, f"${ENV}"
    return default_threads(), "default"


def apply_threads(configured: int | None) -> str:
    """Set torch's intra-op threads; returns a line saying how many, why, and how to change it."""
    n, source = resolve_threads(configured)
    torch.set_num_threads(n)
    return f"threads: {n} ({source}; change with --set threads=N or {ENV}=N)"
