"""Deterministic, resumable loading: EpochSampler, make_loader, SearchData.loaders."""

import pytest
import torch
from torch.utils.data import TensorDataset

from hwnas.data import EpochSampler, build_search_data, make_loader


def test_permutation_depends_on_seed_and_epoch_only():
    s = EpochSampler(50, seed=7)
    s.set_epoch(3)
    a = list(s)
    t = EpochSampler(50, seed=7)
    t.set_epoch(3)
    assert a == list(t) and sorted(a) == list(range(50))
    t.set_epoch(4)
    assert list(t) != a
    assert list(EpochSampler(50, seed=8).permutation(3)) != a
    assert EpochSampler(50, seed=7, stream=1).permutation(3) != a
    # (seed, epoch) pairs that sum alike do not collide
    assert EpochSampler(50, seed=0).permutation(1) != EpochSampler(50, seed=1).permutation(0)


def test_auto_advance_and_start():
    s = EpochSampler(20, seed=0)
    first, second = list(s), list(s)
    assert first == s.permutation(0) and second == s.permutation(1) and s.epoch == 2
    s.set_epoch(1, start=5)
    assert len(s) == 15 and list(s) == s.permutation(1)[5:]


def test_replicas_partition_the_permutation():
    parts = [EpochSampler(10, seed=1, num_replicas=3, rank=r).permutation(2) for r in range(3)]
    assert [len(p) for p in parts] == [4, 4, 4]
    assert set(sum(parts, [])) == set(range(10))
    with pytest.raises(ValueError):
        EpochSampler(10, seed=0, num_replicas=2, rank=2)


def test_state_dict_round_trip():
    s = EpochSampler(10, seed=4)
    s.set_epoch(5, start=2)
    t = EpochSampler(10, seed=0)
    t.load_state_dict(s.state_dict())
    assert list(t) == list(s)


def _batches(loader):
    return [b[0].tolist() for b in loader]


def test_resumed_loader_sees_the_same_batches():
    ds = TensorDataset(torch.arange(23))
    full = make_loader(ds, batch_size=5, shuffle=True, seed=3, drop_last=True)
    seen = []
    for epoch in range(3):
        full.set_epoch(epoch)
        seen.append(_batches(full))
    resumed = make_loader(ds, batch_size=5, shuffle=True, seed=3, drop_last=True)
    resumed.set_epoch(2)
    assert _batches(resumed) == seen[2]
    resumed.set_epoch(1, start_batch=2)  # mid-epoch resume
    assert _batches(resumed) == seen[1][2:]
    assert all(len(b) == 5 for b in seen[0]) and len(seen[0]) == 4
    assert seen[0] != seen[1]


def test_unshuffled_loader_keeps_order():
    loader = make_loader(TensorDataset(torch.arange(7)), batch_size=3, shuffle=False)
    assert _batches(loader) == [[0, 1, 2], [3, 4, 5], [6]]


def test_iterating_does_not_consume_global_rng():
    loader = make_loader(TensorDataset(torch.arange(8)), batch_size=4, shuffle=True, seed=0)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    _batches(loader)
    assert torch.equal(torch.get_rng_state(), before)


def test_augmented_batches_repeat_in_main_process_given_rng_state():
    data = build_search_data(subset=64, seed=0, cutout=8)
    train, _, _ = data.loaders(batch_size=16, seed=0)

    def epoch(e):
        torch.manual_seed(e)  # the search loop restores RNG states from its checkpoint
        train.set_epoch(e)
        return [x for x, _ in train]

    a, b = epoch(1), epoch(1)
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_augmented_batches_repeat_with_workers():
    data = build_search_data(subset=32, seed=0)
    loader = make_loader(data.train, batch_size=16, shuffle=True, seed=5, num_workers=2)

    def epoch(e):
        loader.set_epoch(e)
        return [x for x, _ in loader]

    e0, e1 = epoch(0), epoch(1)
    fresh = make_loader(data.train, batch_size=16, shuffle=True, seed=5, num_workers=2)
    fresh.set_epoch(1)
    assert all(torch.equal(x, y) for x, y in zip(e1, [x for x, _ in fresh]))
    assert not torch.equal(e0[0], e1[0])


def test_search_loaders_shapes_and_drop_last():
    data = build_search_data(subset=40, seed=0, image_size=32)
    train, valid, test = data.loaders(batch_size=16, seed=0)
    train.set_epoch(0)
    xb, yb = next(iter(train))
    assert xb.shape == (16, 1, 32, 32) and yb.dtype == torch.int64
    assert len(train) == 2 and len(valid) == 2 and len(test) == 3  # ragged train/valid batch dropped
    tiny = build_search_data(subset=5, seed=0).loaders(batch_size=16, seed=0)[0]
    assert len(tiny) == 1  # fewer images than a batch: keep the one short batch
