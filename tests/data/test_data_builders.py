"""Every DATASETS builder on fake files in torchvision's formats, through build_search_data / build_eval_data."""

import numpy as np
import pytest
import torch
from _fake_data import write_cifar10, write_fake, write_imagefolder, write_mnist

from hwnas.api import DATASETS, RegistryError, UserError
from hwnas.data import DatasetError, DatasetNotFoundError, build_eval_data, build_search_data

# name -> (in_channels, native size, num_classes, writer kwargs, n_train, n_test)
CASES = {
    "cifar10": (3, 32, 10, {"n_train": 50, "n_test": 20}, 50, 20),
    "cifar100": (3, 32, 100, {"n_train": 200, "n_test": 100}, 200, 100),
    "mnist": (1, 28, 10, {"n_train": 40, "n_test": 20}, 40, 20),
    "fashion_mnist": (1, 28, 10, {"n_train": 40, "n_test": 20}, 40, 20),
    "imagefolder": (3, 224, 3, {"n_train": 4, "n_val": 2}, 12, 6),
}


def test_registry_lists_all_builders():
    assert set(CASES) | {"embedded"} <= set(DATASETS.names())
    with pytest.raises(RegistryError, match="cifar10"):
        build_search_data(name="cifar11")


@pytest.mark.parametrize("name", sorted(CASES))
def test_builder_reads_fake_files(name, tmp_path):
    c, size, k, kwargs, n_train, n_test = CASES[name]
    fake = write_fake(name, tmp_path, **kwargs)
    image_size = 24 if name == "imagefolder" else None  # keep the ImageNet transforms cheap
    data = build_search_data(name=name, root=fake.root, train_portion=0.5, image_size=image_size, seed=3)
    size = image_size or size
    assert (data.num_classes, data.in_channels, data.image_size) == (k, c, size)
    assert len(data.classes) == k and list(data.classes) == fake.classes
    assert len(data.train) + len(data.valid) == n_train and len(data.test) == n_test
    assert len(data.train) == n_train // 2
    assert not set(data.train.indices) & set(data.valid.indices)
    for ds in (data.train, data.valid, data.test):
        x, y = ds[0]
        assert x.shape == (c, size, size) and x.dtype == torch.float32 and 0 <= y < k
    # Labels arrive unchanged: the test split in file order.
    assert [data.test[i][1] for i in range(n_test)] == fake.test_labels.tolist()


@pytest.mark.parametrize("name", ["cifar10", "mnist"])
def test_pixels_arrive_unchanged(name, tmp_path):
    fake = write_fake(name, tmp_path)
    data = build_eval_data(name=name, root=fake.root)
    assert torch.equal(data.test.images, torch.from_numpy(fake.test_images))
    assert torch.equal(data.train.images, torch.from_numpy(fake.train_images))
    mean = torch.tensor(0.4914 if name == "cifar10" else 0.1307)
    x, _ = data.test[0]  # eval transform = normalize only
    std = torch.tensor(0.2470 if name == "cifar10" else 0.3081)
    torch.testing.assert_close(x[0], (torch.from_numpy(fake.test_images[0, 0]).float() / 255 - mean) / std)


def test_torchvision_reads_the_fake_files(tmp_path, monkeypatch):
    tvd = pytest.importorskip("torchvision.datasets")
    import torchvision.datasets.cifar as tv_cifar

    fake = write_cifar10(tmp_path)
    with pytest.raises(RuntimeError):  # md5 of the published files is checked even without download
        tvd.CIFAR10(str(tmp_path), train=True, download=False)
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *a, **k: True)
    tv = tvd.CIFAR10(str(tmp_path), train=True, download=False)
    np.testing.assert_array_equal(tv.data, fake.train_images.transpose(0, 2, 3, 1))
    assert tv.targets == fake.train_labels.tolist()
    fm = write_mnist(tmp_path, kind="FashionMNIST")
    tv = tvd.FashionMNIST(str(tmp_path), train=False)  # MNIST files: existence check only
    np.testing.assert_array_equal(tv.data.numpy(), fm.test_images[:, 0])


@pytest.mark.parametrize("layout,gz", [("flat", True), ("flat", False), ("torchvision", True)])
def test_mnist_layouts(tmp_path, layout, gz):
    fake = write_mnist(tmp_path, kind="FashionMNIST", layout=layout, gz=gz)
    data = build_eval_data(name="fashion_mnist", root=tmp_path)
    assert torch.equal(data.train.images, torch.from_numpy(fake.train_images))


def test_cifar_root_may_be_the_batch_folder(tmp_path):
    write_cifar10(tmp_path)
    assert len(build_eval_data(name="cifar10", root=tmp_path / "cifar-10-batches-py").train) == 50


def test_split_is_deterministic_and_seeded(tmp_path):
    write_cifar10(tmp_path, n_train=100)
    a = build_search_data(name="cifar10", root=tmp_path, seed=1)
    b = build_search_data(name="cifar10", root=tmp_path, seed=1)
    c = build_search_data(name="cifar10", root=tmp_path, seed=2)
    assert a.train.indices == b.train.indices and a.valid.indices == b.valid.indices
    assert a.train.indices != c.train.indices
    assert sorted(a.train.indices + a.valid.indices) == list(range(100))


def test_train_portion_and_subset(tmp_path):
    write_cifar10(tmp_path, n_train=100, n_test=40)
    data = build_search_data(name="cifar10", root=tmp_path, train_portion=0.8, seed=0)
    assert (len(data.train), len(data.valid)) == (80, 20)
    small = build_search_data(name="cifar10", root=tmp_path, subset=10, seed=0)
    assert (len(small.train), len(small.valid), len(small.test)) == (10, 10, 10)
    assert not set(small.train.indices) & set(small.valid.indices)
    labels = np.array([small.train.dataset.targets[i] for i in small.train.indices])
    assert len(set(labels.tolist())) == 10  # class-proportional: 10 images of 10 balanced classes
    ev = build_eval_data(name="cifar10", root=tmp_path, subset=30, seed=0)
    assert (len(ev.train), len(ev.test)) == (30, 30)
    with pytest.raises(DatasetError, match="empty split"):
        build_search_data(name="cifar10", root=tmp_path, train_portion=0.001)


def test_imagefolder_val_with_fewer_classes_keeps_train_numbering(tmp_path):
    write_imagefolder(tmp_path, classes=("a", "b", "c"), n_train=2, n_val=1, size=8)
    import shutil

    shutil.rmtree(tmp_path / "val" / "a")
    data = build_eval_data(name="imagefolder", root=tmp_path, image_size=8)
    assert data.num_classes == 3 and sorted(data.test.targets) == [1, 2]
    (tmp_path / "val" / "zebra").mkdir()
    with pytest.raises(DatasetError, match="zebra"):
        build_eval_data(name="imagefolder", root=tmp_path, image_size=8)


@pytest.mark.parametrize("name", sorted(CASES))
def test_missing_root_is_a_clear_user_error(name, tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"--set data\.root=") as err:
        build_search_data(name=name)
    assert isinstance(err.value, UserError)
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetNotFoundError) as err:
        build_search_data(name=name, root=missing)
    msg = str(err.value)
    assert str(missing) in msg and "data.root=" in msg
    if name != "imagefolder":
        assert "--set data.download=true" in msg
    else:
        assert "train/" in msg and "val/" in msg


def test_embedded_rejects_a_root(tmp_path):
    with pytest.raises(DatasetError, match="data.root"):
        build_search_data(name="embedded", root=tmp_path)


def test_corrupt_cifar_batch_is_a_user_error(tmp_path):
    write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="data_batch_3"):
        build_eval_data(name="cifar10", root=tmp_path)


def test_cutout_and_augmentation_apply_to_train_only(tmp_path):
    fake = write_cifar10(tmp_path)
    data = build_eval_data(name="cifar10", root=tmp_path, cutout=16)
    torch.manual_seed(0)
    xs = torch.stack([data.train[0][0] for _ in range(8)])
    assert not torch.equal(xs[0], xs[1])  # random crop / flip / cutout
    assert ((xs == 0).all(dim=1).flatten(1).sum(1) > 0).all()  # each has a zeroed square (all channels)
    assert torch.equal(data.test[0][0], data.test[0][0])
    assert fake.test_images.shape[0] == len(data.test)


@pytest.mark.parametrize("name,tv_class", [("cifar10", "CIFAR10"), ("fashion_mnist", "FashionMNIST")])
def test_download_only_when_asked(name, tv_class, tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    calls = []

    def fake_download(root, train, download):  # stands in for torchvision's downloader (no network in tests)
        calls.append((train, download))
        write_fake(name, root)

    monkeypatch.setattr(tvd, tv_class, fake_download)
    with pytest.raises(DatasetNotFoundError):
        build_eval_data(name=name, root=tmp_path)
    assert calls == []
    data = build_eval_data(name=name, root=tmp_path, download=True)
    assert calls and all(d for _, d in calls) and len(data.train) > 0
    n = len(calls)
    build_eval_data(name=name, root=tmp_path, download=True)  # present now: no second download
    assert len(calls) == n
