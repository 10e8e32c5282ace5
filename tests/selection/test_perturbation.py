"""Perturbation selection (DARTS-PT): known-answer cases built by construction, its schedule, its measurements."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from hwnas.api import ConfigError, InputChoice
from hwnas.api.choice import Choice
from hwnas.data.sampler import make_loader
from hwnas.losses import SearchLoss
from hwnas.search import BilevelTrainer, TrainConfig
from hwnas.search_spaces import DARTS_OPS_NO_NONE, DartsSpace, NB201Space
from hwnas.selection import MagnitudeSelector, PerturbationSelector, SelectionContext, measure
from hwnas.supernets import DartsSupernet


class _Scale(nn.Module):
    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.k * x


def _scale(k):
    return lambda ci, co, s, **kw: _Scale(k)


class SignNet(nn.Module):
    """Logits ``[s, -s]`` of a scalar feature ``s``: class 0 is predicted where ``s > 0``.

    ``op`` mixes a candidate that outputs nothing useful (``useless``: 0) with one the output depends on
    (``needed``: the identity); ``n`` sums a subset of four scaled copies of the input.
    """

    space_name = "sign"

    def __init__(self, scales=(1.0, -0.6, -0.6, 0.5)) -> None:
        super().__init__()
        self.op = Choice({"useless": _scale(0.0), "needed": _scale(1.0)}, label="op", c_in=1, c_out=1)
        self.scales = scales
        self.n = InputChoice(n_candidates=len(scales), n_chosen=2, label="n")
        self.w = nn.Parameter(torch.ones(1))  # a weight for the tuning optimizer; its lr is ~0 below

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.n([self.op(x) * c for c in self.scales]) * self.w
        return torch.cat([s, -s], 1)


def _data(n=64):
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(n, 1, generator=g) + 0.5) * torch.where(torch.rand(n, 1, generator=g) < 0.5, -1.0, 1.0)
    y = (x[:, 0] < 0).long()
    return TensorDataset(x, y)


def _context(net, **train):
    ds = _data()
    cfg = TrainConfig(epochs=1, w_lr=1e-12, w_lr_min=0.0, fix_alpha=True, progress=False, **train)
    loss = SearchLoss()
    return SelectionContext(
        loss=loss, train_loader=make_loader(ds, batch_size=16, shuffle=True), probe_loader=make_loader(
            ds, batch_size=32, shuffle=True, stream=3), valid_loader=make_loader(ds, batch_size=16, shuffle=True,
                                                                                 stream=1),
        train_config=cfg, make_trainer=lambda tc: BilevelTrainer(net, loss=loss, train=tc, device=torch.device("cpu")),
    )


def _net(scales=(1.0, -0.6, -0.6, 0.5), op_logits=(3.0, -3.0)):
    net = DartsSupernet(SignNet(scales))
    with torch.no_grad():
        net.alpha_of("op").copy_(torch.tensor(op_logits))
    return net


def test_pt_keeps_the_candidate_the_supernet_depends_on_and_magnitude_does_not():
    net = _net(scales=(1.0, 1.0, 1.0, 1.0))
    assert MagnitudeSelector().select(net).choices["op"] == "useless"  # the largest α
    sel = PerturbationSelector(proj_interval=1, edge_order="fixed")
    arch = sel.select(net, _context(net))
    assert arch.choices["op"] == "needed"
    op = next(e for e in sel.log if e["label"] == "op")
    # removing `useless` changes nothing; removing `needed` leaves s = 0: chance (class 0 predicted on ties)
    assert op["without"]["useless"] == pytest.approx(1.0) and op["without"]["needed"] == pytest.approx(0.5, abs=0.1)
    assert net.is_decided("op") and net.is_decided("n")
    assert arch.metrics["selection"] == "perturbation"


def test_loss_criterion_keeps_the_candidate_whose_removal_raises_loss_most():
    net = _net(scales=(1.0, 1.0, 1.0, 1.0))
    assert PerturbationSelector(criterion="loss", proj_interval=1).select(net, _context(net)).choices["op"] == "needed"


@pytest.mark.parametrize("topology, kept", [("faithful", (0, 3)), ("sequential", (0, 1))])
def test_topology_faithful_ranks_once_sequential_reranks_after_each_drop(topology, kept, monkeypatch):
    # s = sum of kept scaled copies of x; correct iff s > 0. With every input: 0.3x.
    # Removing one: A -> -0.7x (acc 0), B or C -> 0.9x (1), D -> -0.2x (0).
    # faithful (the code): drop C (ties go to the later), then B: keep A, D (1.5x).
    # sequential: drop C and mask it; then A+B+D = 0.9x and removing B (1.5x) or D (0.4x) both keep acc 1: drop D.
    net = _net(op_logits=(-3.0, 3.0))
    net.fix("op", "needed")
    calls = []
    import hwnas.selection.perturbation as pt

    real = pt.measure
    monkeypatch.setattr(pt, "measure", lambda *a, **k: calls.append(1) or real(*a, **k))
    sel = PerturbationSelector(proj_interval=1, topology=topology)
    arch = sel.select(net, _context(net))
    assert arch.choices["n"] == kept
    entry = sel.log[-1]
    assert entry["dropped"] == ([2, 1] if topology == "faithful" else [2, 3])
    # one base measurement, then faithful measures each input once; sequential re-ranks the rest (4 + 3)
    assert len(calls) == (1 + 4 if topology == "faithful" else 1 + 4 + 3)


def test_measurements_repeat_exactly_and_leave_bn_statistics_alone():
    torch.manual_seed(0)
    net = DartsSupernet(NB201Space(C=4, N=1, num_classes=2, in_channels=1))
    ds = TensorDataset(torch.randn(32, 1, 8, 8), torch.randint(0, 2, (32,)))
    loader = make_loader(ds, batch_size=8, shuffle=True, stream=3)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    a = measure(net, loader, key=5, max_batches=2)
    b = measure(net, loader, key=5, max_batches=2)
    assert a == b and a.n == 16
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_schedule_of_the_papers():
    # NB201: 6 edges, decisions at tuning epochs 0, 5, 10, 15, 20 and 24 of 25 (the code's T = 5 * 5).
    nb = DartsSupernet(NB201Space(C=4, N=1))
    plan = PerturbationSelector(tune_epochs=25).plan(nb, seed=0)
    assert plan["decision_epochs"] == [0, 5, 10, 15, 20, 24] and plan["rounds"] == 6
    assert sorted(plan["ops"][""]) == sorted(nb.labels) and plan["topology"] == {"": []}
    # DARTS (7 ops): 14 op rounds (a normal and a reduce edge each), then 3 topology rounds; T = 81.
    darts = DartsSupernet(DartsSpace(C=4, layers=3, candidates=list(DARTS_OPS_NO_NONE)))
    plan = PerturbationSelector().plan(darts, seed=0)
    assert plan["op_rounds"] == 14 and plan["rounds"] == 17 and plan["tune_epochs"] == 81
    assert plan["decision_epochs"] == list(range(0, 81, 5))
    assert set(plan["ops"]) == {"normal", "reduce"} and len(plan["topology"]["normal"]) == 3  # nodes 3-5
    # the random order is the run's: same seed, same order; another seed, another
    again = PerturbationSelector().plan(darts, seed=0)
    assert again["ops"] == plan["ops"] and PerturbationSelector().plan(darts, seed=1)["ops"] != plan["ops"]
    fixed = PerturbationSelector(edge_order="fixed").plan(darts, seed=0)
    assert fixed["ops"]["normal"][:3] == ["normal/n2_e0", "normal/n2_e1", "normal/n3_e0"]


def test_already_decided_labels_are_not_projected_and_zero_ops_of_kept_edges_are_no_candidates():
    darts = DartsSupernet(DartsSpace(C=4, layers=3))
    darts.fix("normal/n2_e0", "sep_conv_3x3")
    plan = PerturbationSelector().plan(darts, seed=0)
    assert "normal/n2_e0" not in plan["ops"]["normal"]
    assert "none" not in PerturbationSelector()._op_candidates(darts, darts.graph, "normal/n2_e1")


@pytest.mark.parametrize("kwargs, message", [
    ({"criterion": "f1"}, "criterion"),
    ({"topology": "greedy"}, "topology"),
    ({"edge_order": "sorted"}, "edge_order"),
    ({"proj_interval": 0}, "proj_interval"),
    ({"eval_batches": 0}, "eval_batches"),
])
def test_bad_settings_name_the_key(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PerturbationSelector(**kwargs)


def test_too_few_tuning_epochs_and_unknown_labels_are_refused():
    nb = DartsSupernet(NB201Space(C=4, N=1))
    with pytest.raises(ConfigError, match="raise tune_epochs"):
        PerturbationSelector(proj_interval=5, tune_epochs=6).plan(nb, seed=0)
    with pytest.raises(ConfigError, match="unknown label"):
        PerturbationSelector(edge_order=["9<-9"]).plan(nb, seed=0)


def test_selection_without_its_context_says_what_is_missing():
    with pytest.raises(ValueError, match="needs probe_loader"):
        PerturbationSelector().select(_net())
