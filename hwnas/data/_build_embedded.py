"""Build ``fmnist_subset.npz``, the embedded default dataset, from the original Fashion-MNIST idx files.

Fashion-MNIST is (c) Zalando SE, released under the MIT licence (https://github.com/zalandoresearch/fashion-mnist).
The subset keeps a fixed number of images per class from each split, chosen by a seeded generator, and
records the original indices so anyone can check it against the source.

Usage::

    python -m hwnas.data._build_embedded /path/to/fashion-mnist [--out hwnas/data/fmnist_subset.npz]
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

from hwnas.data._idx import find_idx, read_idx

#: Images kept per class: 500 x 10 train, 100 x 10 test (about 2.7 MB compressed).
TRAIN_PER_CLASS = 500
TEST_PER_CLASS = 100
SEED = 20240917
OUT = Path(__file__).with_name("fmnist_subset.npz")

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _load_split(src: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    paths = [find_idx(src, stem) for stem in _FILES[split]]
    missing = [stem for stem, p in zip(_FILES[split], paths) if p is None]
    if missing:
        raise FileNotFoundError(f"{src}: missing {', '.join(missing)}[.gz]")
    return read_idx(paths[0]), read_idx(paths[1])


def select_balanced(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``per_class`` images of every class, drawn without replacement by ``rng``."""
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in np.unique(labels)]
    return np.sort(np.concatenate(picks)).astype(np.int32)


def build(src: str | Path, *, train_per_class: int = TRAIN_PER_CLASS, test_per_class: int = TEST_PER_CLASS,
          seed: int = SEED) -> dict[str, np.ndarray]:
    """Return the arrays of the embedded subset (deterministic in ``seed``)."""
    src = Path(src)
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        images, labels = _load_split(src, split)
        idx = select_balanced(labels, per_class, rng)
        out[f"{split}_images"] = images[idx]
        out[f"{split}_labels"] = labels[idx]
        out[f"{split}_index"] = idx
    out["seed"] = np.array(seed, dtype=np.int64)
    return out


def save(arrays: dict[str, np.ndarray], path: str | Path) -> None:
    """Write ``arrays`` as an .npz with fixed timestamps, so rebuilding gives identical bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            zf.writestr(info, data.getvalue(), compresslevel=9)
    Path(path).write_bytes(buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``main(["/path/to/fashion-mnist", "--out", "file.npz"])``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="folder with the four Fashion-MNIST idx files (.gz or plain)")
    parser.add_argument("--out", default=str(OUT), help="output .npz (default: the packaged file)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    arrays = build(args.source, seed=args.seed)
    save(arrays, args.out)
    size = Path(args.out).stat().st_size
    print(f"wrote {args.out}: {len(arrays['train_labels'])} train + {len(arrays['test_labels'])} test images, "
          f"{size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
