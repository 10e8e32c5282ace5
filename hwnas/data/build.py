"""The one entry point for data: build_search_data (train / valid / test) and build_eval_data (train / test)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset, Subset

from hwnas.api.registries import DATASETS
from hwnas.data.augment import Augment
from hwnas.data.builders import DatasetSplits
from hwnas.data.config import DataConfig
from hwnas.data.errors import DatasetError
from hwnas.data.sampler import EpochDataLoader, make_loader, mix_seed

# Streams keep the random draws of different purposes independent for one seed.
_SPLIT_STREAM, _TEST_STREAM, _EVAL_TRAIN_STREAM = 101, 102, 103
LOADER_STREAMS = {"train": 0, "valid": 1, "test": 2}


@dataclass(frozen=True)
class SearchData:
    """The three splits of a search.

    Attributes:
        train: The weight step's images (part of the dataset's training split).
        valid: The architecture step's images: the rest of the training split, disjoint from ``train``.
        test: The dataset's test split; report it, never decide with it.
        num_classes, in_channels, image_size: What the network must accept and predict.
        classes: Class names, index = label.
        name: The dataset's registry name.
    """

    train: Subset
    valid: Subset
    test: Dataset
    num_classes: int
    in_channels: int
    image_size: int
    classes: tuple[str, ...]
    name: str

    def describe(self) -> str:
        """One line for logs: sizes of the splits and the image shape."""
        return (f"{self.name}: {len(self.train)} train / {len(self.valid)} valid / {len(self.test)} test images, "
                f"{self.in_channels}x{self.image_size}x{self.image_size}, {self.num_classes} classes")

    def loaders(self, *, batch_size: int, seed: int, num_workers: int = 0, drop_last: bool | None = None,
                num_replicas: int = 1, rank: int = 0) -> tuple[EpochDataLoader, EpochDataLoader, EpochDataLoader]:
        """(train, valid, test) loaders; train and valid shuffle on independent streams of ``seed``.

        With ``num_replicas > 1`` train and valid give this ``rank`` its share of each epoch; test is whole.

        ``drop_last=None`` drops a ragged last batch of train/valid only when the split holds at least one
        full batch (tiny subsets still yield one batch). The test loader never shuffles nor drops.
        """
        def drop(ds: Dataset) -> bool:  # judged on this rank's share: a shard without a full batch keeps its one
            share = -(-len(ds) // num_replicas)  # type: ignore[arg-type]
            return share >= batch_size if drop_last is None else drop_last

        return (
            make_loader(self.train, batch_size=batch_size, shuffle=True, seed=seed, stream=LOADER_STREAMS["train"],
                        num_workers=num_workers, drop_last=drop(self.train), num_replicas=num_replicas, rank=rank),
            make_loader(self.valid, batch_size=batch_size, shuffle=True, seed=seed, stream=LOADER_STREAMS["valid"],
                        num_workers=num_workers, drop_last=drop(self.valid), num_replicas=num_replicas, rank=rank),
            make_loader(self.test, batch_size=batch_size, shuffle=False, seed=seed, stream=LOADER_STREAMS["test"],
                        num_workers=num_workers),
        )


@dataclass(frozen=True)
class EvalData:
    """The splits for retraining a found architecture: the whole training split and the test split."""

    train: Dataset
    test: Dataset
    num_classes: int
    in_channels: int
    image_size: int
    classes: tuple[str, ...]
    name: str

    def loaders(self, *, batch_size: int, seed: int, num_workers: int = 0,
                drop_last: bool = False) -> tuple[EpochDataLoader, EpochDataLoader]:
        """(train, test) loaders; train shuffles deterministically, test keeps its order."""
        return (
            make_loader(self.train, batch_size=batch_size, shuffle=True, seed=seed, stream=LOADER_STREAMS["train"],
                        num_workers=num_workers, drop_last=drop_last),
            make_loader(self.test, batch_size=batch_size, shuffle=False, seed=seed, stream=LOADER_STREAMS["test"],
                        num_workers=num_workers),
        )


def _labels(ds: Dataset) -> np.ndarray | None:
    """Integer labels when the dataset exposes ``targets`` (ours and torchvision's do), else None."""
    t = getattr(ds, "targets", None)
    if t is None:
        return None
    arr = np.asarray(t)
    return arr.astype(np.int64) if arr.ndim == 1 and len(arr) == len(ds) else None  # type: ignore[arg-type]


def stratified_order(n: int, labels: np.ndarray | None, seed: int) -> np.ndarray:
    """A seeded order of ``range(n)`` in which every prefix holds the classes in their overall proportions.

    Each class is shuffled; item k of a class of size m gets the key (k + u) / m with u uniform in [0, 1),
    and sorting by key interleaves the classes evenly. Without labels it is a plain permutation.
    """
    rng = np.random.default_rng(mix_seed(seed))
    if labels is None:
        return rng.permutation(n)
    keys = np.empty(n, dtype=np.float64)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        keys[rng.permutation(idx)] = (np.arange(len(idx)) + rng.random(len(idx))) / len(idx)
    return np.argsort(keys, kind="stable")


def _build(name: str, root: str | Path | None, download: bool, image_size: int | None, cutout: int,
           augment: Augment | None = None) -> DatasetSplits:
    if cutout < 0:
        raise DatasetError(f"cutout must be >= 0 (0 disables it), got {cutout}")
    builder = DATASETS.get(name)
    extra: dict[str, Any] = {}
    if augment is not None and augment != Augment():
        params = inspect.signature(builder).parameters
        if "augment" not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            raise DatasetError(f"dataset {name!r} takes no augment= (RandAugment, colour jitter): add an "
                               "'augment: Augment | None = None' keyword to its builder, or drop those settings")
        extra["augment"] = augment
    return builder(root=root, download=download, image_size=image_size, cutout=cutout, **extra)


def _cap(order: np.ndarray, subset: int | None) -> list[int]:
    kept = order if subset is None else order[:subset]
    return sorted(int(i) for i in kept)  # sorted: reading order on disk; batch order comes from the sampler


def build_search_data(*, name: str = "embedded", root: str | Path | None = None, download: bool = False,
                      train_portion: float = 0.5, image_size: int | None = None, subset: int | None = None,
                      seed: int = 0, cutout: int = 0) -> SearchData:
    """Build the train / valid / test splits of a search.

    ``valid`` is a held-out part of the dataset's training split (``1 - train_portion`` of it), chosen by
    ``seed`` with the classes kept in proportion; ``subset`` caps each of the three splits at that many
    images (also class-proportional). Both splits see the training transforms, as in DARTS.

    Example:
        >>> data = build_search_data(name="embedded", subset=256, seed=0)
        >>> len(data.train), len(data.valid), len(data.test), data.num_classes, data.in_channels
        (256, 256, 256, 10, 1)
        >>> train_loader, valid_loader, _ = data.loaders(batch_size=64, seed=0)
    """
    if not 0.0 < train_portion < 1.0:
        raise DatasetError(f"train_portion must lie strictly between 0 and 1, got {train_portion}")
    if subset is not None and subset < 1:
        raise DatasetError(f"subset must be a positive number of images, got {subset}")
    splits = _build(name, root, download, image_size, cutout)
    n = len(splits.train)  # type: ignore[arg-type]
    order = stratified_order(n, _labels(splits.train), mix_seed(seed, _SPLIT_STREAM))
    n_train = int(np.floor(train_portion * n))
    if n_train == 0 or n_train == n:
        raise DatasetError(f"train_portion={train_portion} of {n} images leaves an empty split; change it")
    train_idx, valid_idx = _cap(order[:n_train], subset), _cap(order[n_train:], subset)
    test: Dataset = splits.test
    if subset is not None and subset < len(splits.test):  # type: ignore[arg-type]
        n_test = len(splits.test)  # type: ignore[arg-type]
        test = Subset(splits.test, _cap(stratified_order(n_test, _labels(splits.test), mix_seed(seed, _TEST_STREAM)),
                                        subset))
    return SearchData(Subset(splits.train, train_idx), Subset(splits.train, valid_idx), test, splits.num_classes,
                      splits.in_channels, splits.image_size, splits.classes, name)


def build_eval_data(*, name: str = "embedded", root: str | Path | None = None, download: bool = False,
                    image_size: int | None = None, subset: int | None = None, seed: int = 0,
                    cutout: int = 0, augment: Augment | None = None) -> EvalData:
    """Build the splits for retraining: the whole training split and the test split (``subset`` caps each).

    Example:
        >>> data = build_eval_data(name="embedded", image_size=32)
        >>> len(data.train), len(data.test), data.image_size
        (5000, 1000, 32)
    """
    if subset is not None and subset < 1:
        raise DatasetError(f"subset must be a positive number of images, got {subset}")
    splits = _build(name, root, download, image_size, cutout, augment)
    train, test = splits.train, splits.test
    if subset is not None:
        for attr, stream in (("train", _EVAL_TRAIN_STREAM), ("test", _TEST_STREAM)):
            ds = train if attr == "train" else test
            n = len(ds)  # type: ignore[arg-type]
            if subset < n:
                sub = Subset(ds, _cap(stratified_order(n, _labels(ds), mix_seed(seed, stream)), subset))
                train, test = (sub, test) if attr == "train" else (train, sub)
    return EvalData(train, test, splits.num_classes, splits.in_channels, splits.image_size, splits.classes, name)


def search_data_from_config(cfg: DataConfig, *, seed: int) -> SearchData:
    """:func:`build_search_data` with the fields of a :class:`DataConfig`."""
    return build_search_data(name=cfg.name, root=cfg.root, download=cfg.download, train_portion=cfg.train_portion,
                             image_size=cfg.image_size, subset=cfg.subset, seed=seed, cutout=cfg.cutout)


def eval_data_from_config(cfg: DataConfig, *, seed: int) -> EvalData:
    """:func:`build_eval_data` with the fields of a :class:`DataConfig`."""
    return build_eval_data(name=cfg.name, root=cfg.root, download=cfg.download, image_size=cfg.image_size,
                           subset=cfg.subset, seed=seed, cutout=cfg.cutout)
