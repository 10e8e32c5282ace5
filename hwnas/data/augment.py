"""Extra training augmentation, from timm and torchvision: RandAugment and colour jitter.

A builder that accepts ``augment=`` applies it to its training transforms (every built-in one does); the
evaluation transforms never change.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision import transforms as T

from hwnas.data.errors import DatasetError


@dataclass(frozen=True)
class Augment:
    """What to add to a dataset's training transforms.

    Attributes:
        randaugment: A timm RandAugment config string (``rand-m9-mstd0.5``, ``rand-m7-n3``...; see timm's
            ``rand_augment_transform``), or None.
        color_jitter: ``(brightness, contrast, saturation, hue)`` for torchvision's ColorJitter, replacing the
            dataset's own (ImageNet folders: DARTS's 0.4, 0.4, 0.4, 0.2; ProxylessNAS uses hue 0.1); all zeros
            switch it off. None keeps the dataset's default (none for CIFAR, MNIST and the embedded data).

    Example:
        >>> Augment(randaugment="rand-m9-mstd0.5").pil_transforms()[0].__class__.__name__
        'RandAugment'
    """

    randaugment: str | None = None
    color_jitter: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        if self.color_jitter is not None and (len(self.color_jitter) != 4 or min(self.color_jitter) < 0):
            raise DatasetError(f"color_jitter must be 4 non-negative numbers (brightness, contrast, saturation, hue), "
                               f"got {self.color_jitter}")
        if self.randaugment is not None:
            self.pil_transforms()  # a bad config string fails here, naming itself

    def jitter(self, default: tuple[float, float, float, float] | None) -> T.ColorJitter | None:
        cj = self.color_jitter if self.color_jitter is not None else default
        if cj is None or not any(cj):
            return None
        return T.ColorJitter(brightness=cj[0], contrast=cj[1], saturation=cj[2], hue=cj[3])

    def pil_transforms(self, channels: int = 3) -> list[object]:
        """The transforms that work on PIL images (RandAugment) of ``channels`` channels (1: grey, 3: RGB)."""
        if self.randaugment is None:
            return []
        from timm.data.auto_augment import rand_augment_transform

        # The fill of geometric ops: ImageNet's mean pixel, or mid-grey for one channel (PIL wants an int there).
        fill = (124, 116, 104) if channels == 3 else 128
        try:
            return [rand_augment_transform(self.randaugment, {"translate_const": 100, "img_mean": fill})]
        except (AssertionError, ValueError, KeyError) as e:
            raise DatasetError(f"randaugment {self.randaugment!r} is not a timm RandAugment config ({e}); "
                               "e.g. rand-m9-mstd0.5 or rand-m7-n2") from None


class TensorRandAugment:
    """timm's RandAugment for CHW float tensors in [0, 1] (hwnas's in-memory datasets): to PIL and back.

    PIL ops work on 8-bit pixels, so the image is quantised to 256 levels on the way, as it was when stored.
    """

    def __init__(self, ra: object) -> None:
        self.ra = ra

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        pil = T.functional.to_pil_image(img.clamp(0, 1))
        return T.functional.to_tensor(self.ra(pil))  # type: ignore[operator]

    def __repr__(self) -> str:
        return f"TensorRandAugment({self.ra!r})"
