"""Search-time candidates as the reference search cells build them, under every strategy; ``candidates=`` subsets."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hwnas.api import SUPERNETS, ConfigError, freeze
from hwnas.search_spaces import DARTS_OPS_NO_NONE, DartsSpace, NB201Space

X = torch.randn(2, 4, 6, 6, generator=torch.Generator().manual_seed(0))


def _pool_op(net, name):
    m = next(m for m in net.space.modules() if hasattr(m, "ops") and name in getattr(m, "candidate_names", ()))
    return m.ops[m.candidate_names.index(name)]


@pytest.mark.parametrize("strategy", ["darts", "gdas", "proxyless"])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_darts_pooling_is_pool_then_one_non_affine_bn(strategy, kind):
    # DARTS's search MixedOp: `if 'pool' in primitive: op = nn.Sequential(op, nn.BatchNorm2d(C, affine=False))`,
    # exactly one BN (the space owns it; no strategy adds a second one).
    net = SUPERNETS.get(strategy)(DartsSpace(C=4, layers=3))
    op = _pool_op(net, f"{kind}_pool_3x3").train()
    bns = [m for m in op.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 1 and not bns[0].affine
    pooled = F.max_pool2d(X, 3, 1, 1) if kind == "max" else F.avg_pool2d(X, 3, 1, 1, count_include_pad=False)
    ref = F.batch_norm(pooled, None, None, training=True)
    assert torch.allclose(op(X), ref, atol=1e-5)


def test_pc_darts_pooling_has_one_bn_at_the_partial_width():
    net = SUPERNETS.get("pc_darts")(DartsSpace(C=8, layers=3), k=4)
    op = _pool_op(net, "avg_pool_3x3")
    bns = [m for m in op.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 1 and bns[0].num_features == 2


@pytest.mark.parametrize("strategy", SUPERNETS.names())
def test_nb201_pooling_is_the_bare_average_pool(strategy):
    # NAS-Bench-201's search cell: POOLING at equal widths is AvgPool2d(3, 1, 1, count_include_pad=False), no BN.
    net = SUPERNETS.get(strategy)(NB201Space(C=4, N=1))
    op = _pool_op(net, "avg_pool_3x3")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in op.modules())
    assert torch.allclose(op(X), F.avg_pool2d(X, 3, 1, 1, count_include_pad=False))


def test_darts_space_with_seven_ops():
    space = DartsSpace(C=4, layers=3, candidates=list(DARTS_OPS_NO_NONE))
    net = SUPERNETS.get("darts")(space)
    assert all(len(net.alpha_of(lb)) == 7 for lb in net.labels)
    assert "none" not in DARTS_OPS_NO_NONE and len(DARTS_OPS_NO_NONE) == 7
    arch = net.export()
    assert arch.space_kwargs["candidates"] == list(DARTS_OPS_NO_NONE)
    rebuilt = DartsSpace(**arch.space_kwargs)
    assert freeze(rebuilt, arch)(torch.zeros(1, 3, 16, 16)).shape == (1, 10)
    # the default records nothing, so earlier ArchSpecs stay equal
    assert "candidates" not in DartsSpace(C=4, layers=3).space_kwargs


def test_nb201_space_with_a_subset():
    space = NB201Space(C=4, N=1, candidates=["nor_conv_3x3", "skip_connect"])
    net = SUPERNETS.get("darts")(space)
    assert net.graph.choices["1<-0"] == ("skip_connect", "nor_conv_3x3")  # the benchmark's order is kept
    assert space.space_kwargs["candidates"] == ["skip_connect", "nor_conv_3x3"]


@pytest.mark.parametrize("cls, value, message", [
    (DartsSpace, ["sep_conv_3x3", "warp"], "unknown candidate"),
    (DartsSpace, "sep_conv_3x3", "non-empty list"),
    (NB201Space, [], "non-empty list"),
    (NB201Space, ["skip_connect", "skip_connect"], "twice"),
])
def test_bad_candidates_name_the_problem(cls, value, message):
    with pytest.raises(ConfigError, match=message):
        cls(candidates=value)
