"""Masks on decisions, for every strategy: restrict/fix renormalise, perturb does not, masked candidates never run,
masks are checkpointed state, and every cost target prices the masked distribution."""

from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F

from hwnas.api import COST_MODELS, SUPERNETS
from hwnas.search_spaces import DartsSpace, NB201Space
from hwnas.supernets import SupernetError
from tests.supernets._toy_spaces import TOY_SPACES

STRATEGIES = SUPERNETS.names()
VARIANTS = [(s, {}) for s in STRATEGIES] + [("proxyless", {"mode": "full"}), ("proxyless", {"mode": "lean"})]
VARIANT_IDS = [s + ("-" + kw["mode"] if kw else "") for s, kw in VARIANTS]
X, Y = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 1, 2, 0])


def _build(strategy, space="cell", **kw):
    torch.manual_seed(0)
    net = SUPERNETS.get(strategy)(TOY_SPACES[space](), **kw)
    with torch.no_grad():  # distinct, non-uniform α so renormalisation is visible
        for p in net.arch_parameters():
            p.copy_(torch.linspace(-1.0, 1.5, p.numel()))
    return net


def _masked_softmax(logits, allowed):
    e = torch.exp(logits.detach()) * torch.tensor(allowed, dtype=torch.float32)
    return e / e.sum()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_restrict_renormalises_over_the_allowed_candidates(strategy):
    net = _build(strategy)
    label = "normal_n0_e0"  # candidates none, pool, skip, conv
    net.restrict(label, ["pool", "conv"])
    p = net.probabilities()[label]
    assert torch.allclose(p, _masked_softmax(net.alpha_of(label), [False, True, False, True]), atol=1e-6)
    assert p[0] == 0 and p[2] == 0
    assert net.allowed(label) == ("pool", "conv") and not net.is_decided(label)
    net.fix(label, "conv")
    assert net.probabilities()[label].tolist() == [0.0, 0.0, 0.0, 1.0] and net.is_decided(label)
    # α and its optimizer keep their shapes: a mask never removes a candidate
    assert net.alpha_of(label).shape == (4,)
    net.unmask(label)
    assert torch.allclose(net.probabilities()[label], torch.softmax(net.alpha_of(label).detach(), -1))


def test_pc_darts_beta_restrict_renormalises_and_perturb_does_not():
    net = _build("pc_darts")
    label = "normal_n1"  # three inputs, keeps two
    net.restrict(label, [0, 2])
    w = net.input_weights()[label]
    assert torch.allclose(w, _masked_softmax(net.beta_of(label), [True, False, True]), atol=1e-6)
    net.unmask(label)
    full = torch.softmax(net.beta_of(label).detach(), -1)
    with net.perturb(label, 1):
        mix = net._decide(label)
        assert torch.allclose(mix.weights.detach(), full * torch.tensor([1.0, 0.0, 1.0]))
        assert mix.active == (0, 2)
    assert net._decide(label).active == (0, 1, 2)


@pytest.mark.parametrize("strategy", ["darts", "pc_darts"])
def test_perturb_drops_one_weight_without_renormalising(strategy):
    net = _build(strategy)
    label = "normal_n0_e1"
    p = net.probabilities()[label].detach()
    with net.perturb(label, "skip"):
        w = net.mixing_weights(label).detach()
        assert w[2] == 0 and torch.allclose(w.sum(), 1 - p[2])
        assert torch.equal(w[[0, 1, 3]], p[[0, 1, 3]])
        assert torch.equal(net.probabilities()[label].detach(), p)  # the distribution itself is unperturbed
        with net.perturb(label, "pool"):  # blocks nest
            assert net.active(label) == (0, 3)
        assert net.active(label) == (0, 1, 3)
    assert net.active(label) == (0, 1, 2, 3)


def _count_calls(net, label):
    counts = {}
    for m in net.space.modules():
        if getattr(m, "label", None) == label and hasattr(m, "ops"):
            for i, op in enumerate(m.ops):
                op.register_forward_hook(lambda mod, inp, out, i=i: counts.__setitem__(i, counts.get(i, 0) + 1))
    return counts


@pytest.mark.parametrize("strategy,kw", VARIANTS, ids=VARIANT_IDS)
def test_a_fixed_edge_runs_only_its_op(strategy, kw):
    net = _build(strategy, "layer", **kw)
    net.fix("down", "k5")
    counts = _count_calls(net, "down")
    net.train()
    for phase in ("weight", "arch"):
        net.set_phase(phase)
        F.cross_entropy(net(X), Y).backward()
    net.eval()
    with torch.no_grad():
        net(X)
    assert set(counts) == {1}, counts


@pytest.mark.parametrize("strategy,kw", VARIANTS, ids=VARIANT_IDS)
def test_masked_and_perturbed_candidates_never_run(strategy, kw):
    net = _build(strategy, "layer", **kw)
    net.restrict("shared", ["k3", "zero"])
    counts = _count_calls(net, "shared")
    net.train()
    for _ in range(6):
        for phase in ("weight", "arch"):
            net.set_phase(phase)
            with net.perturb("shared", "zero"):
                F.cross_entropy(net(X), Y).backward()
            F.cross_entropy(net(X), Y).backward()
    assert 1 not in counts and counts.get(0, 0) > 0  # k5 (index 1) is masked
    net.after_arch_step()


@pytest.mark.parametrize("mode", ["two", "full", "lean"])
def test_proxyless_arch_step_with_one_allowed_candidate(mode):
    net = _build("proxyless", "layer", mode=mode)
    for label in net.labels:
        net.fix(label, net.graph.choices[label][0])
    net.train()
    net.set_phase("arch")
    F.cross_entropy(net(X), Y).backward()  # no two paths to sample: runs the one left, without gates
    net.after_arch_step()
    assert all(net.alpha_of(lb).grad is None for lb in net.labels)


@pytest.mark.parametrize("strategy", ["gdas", "proxyless"])
def test_sampling_strategies_draw_only_allowed_candidates(strategy):
    net = _build(strategy, "layer")
    net.restrict("down", ["k5"])
    net.restrict("shared", ["k5", "zero"])
    net.train()
    seen = set()
    for _ in range(30):
        with net._decisions.scope():
            for phase in ("weight", "arch"):
                net.set_phase(phase)
                d = net._decide("shared")
                seen.add(d[0] if isinstance(d, tuple) else d.active)
    assert seen == {1, 2}
    net.eval()
    with net.perturb("shared", "k5"):
        d = net._decide("shared")
        assert (d[0] if isinstance(d, tuple) else d.active) == 2


def test_dropping_every_input_of_an_edge_stops_running_it():
    net = _build("darts")
    # normal_n0_e0 feeds input 0 of normal_n0 (two inputs, keeps two): perturbing that input away leaves
    # the edge nothing to feed
    counts = _count_calls(net, "normal_n0_e0")
    with net.perturb("normal_n0", 0):
        assert net.active("normal_n0_e0") == ()
        out = net(X)
    assert counts == {} and out.shape == (4, 3)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_masks_are_state_and_survive_a_checkpoint(strategy):
    net = _build(strategy)
    net.restrict("normal_n0_e1", ["pool", "conv"])
    net.fix("reduce_n1", [0, 2])
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    buf.seek(0)
    fresh = _build(strategy)
    assert fresh.allowed("normal_n0_e1") == ("none", "pool", "skip", "conv")
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    assert fresh.allowed("normal_n0_e1") == ("pool", "conv") and fresh.allowed("reduce_n1") == (0, 2)
    assert torch.equal(fresh.probabilities()["normal_n0_e1"], net.probabilities()["normal_n0_e1"])
    # the host copy follows the loaded buffer: the masked op is not run
    assert fresh.active("normal_n0_e1") == (1, 3)


def test_a_checkpoint_without_masks_loads_with_everything_allowed():
    net = _build("darts")
    old = {k: v for k, v in net.state_dict().items() if not k.startswith("masks.")}
    fresh = _build("darts")
    fresh.restrict("normal_n0_e1", ["conv"])
    fresh.load_state_dict(old)
    assert fresh.allowed("normal_n0_e1") == ("none", "pool", "skip", "conv")


@pytest.mark.parametrize("call, message", [
    (lambda n: n.restrict("nope", ["conv"]), "no decision labelled 'nope'"),
    (lambda n: n.restrict("normal_n0_e0", ["warp"]), "no candidate 'warp'"),
    (lambda n: n.restrict("normal_n0_e0", []), "at least one candidate"),
    (lambda n: n.restrict("normal_n0_e0", ["none"]), "cannot be restricted to zero ops only"),
    (lambda n: n.restrict("normal_n1", [1]), "keeps 2 inputs"),
    (lambda n: n.restrict("normal_n1", [5]), "inputs 0..2"),
    (lambda n: n.fix("normal_n1", "0"), "list of input indices"),
])
def test_bad_masks_name_the_problem(call, message):
    with pytest.raises(SupernetError, match=message):
        call(_build("darts"))


def test_perturbing_a_masked_candidate_is_refused():
    net = _build("darts")
    net.restrict("normal_n0_e0", ["conv", "skip"])
    with pytest.raises(SupernetError, match="already exclude"), net.perturb("normal_n0_e0", "pool"):
        pass


class _View:
    """A supernet stand-in with a given distribution: what a cost model must price under masks."""

    def __init__(self, space, probs, inputs):
        self.space, self._p, self._i = space, probs, inputs

    def probabilities(self):
        return self._p

    def input_weights(self):
        return self._i


def _masked(net):
    probs, inputs = {}, {}
    for label in net.labels:
        allowed = [n in net.allowed(label) for n in net.graph.choices[label]]
        probs[label] = _masked_softmax(net.alpha_of(label), allowed)
    for label, d in net.graph.inputs.items():
        inputs[label] = torch.tensor([float(i in net.allowed(label)) for i in range(d.n_candidates)])
    return probs, inputs


def _cost_case(kind, tmp_path, monkeypatch):
    if kind in ("tpe", "lut", "measured"):
        space, x = DartsSpace(C=4, layers=3), torch.zeros(1, 3, 8, 8)
    elif kind == "predictor":
        space, x = NB201Space(C=4, N=1), torch.zeros(1, 3, 8, 8)
    elif kind == "nb201":
        space, x = NB201Space(C=16, N=1), torch.zeros(1, 3, 32, 32)
    else:
        from hwnas.search_spaces.fbnet import FBNetSpace

        space, x = FBNetSpace(width_mult=0.25), torch.zeros(1, 3, 32, 32)
    net = SUPERNETS.get("darts")(space)
    target = {"tpe": "tpe:systolic-16x16-ws-int8", "nb201": "nb201:pixel3", "fbnet": "fbnet:raspi4",
              "measured": "measured:cpu"}.get(kind)
    if kind == "lut":
        from hwnas.cli import main

        path = tmp_path / "lut.json"
        assert main(["profile", "--space", "darts", "--space-kwargs", "{C: 4, layers: 3}", "--input-size", "3x8x8",
                     "--tpe", "systolic-16x16-ws-int8", "--out", str(path)]) == 0
        target = f"lut:{path}"
    if kind == "predictor":  # a predictor fitted to a sweep of this space (additive, so it is exact)
        from hwnas.latency_models.predictor.sweep import fit_sweep, sample_archs

        archs = sample_archs(space, 30, seed=0)
        cost = {"none": 0.0, "skip_connect": 0.1, "avg_pool_3x3": 0.3, "nor_conv_1x1": 1.0, "nor_conv_3x3": 3.0}
        values = [1.0 + sum(cost[o] * (1 + 0.1 * k) for k, o in enumerate(a.choices.values())) for a in archs]
        path = fit_sweep(space, archs, values, trunk="additive").predictor.save(tmp_path / "p.pt")
        target = f"predictor:{path}"
    if kind == "measured":
        monkeypatch.setenv("HWNAS_LUT_CACHE", str(tmp_path / "cache"))
        m = COST_MODELS.get("measured")
        monkeypatch.setattr(m, "warmup", 0)
        monkeypatch.setattr(m, "repeats", 1)
    fn = COST_MODELS.get(kind)(target, metric="latency_ms", supernet=net, example_input=x)
    return net, fn


@pytest.mark.parametrize("kind", ["tpe", "lut", "measured", "nb201", "fbnet", "predictor"])
def test_every_target_kind_prices_the_masked_distribution(kind, tmp_path, monkeypatch):
    net, fn = _cost_case(kind, tmp_path, monkeypatch)
    with torch.no_grad():
        for p in net.arch_parameters():
            p.copy_(torch.randn(p.numel(), generator=torch.Generator().manual_seed(p.numel())))
    before = float(fn(net)[0].detach())
    labels = list(net.labels)
    for label in labels[::2]:
        names = net.graph.selectable(label)
        net.restrict(label, names[-2:] if len(names) > 1 else names)
    net.fix(labels[1], net.graph.selectable(labels[1])[0])
    for label, d in list(net.graph.inputs.items())[-1:]:
        net.fix(label, list(range(d.n_chosen)))
    masked = float(fn(net)[0].detach())
    probs, inputs = _masked(net)
    assert masked == pytest.approx(float(fn(_View(net.space, probs, inputs))[0].detach()), rel=1e-5)
    assert masked != pytest.approx(before, rel=1e-4)
