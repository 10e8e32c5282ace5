"""Read CIFAR-10/100 "python version" batches with a restricted unpickler (numpy arrays and builtins only).

torchvision's CIFAR classes verify the md5 of every batch on construction, which rejects anything but the
exact published files; reading the pickles here accepts any file in the same format and refuses pickles
that reference code other than numpy's array reconstruction.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hwnas.data.errors import DatasetError


@dataclass(frozen=True)
class CifarLayout:
    """Where a CIFAR variant keeps its batches and labels."""

    folder: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    meta: str
    label_key: str
    names_key: str
    num_classes: int


CIFAR10 = CifarLayout("cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",),
                      "batches.meta", "labels", "label_names", 10)
CIFAR100 = CifarLayout("cifar-100-python", ("train",), ("test",), "meta", "fine_labels", "fine_label_names", 100)

_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch")


def load_pickle(path: Path) -> dict[str, Any]:
    """Load one CIFAR pickle (a dict); Python 2 strings decode as latin-1, as torchvision does."""
    try:
        with open(path, "rb") as f:
            obj = _Unpickler(f, encoding="latin1").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
        raise DatasetError(f"cannot read CIFAR batch {path}: {e}") from None
    if not isinstance(obj, dict):
        raise DatasetError(f"{path}: expected a dict in a CIFAR batch, got {type(obj).__name__}")
    return obj


def find_folder(root: Path, layout: CifarLayout) -> Path | None:
    """The folder holding the batches: ``root/<layout.folder>`` or ``root`` itself."""
    for cand in (root / layout.folder, root):
        if all((cand / name).is_file() for name in layout.train + layout.test):
            return cand
    return None


def read_split(folder: Path, layout: CifarLayout, *, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[N, 3, 32, 32]`` uint8 and labels ``[N]`` int64 of the train or test split."""
    images, labels = [], []
    for name in layout.train if train else layout.test:
        d = load_pickle(folder / name)
        if "data" not in d or layout.label_key not in d:
            raise DatasetError(f"{folder / name}: missing 'data' or {layout.label_key!r}; keys are {sorted(d)}")
        data = np.asarray(d["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise DatasetError(f"{folder / name}: 'data' has shape {data.shape}, expected [N, 3072]")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(np.asarray(d[layout.label_key], dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def read_classes(folder: Path, layout: CifarLayout) -> list[str]:
    """Class names from the meta file, or "0", "1", ... when it is absent."""
    path = folder / layout.meta
    names = load_pickle(path).get(layout.names_key) if path.is_file() else None
    if not names or len(names) != layout.num_classes:
        return [str(i) for i in range(layout.num_classes)]
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]
