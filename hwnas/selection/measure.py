"""Measure a supernet on the held-out split, identically for every candidate of one decision.

Perturbation selection compares the supernet with one candidate removed against the same supernet
with another removed; gradient-matching splits and leaf choice measure sub-supernets. Each comparison
is only as good as its measurements are alike, so a measurement here is a pure function of the
network and a ``key``: the loader replays the same batches (``set_epoch(key)``) and the random draws of
augmentation and of sampling strategies restart from a seed derived from ``key``. BatchNorm runs in
training mode (batch statistics, as DARTS-PT measures) and its running statistics are put back
afterwards, so measuring never changes the supernet.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from hwnas.data.sampler import mix_seed
from hwnas.distributed import DistInfo, all_reduce_sums


@dataclass(frozen=True)
class Measurement:
    """Accuracy (fraction) and mean cross-entropy over ``n`` held-out images."""

    acc: float
    loss: float
    n: int

    def value(self, criterion: Literal["acc", "loss"]) -> float:
        return self.acc if criterion == "acc" else self.loss


@contextlib.contextmanager
def bn_stats_restored(module: nn.Module) -> Iterator[None]:
    """Put every BatchNorm's running statistics back as they were when the block is left."""
    saved = []
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._NormBase) and m.track_running_stats:
            saved.append((m, {k: getattr(m, k).clone() for k in ("running_mean", "running_var", "num_batches_tracked")
                              if getattr(m, k, None) is not None}))
    try:
        yield
    finally:
        with torch.no_grad():
            for m, bufs in saved:
                for k, v in bufs.items():
                    getattr(m, k).copy_(v)


def _logits(out: Any) -> torch.Tensor:
    return out[0] if isinstance(out, (tuple, list)) else out


@torch.no_grad()
def measure(
    supernet: nn.Module,
    loader: Any,
    *,
    key: int,
    seed: int = 0,
    max_batches: int | None = None,
    device: torch.device | str = "cpu",
    bn: Literal["train", "eval"] = "train",
    dist: DistInfo | None = None,
) -> Measurement:
    """Accuracy and loss of ``supernet`` on ``loader`` (the held-out split), reproducibly for a given ``key``.

    Args:
        supernet: The (masked, possibly perturbed) supernet.
        loader: An epoch-seeded loader (``set_epoch``); plain iterables are read as they come.
        key: Which batches and random draws: equal keys give equal inputs.
        seed: The run's seed, mixed into the random draws.
        max_batches: Read at most this many batches (None: the whole split).
        bn: ``train`` (batch statistics, running ones restored afterwards) or ``eval`` (running statistics).
        dist: In a multi-process job each rank reads its shard of the loader (``max_batches`` each) and the
            counts are summed over the ranks, so every rank gets the same figures and decides alike.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
        >>> data = [(torch.ones(3, 4), torch.tensor([0, 1, 0]))]
        >>> m = measure(net, data, key=0)
        >>> m.n, measure(net, data, key=0) == m
        (3, True)
    """
    was_training = supernet.training
    set_epoch = getattr(loader, "set_epoch", None)
    if set_epoch is not None:
        set_epoch(int(key))
    correct, loss_sum, n = 0, 0.0, 0
    devices = [torch.cuda.current_device()] if torch.device(device).type == "cuda" else []
    with bn_stats_restored(supernet), torch.random.fork_rng(devices=devices):
        torch.manual_seed(mix_seed(seed, 7919, key))
        supernet.train(bn == "train")
        try:
            for i, batch in enumerate(loader):
                if max_batches is not None and i >= max_batches:
                    break
                x, y = batch[0].to(device), batch[1].to(device)
                logits = _logits(supernet(x)).float()
                loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
                correct += int((logits.argmax(1) == y).sum())
                n += len(y)
        finally:
            supernet.train(was_training)
    if dist is not None and dist.enabled:
        tot = all_reduce_sums({"correct": float(correct), "loss": loss_sum, "n": float(n)}, info=dist)
        correct, loss_sum, n = round(tot["correct"]), tot["loss"], round(tot["n"])
    if n == 0:
        raise ValueError("the held-out split gave no batch to measure on; raise data.subset or lower "
                         "data.train_portion")
    return Measurement(correct / n, loss_sum / n, n)
