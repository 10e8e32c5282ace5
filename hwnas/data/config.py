"""The data section of a search/eval config: which dataset, where, how it is split and batched."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataConfig:
    """Typed data settings (the ``data:`` section of a recipe).

    Attributes:
        name: A ``DATASETS`` name: ``embedded`` (default, ships with hwnas), ``cifar10``, ``cifar100``,
            ``mnist``, ``fashion_mnist`` or ``imagefolder``.
        root: Folder holding the dataset (not used by ``embedded``).
        download: Let torchvision download a missing dataset into ``root`` (never done unless true).
        train_portion: Share of the training split used for the weight step; the rest is the held-out
            split of the architecture step (the test split is never used for decisions).
        image_size: Side of the images fed to the network; ``None`` keeps the dataset's own size
            (224 for ``imagefolder``).
        subset: Cap on the number of images in each split, for quick runs; ``None`` uses all.
        batch_size: Images per batch.
        num_workers: DataLoader worker processes (0 loads in the main process).
        cutout: Side of the Cutout square applied to training images; 0 disables it.

    Example:
        >>> from hwnas.api import from_dict
        >>> from_dict(DataConfig, {"name": "cifar10", "root": "/data", "subset": 512}).subset
        512
    """

    name: str = "embedded"
    root: str | None = None
    download: bool = False
    train_portion: float = 0.5
    image_size: int | None = None
    subset: int | None = None
    batch_size: int = 64
    num_workers: int = 0
    cutout: int = 0

    def __post_init__(self) -> None:
        # ValueError here becomes a ConfigError naming the section when loaded through from_dict.
        if not 0.0 < self.train_portion < 1.0:
            raise ValueError(f"train_portion must lie strictly between 0 and 1, got {self.train_portion}")
        if self.image_size is not None and self.image_size < 1:
            raise ValueError(f"image_size must be positive, got {self.image_size}")
        if self.subset is not None and self.subset < 1:
            raise ValueError(f"subset must be a positive number of images, got {self.subset}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {self.num_workers}")
        if self.cutout < 0:
            raise ValueError(f"cutout must be >= 0 (0 disables it), got {self.cutout}")
