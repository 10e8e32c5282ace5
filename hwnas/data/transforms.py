"""Standard image transforms: CIFAR-style (crop + flip), ImageNet-style (random resized crop), Cutout."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torchvision import transforms as T

from hwnas.data.augment import Augment, TensorRandAugment

#: Per-channel mean and standard deviation of each dataset's training split (pixel values in [0, 1]).
STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "mnist": ((0.1307,), (0.3081,)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}

Transform = Callable[[torch.Tensor], torch.Tensor]
#: DARTS's ImageNet colour jitter (brightness, contrast, saturation, hue).
DARTS_COLOR_JITTER = (0.4, 0.4, 0.4, 0.2)


class Cutout:
    """Zero one random ``length`` x ``length`` square of a normalized CHW tensor (DeVries & Taylor, 2017).

    The centre is uniform over the image and the square is clipped at the borders, as in the paper.
    It draws from torch's RNG, so checkpointed RNG states (and DataLoader worker seeds) cover it.
    """

    def __init__(self, length: int) -> None:
        if length < 1:
            raise ValueError(f"Cutout length must be positive, got {length}")
        self.length = length

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[-2:]
        cy, cx = int(torch.randint(h, ())), int(torch.randint(w, ()))
        half = self.length // 2
        y0, y1 = max(cy - half, 0), min(cy + half, h)
        x0, x1 = max(cx - half, 0), min(cx + half, w)
        img = img.clone()
        img[..., y0:y1, x0:x1] = 0.0
        return img

    def __repr__(self) -> str:
        return f"Cutout(length={self.length})"


class Fit:
    """Bring a CHW float tensor from ``native`` to ``size`` pixels a side.

    A small enlargement (up to 8 pixels, even) pads with zeros, so the pixels stay exact (28 -> 32 is the
    classic LeNet padding of MNIST); anything else is a bilinear, antialiased resize.
    """

    def __init__(self, native: int, size: int) -> None:
        self.native, self.size = native, size
        diff = size - native
        self.pad = diff // 2 if 0 < diff <= 8 and diff % 2 == 0 else 0

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if img.shape[-1] == self.size and img.shape[-2] == self.size:
            return img
        if self.pad:
            return F.pad(img, (self.pad,) * 4)
        return F.interpolate(img[None], size=(self.size, self.size), mode="bilinear", antialias=True,
                             align_corners=False)[0]

    def __repr__(self) -> str:
        return f"Fit({self.native}->{self.size}, {'pad' if self.pad else 'resize'})"


def array_transforms(*, native: int, size: int, stats: str, crop_pad: int, flip: bool,
                     cutout: int = 0, augment: Augment | None = None) -> tuple[Transform, Transform]:
    """(train, eval) transforms for CHW float tensors in [0, 1] from in-memory arrays (CIFAR, MNIST, embedded).

    Train: fit to ``size``, random crop with ``crop_pad`` zero padding, optional horizontal flip, the
    ``augment`` extras (colour jitter, RandAugment), normalize, optional Cutout. Eval: fit and normalize.
    """
    mean, std = STATS[stats]
    fit = [Fit(native, size)] if size != native else []
    train: list[Transform] = list(fit)
    if crop_pad:
        train.append(T.RandomCrop(size, padding=crop_pad))
    if flip:
        train.append(T.RandomHorizontalFlip())
    if augment is not None:
        jitter = augment.jitter(None)
        train += [jitter] if jitter is not None else []
        train += [TensorRandAugment(ra) for ra in augment.pil_transforms(channels=len(mean))]
    train.append(T.Normalize(mean, std))
    if cutout:
        train.append(Cutout(cutout))
    return T.Compose(train), T.Compose([*fit, T.Normalize(mean, std)])


def imagenet_transforms(*, size: int = 224, cutout: int = 0, stats: Sequence[Sequence[float]] | None = None,
                        augment: Augment | None = None) -> tuple[Transform, Transform]:
    """(train, eval) transforms for PIL images in the ImageNet style.

    Train: RandomResizedCrop(size), horizontal flip, colour jitter (0.4, 0.4, 0.4, 0.2 as in DARTS unless
    ``augment`` sets another), RandAugment if asked, normalize, optional Cutout. Eval: resize the short side to
    size / 0.875 then centre crop.
    """
    mean, std = stats if stats is not None else STATS["imagenet"]
    norm = T.Normalize(mean, std)
    augment = augment or Augment()
    jitter = augment.jitter(DARTS_COLOR_JITTER)
    train: list[Transform] = [
        T.RandomResizedCrop(size), T.RandomHorizontalFlip(), *([jitter] if jitter is not None else []),
        *augment.pil_transforms(), T.ToTensor(), norm,
    ]
    if cutout:
        train.append(Cutout(cutout))
    evaluation = T.Compose([T.Resize(int(round(size / 0.875))), T.CenterCrop(size), T.ToTensor(), norm])
    return T.Compose(train), evaluation
