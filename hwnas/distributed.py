"""Multi-process runs under ``torchrun``: the process group, and the few collectives hwnas needs.

Every function takes the :class:`DistInfo` of the run and is a no-op (or the identity) in a single
process, so the same code serves ``hwnas search`` and ``torchrun --nproc_per_node N -m hwnas search``.
Collectives run on the CPU with gloo, on the process's own GPU with NCCL.

Example:
    >>> info, device = init_distributed("cpu")   # no torchrun variables: one process, no group
    >>> info.enabled, info.is_main, device
    (False, True, device(type='cpu'))
    >>> all_reduce_mean({"acc": 0.5}, weight=32, info=info)
    {'acc': 0.5}
    >>> shard_sampler_kwargs(info)
    {'num_replicas': 1, 'rank': 0}
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from hwnas.api.device import resolve_device
from hwnas.api.errors import UserError


class DistributedError(UserError):
    """torchrun's variables are inconsistent, or the device does not fit a multi-process run."""


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in the job (the defaults: a single process).

    Attributes:
        rank: This process's rank in ``[0, world_size)``.
        world_size: How many processes take part.
        local_rank: The rank on this machine; picks ``cuda:local_rank``.
        backend: ``nccl``, ``gloo``, or None without a process group.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that logs and writes files."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """More than one process: collectives do something."""
        return self.world_size > 1


def env_info() -> DistInfo:
    """The rank and world size torchrun's variables announce, without starting a process group."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise DistributedError("RANK, WORLD_SIZE and LOCAL_RANK must be integers; launch with torchrun") from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise DistributedError(f"RANK={rank}, WORLD_SIZE={world}, LOCAL_RANK={local} do not fit together; "
                               "launch with torchrun --nproc_per_node N")
    return DistInfo(rank=rank, world_size=world, local_rank=local)


def current_info() -> DistInfo:
    """The info of the process group already started (a single process when there is none)."""
    if not (dist.is_available() and dist.is_initialized()):
        return DistInfo()
    env = env_info()
    return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=env.local_rank,
                    backend=str(dist.get_backend()))


def init_distributed(device: str = "auto", *, timeout_s: float = 600.0) -> tuple[DistInfo, torch.device]:
    """Join the job torchrun started (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR/PORT``).

    Without those variables (or with ``WORLD_SIZE=1``) this is a single process and no group starts.
    On CUDA each process takes ``cuda:LOCAL_RANK`` and the NCCL backend; on the CPU, gloo. Calling it
    again returns the group already started.

    Args:
        device: ``auto``, ``cpu`` or ``cuda`` (a config's ``device``); under torchrun a CUDA index is
            the local rank's, so ``cuda:N`` is refused there.
        timeout_s: How long a collective waits for the other ranks before failing.

    Example:
        >>> init_distributed("cpu")[0]
        DistInfo(rank=0, world_size=1, local_rank=0, backend=None)
    """
    env = env_info()
    if not env.enabled:
        return env, resolve_device(device, fix="--set device=cpu")
    if dist.is_available() and dist.is_initialized():
        info = current_info()
        return info, _process_device(info.backend == "nccl", info.local_rank)
    if not dist.is_available():
        raise DistributedError("this torch build has no torch.distributed; run a single process")
    missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(k)]
    if missing:
        raise DistributedError(f"WORLD_SIZE={env.world_size} but {', '.join(missing)} is not set; "
                               "launch with torchrun --nproc_per_node N")
    cuda = _wants_cuda(device)
    dev = _process_device(cuda, env.local_rank)
    backend = "nccl" if cuda else "gloo"
    if cuda:
        torch.cuda.set_device(dev)
    dist.init_process_group(backend, rank=env.rank, world_size=env.world_size,
                            timeout=timedelta(seconds=timeout_s), **({"device_id": dev} if cuda else {}))
    return DistInfo(env.rank, env.world_size, env.local_rank, backend), dev


def destroy_distributed() -> None:
    """Leave the process group (nothing to do without one)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(values: dict[str, float], *, weight: float = 1.0, info: DistInfo) -> dict[str, float]:
    """The weighted mean of ``values`` over the ranks (``weight``: e.g. the samples this rank saw).

    Every rank must pass the same keys (checked). Identity in a single process.

    Example:
        >>> all_reduce_mean({"loss": 2.0}, weight=10, info=DistInfo())
        {'loss': 2.0}
    """
    if not info.enabled:
        return dict(values)
    keys = sorted(values)
    key_hash = float(zlib.crc32("\0".join(keys).encode()))  # < 2**32: exact in float64, and in sums of it
    w = float(weight)
    t = torch.tensor([values[k] * w for k in keys] + [w, key_hash], dtype=torch.float64, device=_comm_device(info))
    dist.all_reduce(t)
    total_w, hash_sum = float(t[-2]), float(t[-1])
    if hash_sum != key_hash * info.world_size:
        raise RuntimeError(f"all_reduce_mean: the ranks passed different keys (rank {info.rank}: {keys})")
    if total_w <= 0:
        raise ValueError(f"all_reduce_mean: the weights sum to {total_w}; give each rank a positive weight")
    return {k: float(t[i]) / total_w for i, k in enumerate(keys)}


def all_reduce_sums(values: dict[str, float], *, info: DistInfo) -> dict[str, float]:
    """The sum of ``values`` over the ranks (e.g. counts and summed losses); identity in a single process."""
    if not info.enabled:
        return dict(values)
    return {k: v * info.world_size for k, v in all_reduce_mean(values, weight=1.0, info=info).items()}


def all_reduce_grads(params: Iterable[torch.Tensor], *, info: DistInfo) -> None:
    """Average the gradients of ``params`` over the ranks in place, in one message.

    A parameter without a gradient on some rank (a candidate its sampled path skipped) counts as zero
    there; one without a gradient on every rank keeps ``None``, so the optimizer skips it as it would
    in a single process. Identity in a single process.
    """
    if not info.enabled:
        return
    params = list(params)
    if not params:
        return
    grads = [p.grad.detach().reshape(-1).float() if p.grad is not None else torch.zeros(p.numel(), device=p.device)
             for p in params]
    has = torch.tensor([p.grad is not None for p in params], dtype=torch.float32, device=grads[0].device)
    flat = torch.cat([*grads, has]).to(_comm_device(info))
    dist.all_reduce(flat)
    flat /= info.world_size
    seen = flat[-len(params):].tolist()
    offset = 0
    for i, (p, g) in enumerate(zip(params, grads)):
        n = g.numel()
        if seen[i] > 0:
            p.grad = flat[offset:offset + n].view_as(p).to(device=p.device, dtype=p.dtype)
        offset += n


def average_buffers(module: torch.nn.Module, *, info: DistInfo) -> None:
    """Average ``module``'s floating-point buffers (BatchNorm's running statistics) over the ranks; the
    others (counters, masks) are rank 0's. Identity in a single process."""
    if not info.enabled:
        return
    with torch.no_grad():
        for b in module.buffers():
            if b.is_floating_point():
                t = b.detach().to(_comm_device(info), torch.float64)
                dist.all_reduce(t)
                b.copy_(t / info.world_size)
            else:
                t = b.detach().to(_comm_device(info))
                dist.broadcast(t, src=0)
                b.copy_(t)


def assert_same_on_ranks(values: torch.Tensor, *, info: DistInfo, what: str = "values") -> None:
    """Raise when ``values`` (e.g. α and masks, flattened) differ between the ranks: a guard against drift.

    One small all-reduce (elementwise max of ``[v, -v]``), so it is cheap enough for every checkpoint.
    """
    if not info.enabled:
        return
    v = values.detach().reshape(-1).to(_comm_device(info), torch.float64)
    t = torch.cat([v, -v])  # max of v and max of -v: equal magnitudes iff every rank holds the same v
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    n = v.numel()
    if not torch.equal(t[:n], -t[n:]):
        raise RuntimeError(f"{what} differ between the ranks (rank {info.rank}); the processes diverged")


def broadcast_tensors(tensors: Iterable[torch.Tensor], *, info: DistInfo, src: int = 0) -> None:
    """Copy ``src``'s values of ``tensors`` (parameters, buffers) into every rank's, in place."""
    if not info.enabled:
        return
    with torch.no_grad():
        for t in tensors:
            dist.broadcast(t.data, src=src)


def broadcast_object(obj: Any, *, info: DistInfo, src: int = 0) -> Any:
    """``src``'s ``obj`` on every rank. ``obj`` must be JSON-serialisable (a folder name, an ArchSpec's
    JSON, a dict of numbers): what crosses between processes is JSON, never a pickle.

    Example:
        >>> broadcast_object({"run_dir": "runs/x"}, info=DistInfo())
        {'run_dir': 'runs/x'}
    """
    if not info.enabled:
        return obj
    dev = _comm_device(info)
    if info.rank == src:
        try:
            data = json.dumps(obj).encode("utf-8")
        except (TypeError, ValueError) as e:
            raise TypeError(f"broadcast_object sends JSON; {type(obj).__name__} is not serialisable ({e})") from None
        size = torch.tensor([len(data)], dtype=torch.int64, device=dev)
    else:
        data, size = b"", torch.zeros(1, dtype=torch.int64, device=dev)
    dist.broadcast(size, src=src)
    buf = (torch.frombuffer(bytearray(data), dtype=torch.uint8).to(dev) if info.rank == src
           else torch.empty(int(size), dtype=torch.uint8, device=dev))
    if int(size):
        dist.broadcast(buf, src=src)
    return json.loads(buf.cpu().numpy().tobytes().decode("utf-8")) if info.rank != src else obj


def barrier(info: DistInfo) -> None:
    """Wait until every rank gets here."""
    if not info.enabled:
        return
    if info.backend == "nccl":
        dist.barrier(device_ids=[info.local_rank])
    else:
        dist.barrier()


def shard_sampler_kwargs(info: DistInfo) -> dict[str, int]:
    """``num_replicas``/``rank`` for :class:`hwnas.data.sampler.EpochSampler`: this rank's share of each epoch."""
    return {"num_replicas": info.world_size, "rank": info.rank}


def _wants_cuda(device: str) -> bool:
    if device == "auto":
        return torch.cuda.is_available()
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise DistributedError(f"device {device!r} is not a valid torch device; use auto, cpu or cuda") from None
    if dev.type == "cuda" and dev.index is not None:
        raise DistributedError(f"device {device!r}: under torchrun each process takes cuda:LOCAL_RANK; "
                               "use --set device=cuda (or auto)")
    if dev.type not in ("cpu", "cuda"):
        raise DistributedError(f"device {device!r} is not supported under torchrun; use cpu or cuda")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DistributedError(f"device {device!r} was asked for but CUDA is not available here; use --set device=cpu")
    return dev.type == "cuda"


def _process_device(cuda: bool, local_rank: int) -> torch.device:
    if not cuda:
        return torch.device("cpu")
    if local_rank >= torch.cuda.device_count():
        raise DistributedError(f"LOCAL_RANK={local_rank} but this machine has {torch.cuda.device_count()} GPUs; "
                               "lower --nproc_per_node")
    return torch.device("cuda", local_rank)


def _comm_device(info: DistInfo) -> torch.device:
    # NCCL only moves CUDA tensors; gloo takes CPU ones.
    return torch.device("cuda", torch.cuda.current_device()) if info.backend == "nccl" else torch.device("cpu")


__all__ = [
    "DistInfo",
    "DistributedError",
    "all_reduce_grads",
    "assert_same_on_ranks",
    "all_reduce_mean",
    "all_reduce_sums",
    "average_buffers",
    "barrier",
    "broadcast_object",
    "broadcast_tensors",
    "current_info",
    "destroy_distributed",
    "env_info",
    "init_distributed",
    "shard_sampler_kwargs",
]
