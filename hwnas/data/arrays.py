"""A map-style dataset over an in-memory uint8 image array (CIFAR, MNIST and the embedded subset)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset


class ArrayDataset(Dataset):
    """Images held as one uint8 tensor ``[N, C, H, W]``; items are ``(transform(float image in [0, 1]), label)``.

    Args:
        images: uint8 array ``[N, C, H, W]`` or ``[N, H, W]`` (one channel).
        targets: integer labels, length N.
        transform: applied to each CHW float tensor; ``None`` returns it as is.
        classes: class names, index = label.

    Example:
        >>> ds = ArrayDataset(np.zeros((4, 8, 8), np.uint8), [0, 1, 0, 1])
        >>> ds[1][0].shape, ds[1][1]
        (torch.Size([1, 8, 8]), 1)
    """

    def __init__(self, images: np.ndarray | torch.Tensor, targets: Sequence[int] | np.ndarray | torch.Tensor,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 classes: Sequence[str] | None = None) -> None:
        if isinstance(images, torch.Tensor):
            imgs = images
        else:
            arr = np.asarray(images)
            imgs = torch.from_numpy(arr if arr.flags.writeable else arr.copy())  # torch wants writable memory
        if imgs.dtype != torch.uint8:
            raise TypeError(f"images must be uint8, got {imgs.dtype}")
        if imgs.ndim == 3:
            imgs = imgs[:, None]
        if imgs.ndim != 4:
            raise ValueError(f"images must be [N, C, H, W] or [N, H, W], got shape {tuple(imgs.shape)}")
        tg = torch.as_tensor(np.asarray(targets, dtype=np.int64))
        if tg.shape != (imgs.shape[0],):
            raise ValueError(f"{imgs.shape[0]} images but {tuple(tg.shape)} targets")
        self.images = imgs
        self.targets = tg
        self.transform = transform
        n_cls = int(tg.max()) + 1 if len(tg) else 0
        self.classes = list(classes) if classes is not None else [str(i) for i in range(n_cls)]

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        img = self.images[index].float().div_(255.0)
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.targets[index])

    def with_transform(self, transform: Callable[[torch.Tensor], torch.Tensor] | None) -> ArrayDataset:
        """The same images (shared memory) seen through another transform."""
        return ArrayDataset(self.images, self.targets, transform, self.classes)

    def __repr__(self) -> str:
        c, h, w = self.images.shape[1:]
        return f"ArrayDataset({len(self)} x {c}x{h}x{w}, {len(self.classes)} classes, transform={self.transform})"
