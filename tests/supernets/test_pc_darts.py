"""PC-DARTS: partial channels, shuffle, stride-2 bypass, fallback to K=1, edge normalisation and α·β selection."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hwnas.api import Choice, InputChoice
from hwnas.supernets import DartsSupernet, PCDartsSupernet, channel_shuffle
from tests.supernets._toy_spaces import ToyCellSpace, ToyLayerSpace, pool


def test_channel_shuffle_interleaves_groups():
    x = torch.arange(8.0).view(1, 8, 1, 1)
    assert channel_shuffle(x, 4).flatten().tolist() == [0, 2, 4, 6, 1, 3, 5, 7]
    assert torch.equal(channel_shuffle(x, 1), x)


@pytest.mark.parametrize("stride", [1, 2])
def test_partial_channel_op_matches_the_paper_formula(stride):
    torch.manual_seed(0)
    convs = []

    def conv(ci, co, s):
        convs.append(nn.Conv2d(ci, co, 3, s, 1))
        return convs[-1]

    space = nn.Sequential(Choice({"conv": conv, "pool": pool}, label="op", c_in=8, c_out=8, stride=stride))
    net = PCDartsSupernet(space, k=4)
    op = net.space[0]
    assert op.k == 4 and convs[0].weight.shape == (2, 2, 3, 3)  # candidates built at C/K
    x = torch.randn(2, 8, 6, 6)
    y = net(x)
    assert y.shape == (2, 8, 6 // stride, 6 // stride)
    w = torch.softmax(net.alpha_of("op").detach(), 0)
    mixed = w[0] * convs[0](x[:, :2]) + w[1] * F.max_pool2d(x[:, :2], 3, stride, 1)
    rest = x[:, 2:] if stride == 1 else F.max_pool2d(x[:, 2:], 2, 2)
    assert torch.allclose(y, channel_shuffle(torch.cat([mixed, rest], 1), 4), atol=1e-6)


def test_odd_sizes_at_stride_two_keep_shapes_consistent():
    space = nn.Sequential(Choice({"pool": pool}, label="op", c_in=4, c_out=4, stride=2))
    net = PCDartsSupernet(space, k=2)
    assert net(torch.randn(1, 4, 7, 7)).shape == (1, 4, 4, 4)


def test_fallback_to_full_channels_where_partial_cannot_apply():
    net = PCDartsSupernet(ToyLayerSpace(), k=4)
    ks = {m.label: m.k for m in net.space.modules() if isinstance(m, Choice)}
    assert ks == {"down": 1, "shared": 4, "odd": 1}  # 8->16 changes width; 6 is not divisible by 4
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 3)


def test_edge_normalisation_weights_the_inputs():
    space = nn.Module()
    space.ic = InputChoice(n_candidates=3, n_chosen=2, label="n")
    space.c = Choice({"a": lambda ci, co, s: nn.Identity()}, label="c", c_in=1, c_out=1)
    space.forward = lambda xs: space.ic(xs)
    net = PCDartsSupernet(space)
    with torch.no_grad():
        net.beta_of("n").copy_(torch.tensor([0.0, 1.0, 2.0]))
    xs = [torch.ones(1), 2 * torch.ones(1), None]
    b = torch.softmax(torch.tensor([0.0, 1.0, 2.0]), 0)
    assert torch.allclose(net(xs), b[0] * 1 + b[1] * 2)
    assert torch.allclose(net.input_weights()["n"], b)
    net(xs).sum().backward()
    assert net.beta_of("n").grad.abs().sum() > 0


def _set_cell_weights(net, alphas: dict[str, float]) -> None:
    with torch.no_grad():
        for label in net.labels:
            net.alpha_of(label).zero_()
        for label, conv_logit in alphas.items():
            net.alpha_of(label)[3] = conv_logit  # candidates: none, pool, skip, conv


def test_selection_uses_alpha_times_beta():
    torch.manual_seed(0)
    edges = {"normal_n1_e0": 3.0, "normal_n1_e1": 2.0, "normal_n1_e2": 1.0}
    p_conv = {k: math.exp(v) / (math.exp(v) + 3) for k, v in edges.items()}  # 0.870, 0.711, 0.475
    pc = PCDartsSupernet(ToyCellSpace())
    darts = DartsSupernet(ToyCellSpace())
    _set_cell_weights(pc, edges)
    _set_cell_weights(darts, edges)
    # α alone: the two strongest edges are e0 and e1
    assert darts.export().choices["normal_n1"] == (0, 1)
    with torch.no_grad():
        pc.beta_of("normal_n1").copy_(torch.tensor([0.1, 0.3, 0.6]).log())
    scores = [0.1 * p_conv["normal_n1_e0"], 0.3 * p_conv["normal_n1_e1"], 0.6 * p_conv["normal_n1_e2"]]
    assert scores == pytest.approx([0.0870, 0.2133, 0.2852], abs=1e-4)
    arch = pc.export()
    assert arch.choices["normal_n1"] == (1, 2)
    assert arch.choices["normal_n1_e1"] == "conv" and arch.choices["normal_n1_e2"] == "conv"
    assert "normal_n1_e0" not in arch.choices  # an unused edge's choice is dropped (canonical form)
