"""Deterministic, resumable batch order: the permutation of epoch e is a function of (seed, stream, e) only."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def mix_seed(*values: int) -> int:
    """A well-spread 63-bit seed from several integers (numpy's SeedSequence), so nearby inputs don't collide."""
    state = np.random.SeedSequence([int(v) & 0xFFFFFFFFFFFFFFFF for v in values]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


class EpochSampler(Sampler[int]):
    """Shuffles ``range(n)`` with a permutation that depends only on ``(seed, stream, epoch)``.

    A run resumed at epoch ``e`` calls ``set_epoch(e)`` and sees exactly the batches an uninterrupted run
    sees; ``start`` skips the first items of that epoch (resume in the middle of an epoch). Each full pass
    advances the epoch by one, so a loop that forgets ``set_epoch`` still gets a fresh order every epoch.
    With ``num_replicas > 1`` each rank takes every ``num_replicas``-th item of the shared permutation
    (padded by wrapping around so all ranks get the same count), as ``DistributedSampler`` does.

    Example:
        >>> s = EpochSampler(6, seed=1)
        >>> s.set_epoch(3)
        >>> a = list(s)
        >>> s.set_epoch(3)
        >>> a == list(s)
        True
    """

    def __init__(self, n: int, seed: int, *, stream: int = 0, num_replicas: int = 1, rank: int = 0) -> None:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is not in [0, {num_replicas})")
        self.n, self.seed, self.stream = int(n), int(seed), int(stream)
        self.num_replicas, self.rank = int(num_replicas), int(rank)
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Use the permutation of ``epoch`` for the next pass, beginning at its ``start``-th item."""
        if epoch < 0 or start < 0:
            raise ValueError(f"epoch and start must be >= 0, got {epoch}, {start}")
        self.epoch, self.start = int(epoch), int(start)

    def permutation(self, epoch: int) -> list[int]:
        """This rank's full order for ``epoch`` (ignores ``start``)."""
        g = torch.Generator().manual_seed(mix_seed(self.seed, self.stream, epoch))
        order = torch.randperm(self.n, generator=g).tolist()
        if self.num_replicas > 1 and self.n:
            total = math.ceil(self.n / self.num_replicas) * self.num_replicas
            order = (order * math.ceil(total / self.n))[:total][self.rank::self.num_replicas]
        return order

    def __iter__(self) -> Iterator[int]:
        order = self.permutation(self.epoch)[self.start:]
        self.epoch, self.start = self.epoch + 1, 0
        return iter(order)

    def __len__(self) -> int:
        per_rank = math.ceil(self.n / self.num_replicas) if self.num_replicas > 1 else self.n
        return max(per_rank - self.start, 0)

    def state_dict(self) -> dict[str, int]:
        return {"seed": self.seed, "stream": self.stream, "epoch": self.epoch, "start": self.start}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.seed, self.stream = int(state["seed"]), int(state["stream"])
        self.set_epoch(int(state["epoch"]), int(state.get("start", 0)))


class EpochDataLoader(DataLoader):
    """A DataLoader whose order and worker seeds are functions of ``(seed, stream, epoch)``.

    ``set_epoch(e)`` fixes the permutation (when shuffling) and reseeds the generator from which the
    workers' base seed is drawn, so random augmentations in workers repeat too. With ``num_workers=0`` the
    transforms draw from the process's torch RNG; the search loop's checkpoint restores it.
    """

    def __init__(self, dataset: Dataset, *, seed: int, stream: int = 0, **kwargs: object) -> None:
        self.seed, self.stream = int(seed), int(stream)
        gen = torch.Generator().manual_seed(mix_seed(seed, stream, -1, 0))
        super().__init__(dataset, generator=gen, **kwargs)  # type: ignore[arg-type]
        self._epoch = 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Reproduce epoch ``epoch`` from batch ``start_batch`` on (its earlier batches are skipped)."""
        self._epoch = int(epoch)
        if isinstance(self.sampler, EpochSampler):
            self.sampler.set_epoch(epoch, start_batch * (self.batch_size or 1))
        elif start_batch:
            raise ValueError("start_batch needs a shuffling EpochSampler loader")
        assert self.generator is not None
        self.generator.manual_seed(mix_seed(self.seed, self.stream, -1, epoch))

    @property
    def epoch(self) -> int:
        return self._epoch


def make_loader(dataset: Dataset, *, batch_size: int, shuffle: bool, seed: int = 0, stream: int = 0,
                num_workers: int = 0, drop_last: bool = False, pin_memory: bool = False,
                num_replicas: int = 1, rank: int = 0) -> EpochDataLoader:
    """A loader with deterministic, resumable order (an :class:`EpochSampler` when ``shuffle``).

    Call ``loader.set_epoch(e)`` before each epoch; a run resumed at epoch ``e`` then sees the same
    batches as an uninterrupted one. Use different ``stream`` values for loaders that share a seed.
    ``num_replicas``/``rank`` give a process of a multi-process job its share of each epoch (shuffled
    loaders only; see :func:`hwnas.distributed.shard_sampler_kwargs`).

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> loader = make_loader(TensorDataset(torch.arange(10)), batch_size=4, shuffle=True, seed=0)
        >>> loader.set_epoch(2)
        >>> [len(b[0]) for b in loader]
        [4, 4, 2]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if num_replicas > 1 and not shuffle:
        raise ValueError("num_replicas > 1 needs shuffle=True (the sharding sampler is the shuffling one)")
    sampler = (EpochSampler(len(dataset), seed, stream=stream, num_replicas=num_replicas, rank=rank)  # type: ignore[arg-type]
               if shuffle else None)
    return EpochDataLoader(
        dataset, seed=seed, stream=stream, batch_size=batch_size, shuffle=False, sampler=sampler,
        num_workers=num_workers, drop_last=drop_last, pin_memory=pin_memory,
        persistent_workers=False,
    )
