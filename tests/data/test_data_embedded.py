"""The shipped Fashion-MNIST subset: size, balance, provenance, determinism of its build."""

from pathlib import Path

import numpy as np
import pytest
import torch

from hwnas.data import (
    EMBEDDED_PATH,
    FASHION_CLASSES,
    _build_embedded,
    build_eval_data,
    build_search_data,
    load_embedded,
)
from hwnas.data._idx import read_idx

SHARED = Path(__file__).resolve().parents[2] / "../shared/data/fashion-mnist"


def test_shipped_file_is_small_and_credited():
    assert EMBEDDED_PATH.is_file()
    assert EMBEDDED_PATH.stat().st_size < 3_000_000
    notice = (EMBEDDED_PATH.parent / "NOTICE.md").read_text()
    assert "zalandoresearch/fashion-mnist" in notice and "MIT" in notice


def test_class_balance_and_shapes():
    a = load_embedded()
    assert a["train_images"].shape == (5000, 28, 28) and a["train_images"].dtype == np.uint8
    assert a["test_images"].shape == (1000, 28, 28)
    assert np.bincount(a["train_labels"], minlength=10).tolist() == [500] * 10
    assert np.bincount(a["test_labels"], minlength=10).tolist() == [100] * 10
    assert len(np.unique(a["train_index"])) == 5000 and len(np.unique(a["test_index"])) == 1000


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared Fashion-MNIST idx files absent")
def test_images_equal_the_original_idx_files():
    a = load_embedded()
    for split, stem in (("train", "train"), ("test", "t10k")):
        images = read_idx(SHARED / f"{stem}-images-idx3-ubyte.gz")
        labels = read_idx(SHARED / f"{stem}-labels-idx1-ubyte.gz")
        idx = a[f"{split}_index"]
        np.testing.assert_array_equal(a[f"{split}_images"], images[idx])
        np.testing.assert_array_equal(a[f"{split}_labels"], labels[idx])


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared Fashion-MNIST idx files absent")
def test_rebuild_is_byte_identical(tmp_path):
    out = tmp_path / "rebuilt.npz"
    assert _build_embedded.main([str(SHARED), "--out", str(out)]) == 0
    assert out.read_bytes() == EMBEDDED_PATH.read_bytes()


def test_search_data_defaults():
    data = build_search_data(seed=0)
    assert (len(data.train), len(data.valid), len(data.test)) == (2500, 2500, 1000)
    assert (data.num_classes, data.in_channels, data.image_size) == (10, 1, 28)
    assert data.classes == FASHION_CLASSES and data.name == "embedded"
    assert data.describe() == "embedded: 2500 train / 2500 valid / 1000 test images, 1x28x28, 10 classes"
    x, y = data.train[0]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and 0 <= y < 10
    # The stratified split keeps the classes balanced in both halves.
    labels = load_embedded()["train_labels"]
    assert np.bincount(labels[data.train.indices], minlength=10).tolist() == [250] * 10


def test_pad_to_32_keeps_pixels_exact():
    data = build_eval_data(image_size=32)
    assert data.image_size == 32
    x, _ = data.test[3]
    assert x.shape == (1, 32, 32)
    mean, std = 0.2860, 0.3530
    original = torch.from_numpy(load_embedded()["test_images"][3].astype(np.float32)) / 255
    torch.testing.assert_close(x[0, 2:30, 2:30], (original - mean) / std)
    torch.testing.assert_close(x[0, 0], torch.full((32,), -mean / std))


def test_resize_to_other_sizes():
    assert build_eval_data(image_size=20, subset=8).train[0][0].shape == (1, 20, 20)
    assert build_eval_data(image_size=64, subset=8).test[0][0].shape == (1, 64, 64)
