"""The splits of a training run: train (whole training split, or all but a held-out part), valid, test."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from torch.utils.data import Dataset, Subset

from hwnas.data import build_eval_data
from hwnas.data.augment import Augment
from hwnas.data.build import stratified_order
from hwnas.data.sampler import mix_seed
from hwnas.train.config import TrainDataConfig

_VALID_STREAM = 104


@dataclass(frozen=True)
class TrainData:
    """``valid`` is None when nothing is held out; ``test`` is evaluated once, after training."""

    train: Dataset
    valid: Dataset | None
    test: Dataset
    num_classes: int
    in_channels: int
    image_size: int
    name: str

    def describe(self) -> str:
        held = f" / {len(self.valid)} held-out" if self.valid is not None else ""  # type: ignore[arg-type]
        return (f"{self.name}: {len(self.train)} train{held} / {len(self.test)} test images, "  # type: ignore[arg-type]
                f"{self.in_channels}x{self.image_size}x{self.image_size}, {self.num_classes} classes")


def build_train_data(cfg: TrainDataConfig, *, seed: int) -> TrainData:
    """The dataset's training split (``valid_portion`` of it held out, stratified by class) and test split.

    The held-out images are seen through the evaluation transforms (no crops, flips or Cutout) when the
    dataset exposes its transform as ``.transform`` (hwnas's array datasets and torchvision's folders do).

    Example:
        >>> d = build_train_data(TrainDataConfig(name="embedded", valid_portion=0.1, subset=1000), seed=0)
        >>> len(d.train), len(d.valid), len(d.test)
        (900, 100, 1000)
    """
    augment = Augment(randaugment=cfg.randaugment, color_jitter=cfg.color_jitter)
    ev = build_eval_data(name=cfg.name, root=cfg.root, download=cfg.download, image_size=cfg.image_size,
                         subset=cfg.subset, seed=seed, cutout=cfg.cutout, augment=augment)
    train, valid = ev.train, None
    if cfg.valid_portion > 0:
        n = len(train)  # type: ignore[arg-type]
        order = stratified_order(n, _labels(train), mix_seed(seed, _VALID_STREAM))
        n_valid = max(1, int(round(cfg.valid_portion * n)))
        if n_valid >= n:
            raise ValueError(f"data.valid_portion={cfg.valid_portion} of {n} images leaves no training images")
        valid_idx, train_idx = sorted(order[:n_valid].tolist()), sorted(order[n_valid:].tolist())
        valid = Subset(_eval_view(train, ev.test), valid_idx)
        train = Subset(train, train_idx)
    return TrainData(train, valid, ev.test, ev.num_classes, ev.in_channels, ev.image_size, ev.name)


def _base(ds: Dataset) -> tuple[Dataset, list[int] | None]:
    """The innermost dataset of nested Subsets and the indices into it."""
    idx: list[int] | None = None
    while isinstance(ds, Subset):
        inner = list(ds.indices)
        idx = inner if idx is None else [inner[i] for i in idx]
        ds = ds.dataset
    return ds, idx


def _labels(ds: Dataset) -> np.ndarray | None:
    base, idx = _base(ds)
    targets = getattr(base, "targets", None)
    if targets is None:
        return None
    t = np.asarray(targets)
    return t if idx is None else t[idx]


def _eval_view(train: Dataset, test: Dataset) -> Dataset:
    """``train`` seen through ``test``'s transform, when both expose one; else ``train`` as it is."""
    base, idx = _base(train)
    test_base, _ = _base(test)
    if not hasattr(base, "transform") or not hasattr(test_base, "transform"):
        return train
    view = copy.copy(base)
    view.transform = test_base.transform  # type: ignore[attr-defined]
    return view if idx is None else Subset(view, idx)
