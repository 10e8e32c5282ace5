"""Gradient-matching splits: partitions against brute force, distances on constructed gradients, edge rules, tree."""

from __future__ import annotations

import itertools
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from hwnas.api import Choice
from hwnas.search.config import SplitsConfig
from hwnas.search_spaces import NB201Space
from hwnas.splits import (
    SplitTree,
    best_partition,
    decide_split,
    eligible_labels,
    gradient_distances,
    random_partition,
    scope_parameters,
    set_partitions,
)
from hwnas.supernets import DartsSupernet


@pytest.mark.parametrize("n, k, count", [(5, 2, 15), (7, 2, 63), (9, 3, 3025), (8, 4, 1701)])
def test_set_partitions_are_the_stirling_numbers(n, k, count):
    parts = list(set_partitions(n, k))
    assert len(parts) == count == len(set(parts))
    assert all(sorted(i for b in p for i in b) == list(range(n)) for p in parts)


def test_min_group_size_gives_the_codes_splits():
    # NB201 code: 5 ops into 2/3 only; DARTS-space code: 7 ops into 2/5 or 3/4.
    assert {tuple(sorted(map(len, p))) for p in set_partitions(5, 2, 2)} == {(2, 3)}
    assert {tuple(sorted(map(len, p))) for p in set_partitions(7, 2, 2)} == {(2, 5), (3, 4)}


def _brute(d, k, min_size):
    n = len(d)
    best = None
    for assign in itertools.product(range(k), repeat=n):
        groups = [[i for i in range(n) if assign[i] == g] for g in range(k)]
        if any(len(g) < min_size for g in groups):
            continue
        w = sum(d[a][b] for g in groups for i, a in enumerate(g) for b in g[i + 1:])
        best = w if best is None else min(best, w)
    return best


@pytest.mark.parametrize("n, k, min_size", [(5, 2, 2), (7, 2, 2), (6, 3, 1), (7, 3, 2)])
def test_best_partition_is_optimal(n, k, min_size):
    rng = np.random.default_rng(n * 10 + k)
    for _ in range(5):
        a = rng.random((n, n))
        d = (a + a.T) / 2
        np.fill_diagonal(d, 0)
        p = best_partition(d, k, min_size)
        assert p.within == pytest.approx(_brute(d, k, min_size))
        assert p.within + p.cross == pytest.approx(np.triu(d, 1).sum())
        assert len(p.groups) == k and all(len(g) >= min_size for g in p.groups)


def test_best_partition_on_a_hand_made_matrix_and_its_limits():
    d = np.full((5, 5), 0.9)
    d[np.ix_([0, 3], [0, 3])] = 0.1
    d[np.ix_([1, 2, 4], [1, 2, 4])] = 0.2
    np.fill_diagonal(d, 0)
    assert best_partition(d).groups == ((0, 3), (1, 2, 4))
    with pytest.raises(ValueError, match="cannot form 3 groups of at least 2"):
        best_partition(d, 3, 2)
    r = random_partition(7, 2, random.Random(0))
    assert sorted(map(len, r.groups)) == [3, 4] and sorted(i for g in r.groups for i in g) == list(range(7))


class _Scale(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        return self.k * x


class AgreeConflict(nn.Module):
    """x -> edge (k·x for k in +1, +2, -1) -> linear tail. With the tail at 0 the logits are 0 for every k, so
    the tail's gradient is k times one matrix: +1 and +2 agree exactly, -1 conflicts."""

    def __init__(self):
        super().__init__()
        ops = {name: (lambda k: lambda ci, co, s, **kw: _Scale(k))(k) for name, k in
               (("plus", 1.0), ("plus2", 2.0), ("minus", -1.0))}
        self.edge = Choice(ops, label="e", c_in=4, c_out=4)
        self.tail = nn.Linear(4, 3, bias=False)
        nn.init.zeros_(self.tail.weight)

    def forward(self, x):
        return self.tail(self.edge(x))


@pytest.mark.parametrize("force", ["hard", "soft"])
def test_gradient_distance_separates_agreeing_from_conflicting_candidates(force):
    net = DartsSupernet(AgreeConflict())
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 4, generator=g), torch.randint(0, 3, (8,), generator=g)) for _ in range(3)]
    d = gradient_distances(net, "e", batches, candidates=["plus", "plus2", "minus"], force=force, scope=["tail"])
    assert d[0, 1] == pytest.approx(0.0, abs=1e-4)  # same direction (up to the 1e-6 in the denominator)
    assert d[0, 2] == pytest.approx(2.0, abs=1e-4) and d[1, 2] == pytest.approx(2.0, abs=1e-4)  # opposite
    assert best_partition(d.numpy(), 2, 1).groups == ((0, 1), (2,))
    assert net.allowed("e") == ("plus", "plus2", "minus") and net.space.tail.weight.grad is None  # left as it was


def test_scope_excludes_the_split_edge_and_names_bad_paths():
    net = DartsSupernet(NB201Space(C=4, N=1))
    own = {id(p) for m in net.space.modules() if isinstance(m, Choice) and m.label == "1<-0" for p in m.parameters()}
    choices = {id(p) for p in scope_parameters(net, "1<-0", ["choices"])}
    cells = {id(p) for p in scope_parameters(net, "1<-0", ["cells"])}
    assert own and not own & choices and not own & cells
    assert choices < cells  # the cells also hold the ResNet reduction blocks
    stem = {id(p) for p in net.space.stem.parameters()} | {id(p) for p in net.space.classifier.parameters()}
    assert not stem & cells
    with pytest.raises(ValueError, match="no module of the space"):
        scope_parameters(net, "1<-0", ["cellz"])


def _cfg(**kw):
    return SplitsConfig(**{"epochs": (1,), **kw})


def test_edge_rules_cross_and_within_pick_different_edges(monkeypatch):
    # Edge 1<-0: a strong split (within 0.4, cross 3.6); edge 2<-0: tight groups but little disagreement.
    a = np.array([[0, .2, 1, 1], [.2, 0, 1, 1], [1, 1, 0, .2], [1, 1, .2, 0]], dtype=float)
    b = np.array([[0, .05, .2, .2], [.05, 0, .2, .2], [.2, .2, 0, .05], [.2, .2, .05, 0]], dtype=float)
    mats = {"1<-0": a, "2<-0": b}
    import hwnas.splits.decide as dec

    monkeypatch.setattr(dec, "gradient_distances", lambda sn, label, *a_, **k: torch.tensor(mats[label]))
    net = DartsSupernet(NB201Space(C=4, N=1, candidates=["skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                                                          "avg_pool_3x3"]))
    kw = dict(lineage=set(), batches=[], rng=random.Random(0))
    cross = decide_split(net, cfg=_cfg(labels=("1<-0", "2<-0"), edge_rule="cross"), **kw)
    within = decide_split(net, cfg=_cfg(labels=("1<-0", "2<-0"), edge_rule="within"), **kw)
    assert cross.label == "1<-0" and within.label == "2<-0"
    assert cross.groups == (("skip_connect", "nor_conv_1x1"), ("nor_conv_3x3", "avg_pool_3x3"))
    assert cross.scores["1<-0"]["cross"] == pytest.approx(4.0) and within.scores["2<-0"]["within"] == pytest.approx(.1)


def test_eligible_edges_respect_patterns_lineage_and_masks():
    net = DartsSupernet(NB201Space(C=4, N=1))
    assert eligible_labels(net, patterns=("3<-*",), lineage={"3<-0"}, need=4) == ["3<-1", "3<-2"]
    net.restrict("3<-1", ["none", "skip_connect", "nor_conv_1x1"])  # 3 left: cannot make 2 groups of 2
    assert eligible_labels(net, patterns=("3<-*",), lineage=set(), need=4) == ["3<-0", "3<-2"]


@pytest.mark.parametrize("method, sizes", [("fewshot", [1, 1, 1, 1, 1]), ("random", [2, 3])])
def test_baselines_fewshot_and_random(method, sizes):
    net = DartsSupernet(NB201Space(C=4, N=1))
    d = decide_split(net, cfg=_cfg(method=method, edge_rule="first"), lineage=set(), batches=[],
                     rng=random.Random(0))
    assert d.label == "1<-0" and sorted(map(len, d.groups)) == sizes and d.distance is None


def test_config_refuses_gradient_rules_without_gradients():
    with pytest.raises(ValueError, match="needs gradient distances"):
        SplitsConfig(epochs=(1,), method="random", edge_rule="cross")
    with pytest.raises(ValueError, match="increasing"):
        SplitsConfig(epochs=(3, 2))


def test_tree_lineage_and_json():
    t = SplitTree()
    t.split("0", epoch=2, label="a", groups=[["x", "y"], ["z", "w"]], names=["x", "y", "z", "w"],
            distance=[[0.0] * 4] * 4)
    t.split("0.1", epoch=4, label="b", groups=[["p"], ["q"]])
    assert t.leaves() == ["0.0", "0.1.0", "0.1.1"] and t.split_epochs() == {2, 4}
    assert t.lineage_labels("0.1.1") == {"a", "b"} and t.lineage_labels("0.0") == {"a"}
    back = SplitTree.from_json(t.to_json())
    assert back.rows() == t.rows()
    with pytest.raises(ValueError, match="already split"):
        t.split("0", epoch=5, label="c", groups=[["x"], ["y"]])
    assert SimpleNamespace(**t.nodes["0.1"].__dict__).split_label == "b"
