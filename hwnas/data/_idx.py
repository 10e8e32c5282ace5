"""Read the idx format of (Fashion-)MNIST, plain or gzipped, without torchvision."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

# idx magic: two zero bytes, a type code, the number of dimensions. Only unsigned bytes occur in MNIST.
_UBYTE = 0x08


def read_idx(path: str | Path) -> np.ndarray:
    """Return the uint8 array stored in an idx file (``.gz`` is decompressed on the fly).

    Example:
        >>> read_idx("train-labels-idx1-ubyte.gz").shape  # doctest: +SKIP
        (60000,)
    """
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _UBYTE:
        raise ValueError(f"{path}: not an unsigned-byte idx file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {data.size} bytes")
    return data.reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as an idx file (gzipped when ``path`` ends in ``.gz``)."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, _UBYTE, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + array.tobytes()
    path.write_bytes(gzip.compress(raw, mtime=0) if path.suffix == ".gz" else raw)


def find_idx(folder: Path, stem: str) -> Path | None:
    """``folder/stem`` or ``folder/stem.gz``, whichever exists (plain first)."""
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None
