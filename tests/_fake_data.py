"""Write tiny fake datasets in torchvision's on-disk formats, for tests of data loading and recipes.

Each writer fills ``root`` and returns a :class:`FakeData` with the arrays it wrote, so a test can check
what it reads back. The images are random but seeded; they carry no signal.

    from _fake_data import write_cifar10          # tests/ is on sys.path (see tests/data/conftest.py)
    fake = write_cifar10(tmp_path, n_train=50, n_test=20)
    data = build_search_data(name="cifar10", root=fake.root)

torchvision's ``CIFAR10``/``CIFAR100`` check the md5 of every batch on construction, so they accept only the
published files; ``hwnas.data`` reads the same pickles without that check. MNIST-style files are checked for
existence only, so ``torchvision.datasets.MNIST(root)`` reads these directly.
"""

from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["FakeData", "write_cifar10", "write_cifar100", "write_imagefolder", "write_mnist", "write_fake"]


@dataclass
class FakeData:
    """What a writer wrote: ``root`` to pass as ``data.root`` and the arrays (images N x C x H x W uint8)."""

    root: Path
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: list[str]


_FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def _balanced_labels(n: int, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.arange(n) % num_classes).astype(np.int64)


def _random_images(n: int, c: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, size=(n, c, size, size), dtype=np.uint8)


def _dump(path: Path, obj: dict) -> None:
    # Protocol 2 as the published files (written by Python 2); str keys read back the same under latin-1.
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def write_cifar10(root: str | Path, *, n_train: int = 50, n_test: int = 20, seed: int = 0) -> FakeData:
    """``root/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}`` (train split over 5 batches)."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    xs, ys = _random_images(n_train, 3, 32, rng), _balanced_labels(n_train, 10, rng)
    xt, yt = _random_images(n_test, 3, 32, rng), _balanced_labels(n_test, 10, rng)
    for i, part in enumerate(np.array_split(np.arange(n_train), 5), start=1):
        _dump(folder / f"data_batch_{i}", {
            "batch_label": f"training batch {i} of 5", "labels": ys[part].tolist(),
            "data": xs[part].reshape(len(part), -1), "filenames": [f"img_{j}.png" for j in part],
        })
    _dump(folder / "test_batch", {"batch_label": "testing batch 1 of 1", "labels": yt.tolist(),
                                  "data": xt.reshape(n_test, -1), "filenames": [f"t_{j}.png" for j in range(n_test)]})
    _dump(folder / "batches.meta", {"num_cases_per_batch": max(n_train // 5, 1), "label_names": classes,
                                    "num_vis": 3072})
    return FakeData(Path(root), xs, ys, xt, yt, classes)


def write_cifar100(root: str | Path, *, n_train: int = 200, n_test: int = 100, seed: int = 0) -> FakeData:
    """``root/cifar-100-python/{train, test, meta}`` with fine and coarse labels."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    classes = [f"fine_{i:02d}" for i in range(100)]
    xs, ys = _random_images(n_train, 3, 32, rng), _balanced_labels(n_train, 100, rng)
    xt, yt = _random_images(n_test, 3, 32, rng), _balanced_labels(n_test, 100, rng)
    for name, x, y in (("train", xs, ys), ("test", xt, yt)):
        _dump(folder / name, {"filenames": [f"{name}_{j}.png" for j in range(len(y))], "batch_label": name,
                              "fine_labels": y.tolist(), "coarse_labels": (y // 5).tolist(),
                              "data": x.reshape(len(y), -1)})
    _dump(folder / "meta", {"fine_label_names": classes, "coarse_label_names": [f"coarse_{i}" for i in range(20)]})
    return FakeData(Path(root), xs, ys, xt, yt, classes)


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_mnist(root: str | Path, *, kind: str = "MNIST", n_train: int = 40, n_test: int = 20, seed: int = 0,
                layout: str = "torchvision", gz: bool = False) -> FakeData:
    """The four idx files of MNIST (``kind="MNIST"``) or Fashion-MNIST (``kind="FashionMNIST"``).

    ``layout="torchvision"`` writes ``root/<kind>/raw/`` (what ``torchvision.datasets.MNIST`` reads);
    ``layout="flat"`` writes the files directly into ``root``. ``gz`` gzips them (as distributed).
    """
    if kind not in ("MNIST", "FashionMNIST"):
        raise ValueError(f"kind must be MNIST or FashionMNIST, got {kind!r}")
    rng = np.random.default_rng(seed)
    folder = Path(root) / kind / "raw" if layout == "torchvision" else Path(root)
    folder.mkdir(parents=True, exist_ok=True)
    xs, ys = _random_images(n_train, 1, 28, rng), _balanced_labels(n_train, 10, rng)
    xt, yt = _random_images(n_test, 1, 28, rng), _balanced_labels(n_test, 10, rng)
    files = {"train-images-idx3-ubyte": xs[:, 0], "train-labels-idx1-ubyte": ys,
             "t10k-images-idx3-ubyte": xt[:, 0], "t10k-labels-idx1-ubyte": yt}
    for stem, arr in files.items():
        raw = _idx_bytes(arr)
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(raw, mtime=0))
        else:
            (folder / stem).write_bytes(raw)
    classes = _FASHION if kind == "FashionMNIST" else [str(i) for i in range(10)]  # names come with the dataset
    return FakeData(Path(root), xs, ys, xt, yt, list(classes))


def write_imagefolder(root: str | Path, *, classes: tuple[str, ...] = ("cat", "dog", "fish"), n_train: int = 4,
                      n_val: int = 2, size: int = 16, seed: int = 0) -> FakeData:
    """ImageNet layout: ``root/train/<class>/*.png`` and ``root/val/<class>/*.png`` (``n_*`` per class, RGB)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for split, n in (("train", n_train), ("val", n_val)):
        images, labels = [], []
        for label, cls in enumerate(sorted(classes)):
            d = Path(root) / split / cls
            d.mkdir(parents=True, exist_ok=True)
            for j in range(n):
                img = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
                Image.fromarray(img, "RGB").save(d / f"{cls}_{j:03d}.png")
                images.append(img.transpose(2, 0, 1))
                labels.append(label)
        out[split] = (np.stack(images), np.asarray(labels, dtype=np.int64))
    return FakeData(Path(root), *out["train"], *out["val"], sorted(classes))


def write_fake(name: str, root: str | Path, **kwargs: object) -> FakeData:
    """Write the fake dataset for a ``DATASETS`` name (``cifar10``, ``cifar100``, ``mnist``, ``fashion_mnist``,
    ``imagefolder``) into ``root``; recipes' tests use it with ``--set data.name=<name> data.root=<root>``."""
    writers = {
        "cifar10": write_cifar10, "cifar100": write_cifar100, "imagefolder": write_imagefolder,
        "mnist": lambda r, **k: write_mnist(r, kind="MNIST", **k),
        "fashion_mnist": lambda r, **k: write_mnist(r, kind="FashionMNIST", **k),
    }
    if name not in writers:
        raise ValueError(f"no fake writer for {name!r}; known: {', '.join(sorted(writers))}")
    return writers[name](root, **kwargs)  # type: ignore[operator]
