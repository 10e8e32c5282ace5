"""One ReLU per mixed op: the same values and gradients, one ReLU computed, candidates' hooks still fire."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hwnas.search_spaces import NB201Space
from hwnas.supernets import DartsSupernet, PCDartsSupernet
from hwnas.supernets._shared_relu import SharedReLU, share_leading_relus


@pytest.mark.parametrize("strategy", [DartsSupernet, PCDartsSupernet])
def test_shared_relu_gives_the_same_values_and_gradients(strategy):
    torch.manual_seed(0)
    fast = strategy(NB201Space(C=8, N=1, num_classes=3, in_channels=1))
    torch.manual_seed(0)
    plain = strategy(NB201Space(C=8, N=1, num_classes=3, in_channels=1), shared_relu=False)
    assert any(isinstance(m, SharedReLU) for m in fast.modules())
    assert not any(isinstance(m, SharedReLU) for m in plain.modules())
    plain.load_state_dict(fast.state_dict())
    x = torch.randn(4, 1, 12, 12)
    for net in (fast, plain):
        net.zero_grad()
        net(x).square().sum().backward()
    assert torch.allclose(fast(x), plain(x), atol=1e-6)
    for (name, a), b in zip(fast.named_parameters(), plain.parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-5, rtol=1e-4), name


@pytest.mark.parametrize("shared", [True, False])
def test_the_relu_is_computed_once_per_mixed_op_and_candidate_hooks_fire(shared, monkeypatch):
    torch.manual_seed(0)
    net = DartsSupernet(NB201Space(C=4, N=1, num_classes=3, in_channels=1), shared_relu=shared)
    edge = net.space.cells[0].edges["1_0"]  # nor_conv_1x1 and nor_conv_3x3 open with a ReLU
    fired, edge_input, relu_inputs = [], [], []
    for op in edge.ops:
        op.register_forward_hook(lambda m, i, o: fired.append(m))
    edge.register_forward_pre_hook(lambda m, args: edge_input.append(args[0]))
    real = torch.nn.functional.relu
    monkeypatch.setattr(torch.nn.functional, "relu", lambda t, *a, **k: (relu_inputs.append(t), real(t, *a, **k))[1])
    net(torch.randn(2, 1, 8, 8))
    assert len(fired) == 4  # skip, 1x1, 3x3, avg pool ran (none never runs)
    # state 0 feeds the edges 1<-0, 2<-0 and 3<-0: one ReLU each when shared, one per conv candidate (two) if not
    assert sum(t is edge_input[0] for t in relu_inputs) == (3 if shared else 6)


def test_share_leading_relus_needs_two_candidates_and_leaves_others_alone():
    lone = [nn.Sequential(nn.ReLU(), nn.Conv2d(2, 2, 1)), nn.Identity()]
    assert share_leading_relus(lone) is None and isinstance(lone[0][0], nn.ReLU)
    nested = [nn.Sequential(nn.Sequential(nn.ReLU(), nn.Conv2d(2, 2, 1)), nn.ReLU()),
              nn.Sequential(nn.ReLU(), nn.Conv2d(2, 2, 1)), nn.Sequential(nn.Conv2d(2, 2, 1), nn.ReLU())]
    cache = share_leading_relus(nested)
    assert cache is not None
    assert isinstance(nested[0][0][0], SharedReLU) and isinstance(nested[0][1], nn.ReLU)  # only the leading one
    assert isinstance(nested[2][1], nn.ReLU)
    x = torch.randn(1, 2, 3, 3)
    assert torch.equal(nested[1][0](x), torch.relu(x))  # outside a mixed op it is a plain ReLU
