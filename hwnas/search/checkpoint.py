"""Atomic checkpoints that load with ``torch.load(weights_only=True)``.

Layout inside a run folder::

    runs/<name>/checkpoints/last.pt        the newest state; what --resume reads
    runs/<name>/checkpoints/epoch_<k>.pt   optional history, the newest ``keep_last`` kept

What the search loop stores (by convention; any weights-only-safe dict is accepted)::

    {"model": supernet.state_dict(),          # weights and α/β (registered parameters)
     "optimizers": {"w": ..., "arch": ...},   # optimizer.state_dict()
     "schedulers": {"w": ...}, "scaler": scaler.state_dict(),
     "rng": capture_rng_state(...), "epoch": int, "global_step": int,
     "config": to_dict(cfg), ...}            # plus JSON-like extras

Every write goes to a temporary file in the same folder, is flushed and fsync'ed, then renamed over
the target with ``os.replace``: a crash at any moment leaves either the old file or the new one,
never a torn one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import io
import os
import pickle
import re
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from hwnas.api.errors import UserError
from hwnas.api.files import fsync_dir, make_dir, write_bytes_atomic

LAST = "last.pt"
CHECKPOINT_DIR = "checkpoints"
_EPOCH_RE = re.compile(r"^epoch_(\d+)\.pt$")
# Leaf types torch's weights_only unpickler accepts without extra allow-listing.
_SAFE_LEAVES = (torch.Tensor, str, bytes, int, float, bool, complex, type(None), torch.dtype, torch.device, torch.Size)


class CheckpointError(UserError):
    """A checkpoint is missing, unreadable, or holds something ``weights_only=True`` refuses."""


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (temp file in the same folder, fsync, ``os.replace``).

    The state is checked first: anything ``torch.load(weights_only=True)`` would refuse raises a
    ``TypeError`` naming its key path, at save time rather than at resume time. Convert such values
    with :func:`to_weights_only_safe`.

    Example:
        >>> import tempfile, torch
        >>> d = tempfile.mkdtemp()
        >>> p = save_checkpoint(f"{d}/last.pt", {"epoch": 3, "w": torch.zeros(2)})
        >>> load_checkpoint(p)["epoch"]
        3
    """
    path = Path(path)
    check_weights_only_safe(state)
    make_dir(path.parent, what="checkpoint folder")
    buf = io.BytesIO()
    torch.save(dict(state), buf)
    _atomic_write_bytes(path, buf.getbuffer())
    return path


def save_run_checkpoint(
    checkpoint_dir: str | os.PathLike[str],
    state: Mapping[str, Any],
    *,
    epoch: int | None = None,
    keep_last: int = 0,
) -> Path:
    """Write ``checkpoint_dir/last.pt`` and, when ``keep_last > 0``, ``epoch_<epoch>.pt``.

    The epoch copy is a hard link to the new ``last.pt`` when the file system allows (no second
    serialisation; a later ``os.replace`` of ``last.pt`` leaves the link's content untouched),
    else a second atomic write. Only the newest ``keep_last`` epoch files are kept.

    Returns:
        The path of ``last.pt``.
    """
    if keep_last < 0:
        raise ValueError(f"keep_last must be >= 0, got {keep_last}")
    if keep_last and epoch is None:
        raise ValueError("save_run_checkpoint needs epoch= to keep epoch_<k>.pt files")
    checkpoint_dir = Path(checkpoint_dir)
    last = save_checkpoint(checkpoint_dir / LAST, state)
    if keep_last:
        target = checkpoint_dir / f"epoch_{int(epoch)}.pt"
        _link_or_copy(last, target)
        for _, old in _epoch_files(checkpoint_dir)[:-keep_last]:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
    return last


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``.

    Raises:
        CheckpointError: naming the path, when the file is missing, truncated/corrupt, or holds
            objects the weights-only unpickler refuses.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        # torch's own message suggests weights_only=False: exactly what must not be done with a file from elsewhere.
        raise CheckpointError(
            f"checkpoint {str(path)!r} is not a valid hwnas checkpoint: it holds objects other than tensors and "
            "plain values, so it was not loaded (nothing in it ran); use a checkpoint hwnas wrote, or start a new run"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as e:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is corrupt, truncated or not a checkpoint ({type(e).__name__}: "
            f"{_first_line(e)}); resume from an older epoch_<k>.pt or start a new run"
        ) from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {str(path)!r} holds a {type(state).__name__}, expected a dict")
    return state


def find_resume_checkpoint(run_dir: str | os.PathLike[str]) -> Path:
    """The checkpoint to resume ``run_dir`` from.

    Accepts a run folder (looks in ``checkpoints/``), a checkpoints folder, or a checkpoint file.
    Prefers ``last.pt``; without it, the highest ``epoch_<k>.pt``.

    Raises:
        CheckpointError: when the path does not exist or holds no checkpoint.
    """
    p = Path(run_dir)
    if p.is_file():
        return p
    if not p.exists():
        raise CheckpointError(f"cannot resume: run folder {str(p)!r} does not exist")
    for d in (p / CHECKPOINT_DIR, p):
        if (d / LAST).is_file():
            return d / LAST
        epochs = _epoch_files(d) if d.is_dir() else []
        if epochs:
            return epochs[-1][1]
    raise CheckpointError(
        f"cannot resume: {str(p)!r} has no checkpoint (looked for {CHECKPOINT_DIR}/{LAST} and "
        f"{CHECKPOINT_DIR}/epoch_<k>.pt); the run was stopped before its first checkpoint, start it again"
    )


def check_weights_only_safe(obj: Any, where: str = "state") -> None:
    """Raise ``TypeError`` naming the first value ``torch.load(weights_only=True)`` would refuse."""
    if isinstance(obj, _SAFE_LEAVES):
        return
    if type(obj) in (dict, OrderedDict):  # not defaultdict & co: the unpickler refuses dict subclasses
        for k, v in obj.items():
            if not isinstance(k, (str, int, float, bool, type(None), tuple)):
                raise TypeError(f"{where} has a key of type {type(k).__name__} ({k!r}); use str or int keys")
            check_weights_only_safe(v, f"{where}[{k!r}]")
        return
    if type(obj) in (list, tuple):  # sets load only on newer torch; frozensets never
        for i, v in enumerate(obj):
            check_weights_only_safe(v, f"{where}[{i}]")
        return
    raise TypeError(
        f"{where} is a {type(obj).__module__}.{type(obj).__qualname__}, which torch.load(weights_only=True) "
        "refuses; store tensors, numbers, strings, lists or dicts (see hwnas.search.checkpoint.to_weights_only_safe)"
    )


def to_weights_only_safe(obj: Any) -> Any:
    """Convert common non-safe values: NumPy arrays -> tensors, NumPy scalars -> Python numbers,
    paths -> str, dataclasses and mappings -> dicts, sets -> sorted lists; anything else is kept."""
    if isinstance(obj, _SAFE_LEAVES):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_weights_only_safe(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {k: to_weights_only_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        out = [to_weights_only_safe(v) for v in obj]
        return tuple(out) if isinstance(obj, tuple) else out
    if isinstance(obj, (set, frozenset)):
        return sorted((to_weights_only_safe(v) for v in obj), key=repr)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    mod = type(obj).__module__
    if mod == "numpy":
        import numpy as np

        if isinstance(obj, np.ndarray):
            return torch.from_numpy(obj.copy())
        if isinstance(obj, np.generic):
            return obj.item()
    return obj


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically: a crash leaves the old file or the new one."""
    return write_bytes_atomic(path, text.encode("utf-8"), what="file")


def keep_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """``dst`` becomes a copy of ``src`` (a hard link where the file system allows), atomically."""
    _link_or_copy(Path(src), Path(dst))
    return Path(dst)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _epoch_files(d: Path) -> list[tuple[int, Path]]:
    found = []
    for f in d.iterdir():
        m = _EPOCH_RE.match(f.name)
        if m and f.is_file():
            found.append((int(m.group(1)), f))
    return sorted(found)


def _atomic_write_bytes(path: Path, data: Any, what: str = "checkpoint") -> None:
    # Temp files left by a process killed mid-write (one writer per run folder, so none is live).
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()
    write_bytes_atomic(path, data, what=what)


def _link_or_copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.link.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.link(src, tmp)
        os.replace(tmp, dst)
        fsync_dir(dst.parent)  # the link's rename made durable
    except OSError:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        _atomic_write_bytes(dst, src.read_bytes())
