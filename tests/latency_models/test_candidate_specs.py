"""Per-candidate OpSpecs: hand counts on a tiny space, shared labels, the fixed part, supernets and errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hwnas.api import SUPERNETS, Choice, UserError, collect_opspecs
from hwnas.latency_models import candidate_opspecs, space_opspecs
from hwnas.search_spaces import NB201Space


def _conv(k):
    return lambda ci, co, s: nn.Conv2d(ci, co, k, s, k // 2, bias=False)


def _pool(ci, co, s):
    return nn.MaxPool2d(3, s, 1)


class Tiny(nn.Module):
    """stem 3->4 (1x1) | Choice "a" stride 2 | Choice "b" twice (shared label) | pool + linear head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1, bias=False)
        cands = {"k1": _conv(1), "k3": _conv(3), "pool": _pool}
        self.a = Choice(cands, label="a", c_in=4, c_out=4, stride=2)
        self.b1 = Choice(cands, label="b", c_in=4, c_out=4)
        self.b2 = Choice(cands, label="b", c_in=4, c_out=4)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        x = self.a(self.stem(x))
        x = x + self.b1(x)
        return self.fc(self.gap(self.b2(x)).flatten(1))


def _macs(specs):
    return sum(s.macs for s in specs)


def test_hand_counts_and_shared_labels():
    s = space_opspecs(Tiny(), torch.zeros(1, 3, 12, 12))
    assert [(p.label, p.input_shape, p.output_shape) for p in s.places] == [
        ("a", (1, 4, 12, 12), (1, 4, 6, 6)), ("b", (1, 4, 6, 6), (1, 4, 6, 6)), ("b", (1, 4, 6, 6), (1, 4, 6, 6))]
    # "a": a 12x12 input at stride 2 gives 6x6 outputs; 4->4 channels.
    assert _macs(s.candidates["a"]["k1"]) == 36 * 16
    assert _macs(s.candidates["a"]["k3"]) == 36 * 16 * 9
    # "b" sits twice: both places are listed under the label.
    assert _macs(s.candidates["b"]["k3"]) == 2 * 36 * 16 * 9
    assert len(s.candidates["b"]["k3"]) == 2
    assert [x.kind for x in s.candidates["b"]["pool"]] == ["pool", "pool"]
    assert _macs(s.candidates["b"]["pool"]) == 0
    # Fixed part: stem conv, the residual add, pooling and the classifier; nothing from the Choices.
    kinds = [x.kind for x in s.fixed]
    assert kinds == ["conv", "eltwise", "pool", "linear"]
    assert _macs(s.fixed) == 144 * 12 + 20
    assert s.input_edges == {}


def test_network_specs_equal_frozen_network():
    space = Tiny()
    x = torch.zeros(2, 3, 16, 16)
    s = space_opspecs(space, x)
    choice = {"a": "k3", "b": "pool"}
    net = Tiny()  # the frozen network, built by hand
    net.a, net.b1, net.b2 = (c.build(choice[c.label]) for c in (net.a, net.b1, net.b2))
    frozen = collect_opspecs(net, x)
    ours = s.network_specs(choice)
    key = lambda sp: (sp.kind, sp.c_in, sp.c_out, sp.h_in, sp.h_out, sp.kernel, sp.stride, sp.batch)  # noqa: E731
    assert sorted(map(key, ours)) == sorted(map(key, frozen))
    assert all(sp.batch == 2 for sp in ours)


def test_nb201_places_and_input_size_follow_the_input():
    space = NB201Space(C=4, N=1)
    small = candidate_opspecs(space, torch.zeros(1, 3, 8, 8))
    big = candidate_opspecs(space, torch.zeros(1, 3, 16, 16))
    # 3 cells (8x8x4, 4x4x8, 2x2x16): a 3x3 conv edge has 64*16*9 + 16*64*9 + 4*256*9 MACs.
    assert _macs(small["1<-0"]["nor_conv_3x3"]) == 3 * 9216
    assert _macs(big["1<-0"]["nor_conv_3x3"]) == 4 * 3 * 9216
    assert set(small) == {"1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"}
    assert small["1<-0"]["none"] == [] and _macs(small["1<-0"]["skip_connect"]) == 0


@pytest.mark.parametrize("strategy", ["darts", "pc_darts", "proxyless"])
def test_supernet_gives_the_space_specs(strategy):
    x = torch.zeros(1, 3, 8, 8)
    raw = space_opspecs(NB201Space(C=4, N=1), x)
    net = SUPERNETS.get(strategy)(NB201Space(C=4, N=1))
    before = [type(m).__name__ for m in net.modules()]
    sup = space_opspecs(net, x)
    assert [type(m).__name__ for m in net.modules()] == before  # relaxed choices are put back
    for label in raw.candidates:
        for name in raw.candidates[label]:  # candidates are priced at full width (not PC-DARTS's C/K)
            assert _macs(sup.candidates[label][name]) == _macs(raw.candidates[label][name])
    assert _macs(sup.fixed) == _macs(raw.fixed)


def test_darts_edges_feed_input_choices():
    from hwnas.search_spaces import DartsSpace

    s = space_opspecs(DartsSpace(C=4, layers=3), torch.zeros(1, 3, 8, 8))
    e = s.input_edges["normal/n4_e2"]
    assert (e.input_choice, e.index, e.n_chosen, e.n_candidates) == ("normal/n4", 2, 2, 4)
    # layers=3: cells 1 and 2 are reductions, cell 0 normal; every edge label of normal cells sits once.
    assert sum(p.label == "normal/n2_e0" for p in s.places) == 1
    assert sum(p.label == "reduce/n2_e0" for p in s.places) == 2


def test_space_without_choices_is_an_error():
    with pytest.raises(UserError, match="no Choice"):
        candidate_opspecs(nn.Conv2d(3, 4, 1), torch.zeros(1, 3, 4, 4))
