"""Dataset builders registered in ``hwnas.api.DATASETS``.

A builder is called as ``builder(*, root, download, image_size, cutout)`` (plus ``augment=`` when a training run
asks for RandAugment or another colour jitter, see :class:`hwnas.data.augment.Augment`) and returns a
:class:`DatasetSplits`: the training split with training transforms and the test split with evaluation
transforms. :func:`hwnas.data.build_search_data` cuts the held-out architecture split out of ``train``.
Register your own with ``@DATASETS.register("name")`` and the same signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch.utils.data import Dataset

from hwnas.api.registries import DATASETS
from hwnas.data import _cifar
from hwnas.data._idx import find_idx, read_idx
from hwnas.data.arrays import ArrayDataset
from hwnas.data.augment import Augment
from hwnas.data.embedded import FASHION_CLASSES, load_embedded
from hwnas.data.errors import DatasetError, DatasetNotFoundError
from hwnas.data.transforms import array_transforms, imagenet_transforms


@dataclass(frozen=True)
class DatasetSplits:
    """What a builder returns.

    Attributes:
        train: The training split, seen through the training transforms.
        test: The test split, seen through the evaluation transforms.
        num_classes, in_channels, image_size: What the network must accept and predict.
        classes: Class names, index = label.
    """

    train: Dataset
    test: Dataset
    num_classes: int
    in_channels: int
    image_size: int
    classes: tuple[str, ...]


def _need_root(name: str, root: str | Path | None, hint: str) -> Path:
    if root is None or str(root) == "":
        raise DatasetNotFoundError(
            f"dataset {name!r} needs a folder: pass --set data.root=/path/to/{hint}"
            + (" (or --set data.download=true to fetch it there)" if name != "imagefolder" else "")
        )
    path = Path(root).expanduser()
    if path.is_file():
        raise DatasetNotFoundError(f"data.root {str(path)!r} is a file, not a folder: point --set data.root=... at "
                                   f"the folder holding {hint}")
    return path


def _not_found(name: str, root: Path, expected: str, *, downloadable: bool = True) -> DatasetNotFoundError:
    fix = f"point --set data.root=... at the folder that holds {expected}"
    if downloadable:
        fix += f", or add --set data.download=true to download {name} into {root}"
    return DatasetNotFoundError(f"dataset {name!r} not found under {str(root)!r}: {fix}")


# ---------------------------------------------------------------------------------------------- embedded


@DATASETS.register("embedded")
def embedded(*, root: str | Path | None = None, download: bool = False, image_size: int | None = None,
             cutout: int = 0, augment: Augment | None = None) -> DatasetSplits:
    """The Fashion-MNIST subset shipped with hwnas (1x28x28, 10 classes); ``image_size=32`` pads to 32x32.

    Training transforms: random crop (pad 2), horizontal flip, normalize (+ Cutout if asked).
    """
    if root is not None:
        raise DatasetError(f"the embedded dataset ships with hwnas and takes no data.root (got {str(root)!r}); "
                           "drop data.root or pick another data.name")
    arrays = load_embedded()
    size = image_size or 28
    train_tf, eval_tf = array_transforms(native=28, size=size, stats="fashion_mnist", crop_pad=2, flip=True,
                                         cutout=cutout, augment=augment)
    train = ArrayDataset(arrays["train_images"], arrays["train_labels"], train_tf, FASHION_CLASSES)
    test = ArrayDataset(arrays["test_images"], arrays["test_labels"], eval_tf, FASHION_CLASSES)
    return DatasetSplits(train, test, 10, 1, size, FASHION_CLASSES)


# --------------------------------------------------------------------------------------------- CIFAR


def _cifar_splits(name: str, layout: _cifar.CifarLayout, tv_class: str, stats: str, *, root: str | Path | None,
                  download: bool, image_size: int | None, cutout: int, augment: Augment | None) -> DatasetSplits:
    base = _need_root(name, root, f"{name} (the folder holding {layout.folder}/)")
    folder = _cifar.find_folder(base, layout)
    if folder is None and download:
        import torchvision.datasets as tvd  # only when asked to download

        for train in (True, False):
            getattr(tvd, tv_class)(str(base), train=train, download=True)
        folder = _cifar.find_folder(base, layout)
    if folder is None:
        raise _not_found(name, base, f"{layout.folder}/")
    size = image_size or 32
    train_tf, eval_tf = array_transforms(native=32, size=size, stats=stats, crop_pad=4 * size // 32, flip=True,
                                         cutout=cutout, augment=augment)
    classes = tuple(_cifar.read_classes(folder, layout))
    xs, ys = _cifar.read_split(folder, layout, train=True)
    xt, yt = _cifar.read_split(folder, layout, train=False)
    return DatasetSplits(ArrayDataset(xs, ys, train_tf, classes), ArrayDataset(xt, yt, eval_tf, classes),
                         layout.num_classes, 3, size, classes)


@DATASETS.register("cifar10")
def cifar10(*, root: str | Path | None = None, download: bool = False, image_size: int | None = None,
            cutout: int = 0, augment: Augment | None = None) -> DatasetSplits:
    """CIFAR-10 from ``root/cifar-10-batches-py`` (torchvision's layout). Train: crop 32 pad 4, flip, normalize."""
    return _cifar_splits("cifar10", _cifar.CIFAR10, "CIFAR10", "cifar10", root=root, download=download,
                         image_size=image_size, cutout=cutout, augment=augment)


@DATASETS.register("cifar100")
def cifar100(*, root: str | Path | None = None, download: bool = False, image_size: int | None = None,
             cutout: int = 0, augment: Augment | None = None) -> DatasetSplits:
    """CIFAR-100 (fine labels) from ``root/cifar-100-python``. Same transforms as CIFAR-10, own statistics."""
    return _cifar_splits("cifar100", _cifar.CIFAR100, "CIFAR100", "cifar100", root=root, download=download,
                         image_size=image_size, cutout=cutout, augment=augment)


# --------------------------------------------------------------------------------------------- MNIST family

_IDX = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find_idx_folder(base: Path, tv_folder: str) -> Path | None:
    # torchvision keeps root/<Class>/raw/; a folder holding the four files directly is accepted too.
    for cand in (base / tv_folder / "raw", base / "raw", base):
        if all(find_idx(cand, stem) for stems in _IDX.values() for stem in stems):
            return cand
    return None


def _mnist_splits(name: str, tv_class: str, classes: tuple[str, ...], *, flip: bool, root: str | Path | None,
                  download: bool, image_size: int | None, cutout: int, augment: Augment | None) -> DatasetSplits:
    base = _need_root(name, root, f"{name} (the folder holding {tv_class}/raw/ or the four idx files)")
    folder = _find_idx_folder(base, tv_class)
    if folder is None and download:
        import torchvision.datasets as tvd  # only when asked to download

        for train in (True, False):
            getattr(tvd, tv_class)(str(base), train=train, download=True)
        folder = _find_idx_folder(base, tv_class)
    if folder is None:
        raise _not_found(name, base, f"{tv_class}/raw/ or the four idx files (train-images-idx3-ubyte[.gz], ...)")
    size = image_size or 28
    train_tf, eval_tf = array_transforms(native=28, size=size, stats=name, crop_pad=2, flip=flip, cutout=cutout,
                                         augment=augment)
    out = []
    for train, tf in ((True, train_tf), (False, eval_tf)):
        paths = [find_idx(folder, stem) for stem in _IDX[train]]
        try:
            images, labels = read_idx(paths[0]), read_idx(paths[1])
        except (OSError, ValueError) as e:
            raise DatasetError(f"cannot read {name} from {folder}: {e}") from None
        if images.ndim != 3 or labels.shape != images.shape[:1]:
            raise DatasetError(f"{folder}: {images.shape[0]} images of shape {images.shape[1:]} but "
                               f"{labels.shape} labels")
        out.append(ArrayDataset(images, labels, tf, classes))
    return DatasetSplits(out[0], out[1], 10, 1, size, classes)


@DATASETS.register("mnist")
def mnist(*, root: str | Path | None = None, download: bool = False, image_size: int | None = None,
          cutout: int = 0, augment: Augment | None = None) -> DatasetSplits:
    """MNIST from ``root/MNIST/raw`` (torchvision) or a folder with the idx files. Train: crop pad 2 (no flip)."""
    return _mnist_splits("mnist", "MNIST", tuple(str(i) for i in range(10)), flip=False, root=root,
                         download=download, image_size=image_size, cutout=cutout, augment=augment)


@DATASETS.register("fashion_mnist")
def fashion_mnist(*, root: str | Path | None = None, download: bool = False, image_size: int | None = None,
                  cutout: int = 0, augment: Augment | None = None) -> DatasetSplits:
    """Fashion-MNIST from ``root/FashionMNIST/raw`` or a folder with the idx files. Train: crop pad 2, flip."""
    return _mnist_splits("fashion_mnist", "FashionMNIST", FASHION_CLASSES, flip=True, root=root,
                         download=download, image_size=image_size, cutout=cutout, augment=augment)


# --------------------------------------------------------------------------------------------- ImageFolder


def _image_folder(path: Path, class_to_idx: dict[str, int] | None, transform: object) -> Dataset:
    from torchvision.datasets import ImageFolder

    class _Fixed(ImageFolder):
        # The val split must use the train split's label numbering even if it lacks some classes.
        def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
            if class_to_idx is None:
                return super().find_classes(directory)
            return sorted(class_to_idx, key=class_to_idx.__getitem__), dict(class_to_idx)

    try:
        return _Fixed(str(path), transform=transform, allow_empty=class_to_idx is not None)
    except (FileNotFoundError, OSError) as e:
        raise DatasetError(f"cannot read image folder {path}: {e}") from None


@DATASETS.register("imagefolder")
def imagefolder(*, root: str | Path | None = None, download: bool = False, image_size: int | None = None,
                cutout: int = 0, augment: Augment | None = None) -> DatasetSplits:
    """ImageNet layout: ``root/train/<class>/*.jpg`` and ``root/val/<class>/*.jpg`` (RGB, default 224x224).

    Train: RandomResizedCrop, flip, colour jitter, normalize; eval: resize to size/0.875, centre crop.
    """
    base = _need_root("imagefolder", root, "images (holding train/<class>/ and val/<class>/)")
    if download:
        raise DatasetError("imagefolder datasets cannot be downloaded; drop data.download")
    missing = [s for s in ("train", "val") if not (base / s).is_dir()]
    if missing:
        raise DatasetNotFoundError(
            f"image folder {str(base)!r} has no {' or '.join(s + '/' for s in missing)}: point --set data.root=... "
            "at a folder holding train/<class>/*.jpg and val/<class>/*.jpg (the ImageNet layout)"
        )
    size = image_size or 224
    train_tf, eval_tf = imagenet_transforms(size=size, cutout=cutout, augment=augment)
    train = _image_folder(base / "train", None, train_tf)
    val_classes = sorted(p.name for p in (base / "val").iterdir() if p.is_dir())
    unknown = sorted(set(val_classes) - set(train.class_to_idx))
    if unknown:
        raise DatasetError(f"{base / 'val'} has classes absent from train/: {', '.join(unknown[:5])}"
                           + (" ..." if len(unknown) > 5 else ""))
    test = _image_folder(base / "val", train.class_to_idx, eval_tf)
    return DatasetSplits(train, test, len(train.classes), 3, size, tuple(train.classes))

