"""Prepare a run: its folder, data, loaders, and the factory of its leaves (space, supernet, cost terms, trainer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hwnas.api.config import dump_yaml
from hwnas.api.files import make_dir
from hwnas.data import build_search_data
from hwnas.data.build import SearchData
from hwnas.data.sampler import EpochDataLoader, make_loader, mix_seed
from hwnas.distributed import DistInfo, barrier, shard_sampler_kwargs
from hwnas.losses import SearchLoss
from hwnas.search.builders import build_cost_terms, build_space, build_supernet, resolve_device
from hwnas.search.checkpoint import write_text_atomic
from hwnas.search.config import SearchConfig, TrainConfig
from hwnas.search.cosearch import attach_hardware, budget_terms
from hwnas.search.execution import apply_channels_last, step_execution
from hwnas.search.leaf import Leaf
from hwnas.search.loop import BilevelTrainer
from hwnas.search.tb_logging import SearchLogger
from hwnas.splits.tree import ROOT

#: Loader stream of the measurement loader (train, valid and test use 0, 1, 2).
_PROBE_STREAM = 3


@dataclass
class RunContext:
    """What every phase of one run shares.

    Attributes:
        cfg: The resolved config (saved as ``config.yaml``).
        out: The run folder.
        device: Where the supernets live.
        data: The train / valid (held-out part of train) / test splits.
        train_loader, valid_loader: The weight and architecture splits, epoch-seeded.
        probe_loader: The held-out split again, with its own order, for measurements.
        example: One input image (batch of one) for tracing costs.
        verbose: Print progress lines (rank 0 only in a multi-process job).
        dist: The processes of a torchrun job; rank 0 alone writes files and logs, the loaders give
            each rank its share of every epoch.
    """

    cfg: SearchConfig
    out: Path
    device: torch.device
    data: SearchData
    train_loader: EpochDataLoader
    valid_loader: EpochDataLoader
    probe_loader: EpochDataLoader
    example: torch.Tensor
    verbose: bool = True
    dist: DistInfo = field(default_factory=DistInfo)
    _loggers: dict[str, SearchLogger] = field(default_factory=dict)

    def leaf_dir(self, leaf_id: str) -> Path:
        """The root writes into the run folder; a sub-supernet into ``leaves/<id>/``."""
        return self.out if leaf_id == ROOT else self.out / "leaves" / leaf_id

    def logger(self, leaf_id: str = ROOT, *, purge_step: int | None = None) -> SearchLogger:
        """The TensorBoard writer of a leaf (created once; ``purge_step`` hides events a killed run wrote)."""
        if not self.dist.is_main:
            return _SilentLogger()  # type: ignore[return-value]
        if leaf_id not in self._loggers:
            self._loggers[leaf_id] = SearchLogger(self.leaf_dir(leaf_id), purge_step=purge_step)
        return self._loggers[leaf_id]

    def build_supernet(self, *, seed: int | None = None) -> Any:
        """A fresh space wrapped by the configured strategy, on the run's device.

        With ``seed`` its initial weights and α come from that seed and the run's own random stream is
        left untouched (a sub-supernet restarted mid-run must not shift the draws that follow).
        """
        if seed is None:
            return self._new_supernet()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self._new_supernet()

    def _new_supernet(self) -> Any:
        space = build_space(self.cfg, num_classes=self.data.num_classes, in_channels=self.data.in_channels)
        supernet = build_supernet(self.cfg, space).to(self.device)
        attach_hardware(self.cfg.hardware, supernet)  # co-search: hardware α beside the network's
        # In the step's memory format from the start: every measurement of the run then rounds alike, resumed or not
        if step_execution(self.cfg.train, self.device)[1]:
            apply_channels_last(supernet)
        return supernet

    def make_loss(self, supernet: Any) -> SearchLoss:
        """The search loss with the configured cost terms bound to ``supernet``."""
        # Rank 0 first: a cost model it measures (``measured:``) is kept in the run folder, where the others read it.
        if not self.dist.is_main:
            barrier(self.dist)
        terms = build_cost_terms(self.cfg.cost, supernet=supernet, example_input=self.example, run_dir=self.out)
        terms += budget_terms(self.cfg.hardware, supernet, self.example)
        if self.dist.is_main:
            barrier(self.dist)
        return SearchLoss(terms, label_smoothing=self.cfg.train.label_smoothing)

    def make_trainer(self, supernet: Any, loss: SearchLoss, train: TrainConfig | None = None, *,
                     schedule_epochs: int | None = None) -> BilevelTrainer:
        return BilevelTrainer(supernet, loss=loss, train=train or self.cfg.train, device=self.device,
                              schedule_epochs=schedule_epochs, dist=self.dist)

    def build_leaf(self, leaf_id: str, supernet: Any | None = None, *, schedule_epochs: int | None = None) -> Leaf:
        """A leaf around ``supernet`` (a fresh one if None), with its own loss, trainer and logger."""
        supernet = supernet if supernet is not None else self.build_supernet()
        loss = self.make_loss(supernet)
        trainer = self.make_trainer(supernet, loss, schedule_epochs=schedule_epochs)
        return Leaf(leaf_id, supernet, loss, trainer, logger=None)  # type: ignore[arg-type]

    def seed_for(self, *parts: int | str) -> int:
        """A seed for a purpose of this run (e.g. a restarted sub-supernet), independent of the others."""
        return mix_seed(self.cfg.seed, *(p if isinstance(p, int) else _str_seed(p) for p in parts)) % (2**63)

    def close(self) -> None:
        for lg in self._loggers.values():
            lg.close()
        self._loggers.clear()


class _SilentLogger:
    """The logger of ranks other than 0: accepts every call, writes nothing."""

    def scalars(self, *args: Any, **kwargs: Any) -> list[str]:
        return []

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def _str_seed(text: str) -> int:
    return int.from_bytes(text.encode()[:8].ljust(8, b"\0"), "little")


def unique_run_dir(out_dir: str, name: str) -> Path:
    """Create and return ``<out_dir>/<name>``, or ``<name>-2``, ``-3``... when taken.

    The folder is claimed with an exclusive ``mkdir``: of two runs started at once with the same name, one gets
    ``<name>`` and the other ``<name>-2``; they never share a folder.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> unique_run_dir(d, "x").name, unique_run_dir(d, "x").name
        ('x', 'x-2')
    """
    parent = make_dir(out_dir, what="output folder", fix="set out_dir to a folder you can write (--set out_dir=...)")
    k = 1
    while True:
        candidate = parent / (name if k == 1 else f"{name}-{k}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            k += 1


def prepare_run(cfg: SearchConfig, out: Path, *, verbose: bool = True, dist: DistInfo | None = None,
                device: torch.device | None = None) -> RunContext:
    """Create the run folder (``config.yaml``, ``checkpoints/``; rank 0 only), build the data and loaders."""
    dist = dist or DistInfo()
    device = device if device is not None else resolve_device(cfg.device)
    if dist.is_main:
        make_dir(out / "checkpoints", what="run folder", fix="set out_dir to a folder you can write")
        write_text_atomic(out / "config.yaml", dump_yaml(cfg))
    d = cfg.data
    data = build_search_data(name=d.name, root=d.root, download=d.download, train_portion=d.train_portion,
                             image_size=d.image_size, subset=d.subset, seed=cfg.seed, cutout=d.cutout)
    # Train and valid shuffle on independent streams of the seed; a ragged last batch is dropped
    # when a split holds a full one (a batch of one image breaks BatchNorm on 1x1 maps).
    shard = shard_sampler_kwargs(dist)
    train_loader, valid_loader, _ = data.loaders(batch_size=d.batch_size, seed=cfg.seed, num_workers=d.num_workers,
                                                 **shard)
    # Measurements are sharded too and summed over the ranks (hwnas.selection.measure), so every rank decides alike.
    probe_share = -(-len(data.valid) // dist.world_size)
    probe_loader = make_loader(data.valid, batch_size=d.batch_size, shuffle=True, seed=cfg.seed, stream=_PROBE_STREAM,
                               num_workers=d.num_workers, drop_last=probe_share >= d.batch_size, **shard)
    example = data.train[0][0].unsqueeze(0).to(device)
    barrier(dist)  # the run folder exists before any rank reads from it
    return RunContext(cfg, out, device, data, train_loader, valid_loader, probe_loader, example,
                      verbose and dist.is_main, dist)
