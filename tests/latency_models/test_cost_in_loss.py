"""Table-backed cost terms in the search loss: gradients reach α (and β), the expectation, a short search."""

from __future__ import annotations

import pytest
import torch

from hwnas.api import COST_MODELS, SUPERNETS, InputChoice, collect_decisions
from hwnas.losses import CostTerm, SearchLoss
from hwnas.search_spaces import DartsSpace, NB201Space

TPE = "tpe:systolic-16x16-ws-int8"
X = torch.zeros(1, 3, 8, 8)


def _cost_fn(sn, metric="latency_ms", target=TPE):
    return COST_MODELS.get(target.split(":")[0])(target, metric=metric, supernet=sn, example_input=X)


@pytest.mark.parametrize("strategy", ["darts", "pc_darts", "proxyless", "gdas"])
@pytest.mark.parametrize("space", ["nb201", "darts"])
def test_gradient_reaches_alpha(strategy, space):
    sp = NB201Space(C=4, N=1) if space == "nb201" else DartsSpace(C=4, layers=3)
    sn = SUPERNETS.get(strategy)(sp)
    fn = _cost_fn(sn)
    cost, details = fn(sn)
    assert cost.dim() == 0 and cost.item() > 0 and details["latency_ms"] == pytest.approx(cost.item())
    cost.backward()
    for label in sn.labels:
        g = sn.alpha_of(label).grad
        assert g is not None and torch.isfinite(g).all()
        assert g.abs().sum() > 0, label
    if strategy == "pc_darts" and space == "darts":  # edge normalisation β enters through the keep weight
        assert all(b.grad is not None and b.grad.abs().sum() > 0 for b in sn.beta.values())


def _set_alpha(sn, pick):
    with torch.no_grad():
        for label in sn.labels:
            names = list(collect_decisions(sn.space)[label])
            a = sn.alpha_of(label)
            a.fill_(-40.0)
            a[names.index(pick(names))] = 40.0


def test_expectation_at_one_hot_and_order():
    sn = SUPERNETS.get("darts")(NB201Space(C=4, N=1))
    fn = _cost_fn(sn, metric="cycles")
    lut = fn.lut
    _set_alpha(sn, lambda names: "nor_conv_3x3")
    heavy = float(fn(sn)[0].detach())
    assert heavy == pytest.approx(lut.cost({lb: "nor_conv_3x3" for lb in sn.labels})["cycles"], rel=1e-6)
    _set_alpha(sn, lambda names: "none")
    light = float(fn(sn)[0].detach())
    assert light == pytest.approx(lut.fixed["cycles"], rel=1e-6) and light < heavy
    with torch.no_grad():  # uniform α: the mean over candidates
        for label in sn.labels:
            sn.alpha_of(label).zero_()
    mean = lut.fixed["cycles"] + sum(sum(v["cycles"] for v in c.values()) / len(c) for c in lut.entries.values())
    assert float(fn(sn)[0].detach()) == pytest.approx(mean, rel=1e-6)


def test_darts_edges_weighted_by_kept_inputs():
    sn = SUPERNETS.get("darts")(DartsSpace(C=4, layers=3))
    fn = _cost_fn(sn, metric="cycles")
    lut = fn.lut
    _set_alpha(sn, lambda names: "sep_conv_3x3")
    got = float(fn(sn)[0].detach())
    # Every node keeps n_chosen=2 of its i inputs; DARTS weighs them equally, so an edge counts 2/i,
    # and the zero op is never chosen on an edge, so only non-zero probabilities count.
    ics = {k: v for k, v in collect_decisions(sn.space).items() if isinstance(v, InputChoice)}
    want = lut.fixed["cycles"]
    for label, cands in lut.entries.items():
        e = lut.input_edges[label]
        want += e.n_chosen / ics[e.input_choice].n_candidates * cands["sep_conv_3x3"]["cycles"]
    assert got == pytest.approx(want, rel=1e-6)
    _set_alpha(sn, lambda names: "none")  # all mass on the zero op: the renormalised rest is uniform
    uniform = float(fn(sn)[0].detach())
    assert uniform > lut.fixed["cycles"]


@pytest.mark.parametrize("strategy", ["darts", "proxyless"])
def test_loss_steps_lower_expected_latency(strategy):
    torch.manual_seed(0)
    sn = SUPERNETS.get(strategy)(NB201Space(C=4, N=1))
    fn = _cost_fn(sn)
    start = float(fn(sn)[0].detach())
    loss = SearchLoss([CostTerm(cost_fn=fn, target=start / 4, form="mul", beta=0.6, name="latency_ms")])
    opt = torch.optim.Adam(sn.arch_parameters(), lr=0.1)
    logits, y = torch.zeros(4, 10, requires_grad=False), torch.tensor([0, 1, 2, 3])
    seen = [start]
    for _ in range(5):
        opt.zero_grad()
        total, details = loss(logits, y, sn)
        total.backward()
        opt.step()
        sn.after_arch_step()
        seen.append(float(fn(sn)[0].detach()))
        assert details["cost/latency_ms"] == pytest.approx(seen[-2])
    assert all(b < a for a, b in zip(seen, seen[1:])), seen


def _expected_latency_after_search(tmp_path, with_cost):
    from hwnas.search import load_search_config, run_search

    over = ["space.name=darts", "space.kwargs={C: 4, layers: 3}", "selection.name=magnitude", "selection.kwargs={}",
            "data.subset=64", "data.batch_size=8", "train.epochs=1",
            "train.max_steps_per_epoch=4", "train.eval_batches=1", "train.progress=false",
            "train.log_images_every=100", "train.arch_lr=0.05", f"out_dir={tmp_path}",
            f"name={'cost' if with_cost else 'plain'}"]
    if with_cost:
        over.append(f"cost=[{{target: '{TPE}', metric: latency_ms, value: 0.001, form: mul, beta: 0.6}}]")
    res = run_search(load_search_config("quickstart", over), verbose=False)
    sn = res.supernet
    fn = COST_MODELS.get("tpe")(TPE, metric="latency_ms", supernet=sn, example_input=torch.zeros(1, 1, 28, 28))
    return float(fn(sn)[0].detach()), fn.lut.cost(res.arch)["latency_ms"], res


def test_short_search_lowers_expected_latency(tmp_path):
    plain, plain_derived, _ = _expected_latency_after_search(tmp_path, False)
    costed, costed_derived, res = _expected_latency_after_search(tmp_path, True)
    assert costed < plain, (costed, plain)
    assert costed_derived < plain_derived, (costed_derived, plain_derived)
    assert res.history[-1]["arch/cost/latency_ms"] > 0


def test_latency_and_energy_together():
    from hwnas.search.builders import build_cost_terms
    from hwnas.search.config import CostConfig

    sn = SUPERNETS.get("pc_darts")(DartsSpace(C=4, layers=3))
    costs = (CostConfig(target=TPE, metric="latency_ms", value=0.01, form="mul", beta=0.6),
             CostConfig(target=TPE, metric="energy_mj", value=0.01, form="add", weight=0.5))
    loss = SearchLoss(build_cost_terms(costs, supernet=sn, example_input=X))
    total, details = loss(torch.zeros(2, 10), torch.tensor([0, 1]), sn)
    assert details["cost/latency_ms"] > 0 and details["cost/energy_mj"] > 0
    total.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in sn.arch_parameters())
