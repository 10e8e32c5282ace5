"""Seeds, the deterministic mode, and RNG states that survive ``torch.load(weights_only=True)``.

A resumed search continues exactly only if every random stream continues where it stopped: Python's
``random``, NumPy's global generator, torch's CPU generator, every CUDA device's generator, and any
``torch.Generator`` the loop owns (e.g. the one that shuffles a DataLoader). :func:`capture_rng_state`
returns them as plain tensors, ints, floats, strings, lists and dicts, so a checkpoint holding them
loads with ``weights_only=True``.
"""

from __future__ import annotations

import os
import random
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

#: cuBLAS needs this set before its first use to be deterministic on CUDA >= 10.2.
CUBLAS_WORKSPACE_CONFIG = ":4096:8"

RNG_FORMAT = "hwnas.rng/1"


def seed_everything(seed: int) -> int:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every CUDA device).

    ``PYTHONHASHSEED`` cannot change the hashing of a running interpreter, so it is not set here;
    nothing in hwnas depends on ``hash()`` order.

    Example:
        >>> seed_everything(0)
        0
        >>> a = torch.rand(2); _ = seed_everything(0); torch.equal(a, torch.rand(2))
        True
    """
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device, lazily
    return seed


def set_deterministic(enabled: bool, *, benchmark: bool | None = None) -> None:
    """Switch torch's deterministic mode on or off.

    On: ``torch.use_deterministic_algorithms(True, warn_only=True)`` (ops without a deterministic
    kernel warn instead of failing, so a search never dies on them), cuDNN deterministic and not
    benchmarking, and ``CUBLAS_WORKSPACE_CONFIG`` set if it was unset. The latter only takes effect
    if cuBLAS has not been used yet in this process, so call this before the first CUDA matmul.
    Off: all of it back to torch's defaults; ``benchmark`` (cuDNN autotuning) is left as it is
    unless given.

    Example:
        >>> set_deterministic(True); torch.are_deterministic_algorithms_enabled()
        True
        >>> set_deterministic(False)
    """
    if enabled:
        was_set = "CUBLAS_WORKSPACE_CONFIG" in os.environ
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG)
        if not was_set and torch.cuda.is_available() and torch.cuda.is_initialized():
            warnings.warn(
                "CUDA was initialised before CUBLAS_WORKSPACE_CONFIG was set, so cuBLAS may not be "
                f"deterministic; export CUBLAS_WORKSPACE_CONFIG={CUBLAS_WORKSPACE_CONFIG} before starting Python",
                stacklevel=2,
            )
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False if benchmark is None else bool(benchmark)
    else:
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.deterministic = False
        if benchmark is not None:
            torch.backends.cudnn.benchmark = bool(benchmark)


def seed_worker(worker_id: int) -> None:
    """A DataLoader ``worker_init_fn``: seed ``random`` and NumPy in each worker from torch's seed.

    torch seeds each worker's torch generator from the loader's generator; Python and NumPy are not
    reseeded by torch, so without this every worker draws the same augmentations.
    """
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


def capture_rng_state(generators: Mapping[str, torch.Generator] | None = None) -> dict[str, Any]:
    """Snapshot every random stream in a form ``torch.load(weights_only=True)`` accepts.

    Args:
        generators: Extra named ``torch.Generator`` objects the caller owns (DataLoader shuffling,
            arch-split sampling); restored by name in :func:`restore_rng_state`.

    Returns:
        ``{"format", "python", "numpy", "torch", "cuda", "generators"}``; ``cuda`` is a list with one
        state per visible device (empty without CUDA).

    Example:
        >>> s = capture_rng_state(); a = torch.rand(3); restore_rng_state(s); torch.equal(a, torch.rand(3))
        True
    """
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "format": RNG_FORMAT,
        # Python's Mersenne state is 624 uint32 words plus a position: int64 holds them exactly.
        "python": {"version": int(version), "state": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64).copy()),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": _cuda_states(),
        "generators": {str(k): g.get_state() for k, g in (generators or {}).items()},
    }
    return state


def restore_rng_state(state: Mapping[str, Any], generators: Mapping[str, torch.Generator] | None = None) -> None:
    """Put back the streams saved by :func:`capture_rng_state`.

    CUDA states are restored for the devices present in both the snapshot and this machine; a
    difference in device count warns (the run continues, but not bit-exactly). A generator named in
    ``generators`` but missing from the snapshot is an error, since the resumed run would diverge.
    """
    fmt = state.get("format")
    if fmt != RNG_FORMAT:
        raise ValueError(f"unsupported RNG state format {fmt!r}; expected {RNG_FORMAT!r}")
    py = state["python"]
    internal = tuple(int(v) for v in py["state"].tolist())
    gauss = py["gauss"]
    random.setstate((int(py["version"]), internal, None if gauss is None else float(gauss)))
    npst = state["numpy"]
    np.random.set_state(
        (
            npst["kind"],
            np.asarray(npst["keys"].numpy(), dtype=np.uint32),
            int(npst["pos"]),
            int(npst["has_gauss"]),
            float(npst["cached_gaussian"]),
        )
    )
    torch.set_rng_state(_byte_tensor(state["torch"]))
    _restore_cuda(list(state.get("cuda") or []))
    saved = state.get("generators") or {}
    for name, g in (generators or {}).items():
        if name not in saved:
            raise KeyError(f"RNG snapshot has no generator {name!r}; it holds: {sorted(saved) or 'none'}")
        g.set_state(_byte_tensor(saved[name]))


def _byte_tensor(t: torch.Tensor) -> torch.Tensor:
    # map_location may have moved the state to a GPU; the setters want a CPU uint8 tensor.
    return t.detach().to(device="cpu", dtype=torch.uint8)


def _cuda_states() -> list[torch.Tensor]:
    if not torch.cuda.is_available():
        return []
    return [s.cpu() for s in torch.cuda.get_rng_state_all()]


def _restore_cuda(states: list[torch.Tensor]) -> None:
    n_here = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if states and len(states) != n_here:
        warnings.warn(
            f"RNG snapshot has {len(states)} CUDA device state(s) but {n_here} device(s) are visible; "
            f"restoring {min(len(states), n_here)}: the resumed run will not be bit-identical",
            stacklevel=3,
        )
    for i in range(min(len(states), n_here)):
        torch.cuda.set_rng_state(_byte_tensor(states[i]), device=i)
