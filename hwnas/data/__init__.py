"""hwnas.data: datasets for search and retraining, with deterministic, resumable loading.

The default, ``embedded``, is a class-balanced subset of Fashion-MNIST (5,000 train + 1,000 test images)
shipped inside the package, so ``hwnas search`` runs offline. Fashion-MNIST is (c) 2017 Zalando SE,
MIT licence, https://github.com/zalandoresearch/fashion-mnist (see ``hwnas/data/NOTICE.md``).
CIFAR-10/100, MNIST, Fashion-MNIST and ImageFolder (ImageNet layout) datasets are read from ``root``.

Example:
    >>> from hwnas.data import build_search_data
    >>> data = build_search_data(name="embedded", subset=512, seed=0)
    >>> train_loader, valid_loader, test_loader = data.loaders(batch_size=64, seed=0)
    >>> train_loader.set_epoch(0)  # before every epoch: the order depends on (seed, epoch) only
"""

from hwnas.data.arrays import ArrayDataset
from hwnas.data.build import (
    EvalData,
    SearchData,
    build_eval_data,
    build_search_data,
    eval_data_from_config,
    search_data_from_config,
    stratified_order,
)
from hwnas.data.builders import DatasetSplits
from hwnas.data.config import DataConfig
from hwnas.data.embedded import EMBEDDED_PATH, FASHION_CLASSES, load_embedded
from hwnas.data.errors import DatasetError, DatasetNotFoundError
from hwnas.data.sampler import EpochDataLoader, EpochSampler, make_loader, mix_seed
from hwnas.data.transforms import STATS, Cutout, array_transforms, imagenet_transforms

__all__ = [
    "EMBEDDED_PATH", "FASHION_CLASSES", "STATS", "ArrayDataset", "Cutout", "DataConfig", "DatasetError",
    "DatasetNotFoundError", "DatasetSplits", "EpochDataLoader", "EpochSampler", "EvalData", "SearchData",
    "array_transforms", "build_eval_data", "build_search_data", "eval_data_from_config", "imagenet_transforms",
    "load_embedded", "make_loader", "mix_seed", "search_data_from_config", "stratified_order",
]
