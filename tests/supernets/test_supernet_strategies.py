"""Every registered strategy on every toy space: forward/backward, parameters, sharing, export and freeze."""

from __future__ import annotations

import copy
import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hwnas.api import SUPERNETS, ArchSpec, Choice, InputChoice, SupernetLike, freeze_module
from hwnas.supernets import RelaxedChoice, SupernetError
from tests.supernets._toy_spaces import TOY_SPACES, ToyCellSpace, ToyLayerSpace

STRATEGIES = SUPERNETS.names()
# ProxylessNAS behaves differently per mode; every mode must work on every space.
VARIANTS = [(s, {}) for s in STRATEGIES] + [("proxyless", {"mode": "full"}), ("proxyless", {"mode": "lean"})]
VARIANT_IDS = [s + ("-" + kw["mode"] if kw else "") for s, kw in VARIANTS]


def _build(strategy: str, space_name: str, **kw):
    torch.manual_seed(0)
    return SUPERNETS.get(strategy)(TOY_SPACES[space_name](), **kw)


def test_registry_has_the_strategies():
    assert {"darts", "pc_darts", "proxyless", "gdas"} <= set(STRATEGIES)


@pytest.mark.parametrize("space_name", sorted(TOY_SPACES))
@pytest.mark.parametrize("strategy,kw", VARIANTS, ids=VARIANT_IDS)
def test_forward_backward_and_parameters(strategy, kw, space_name):
    net = _build(strategy, space_name, **kw)
    assert isinstance(net, SupernetLike)
    net.set_phase("arch")
    x, y = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 0])
    # Sampling strategies may draw a path whose gradient is 0 (e.g. all edges into a node "none"):
    # accumulate a few arch backwards, each with fresh samples.
    for _ in range(1 if strategy in ("darts", "pc_darts") else 4):
        out = net(x)
        assert out.shape == (4, 3)
        F.cross_entropy(out, y).backward()
    arch = net.arch_parameters()
    weights = net.weight_parameters()
    assert arch and weights
    assert not {id(p) for p in arch} & {id(p) for p in weights}
    # every parameter is either an architecture or a weight parameter
    assert len(arch) + len(weights) == len(list(net.parameters()))
    # α of every Choice gets a non-zero gradient in the arch phase
    for label in net.labels:
        g = net.alpha_of(label).grad
        assert g is not None and g.abs().sum() > 0, label
    # a weight step: weights get gradients
    net.zero_grad()
    net.set_phase("weight")
    F.cross_entropy(net(x), y).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)
    net.after_arch_step()
    # no hwnas decision class left unrelaxed
    assert all(isinstance(c, RelaxedChoice) for c in net.space.modules() if isinstance(c, Choice))


@pytest.mark.parametrize("space_name", sorted(TOY_SPACES))
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_state_dict_holds_arch_parameters_and_round_trips(strategy, space_name):
    net = _build(strategy, space_name)
    sd = net.state_dict()
    alpha_keys = [k for k in sd if k.startswith("alpha.")]
    assert len(alpha_keys) == len(net.labels)
    if strategy == "pc_darts":
        assert any(k.startswith("beta.") for k in sd) == (space_name == "cell")
    with torch.no_grad():
        for p in net.arch_parameters():
            p.add_(1.0)
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    buf.seek(0)
    fresh = _build(strategy, space_name)
    fresh.load_state_dict(torch.load(buf, weights_only=True))
    for a, b in zip(net.arch_parameters(), fresh.arch_parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_shared_labels_share_one_parameter(strategy):
    net = _build(strategy, "layer")
    assert net.labels == ("down", "shared", "odd")
    assert len(net.alpha) == 3
    cell = _build(strategy, "cell")
    # two normal cells share every normal label: 5 normal + 5 reduce edges
    assert sum(isinstance(m, Choice) for m in cell.space.modules()) == 15
    assert len(cell.alpha) == 10
    shared = [m for m in net.space.modules() if isinstance(m, Choice) and m.label == "shared"]
    assert len(shared) == 2
    probs = net.probabilities()
    assert set(probs) == {"down", "shared", "odd"}
    assert torch.allclose(probs["shared"].sum(), torch.tensor(1.0))


@pytest.mark.parametrize("space_name", sorted(TOY_SPACES))
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_export_freezes_to_a_plain_network(strategy, space_name):
    net = _build(strategy, space_name)
    with torch.no_grad():  # make a clear winner so the expected choice is known
        for label in net.labels:
            a = net.alpha_of(label)
            a.zero_()
            a[-1] = 5.0
    arch = net.export()
    assert isinstance(arch, ArchSpec)
    assert arch.space == f"toy_{space_name}"
    assert ArchSpec.from_json(arch.to_json()) == arch
    if space_name == "layer":
        assert arch.choices == {"down": "k5", "shared": "zero", "odd": "zero"}
    else:
        assert all(v == "conv" for k, v in arch.choices.items() if "_e" in k)
        assert all(len(v) == 2 for k, v in arch.choices.items() if "_e" not in k)
    for frozen in (freeze_module(net.space, arch), freeze_module(TOY_SPACES[space_name](), arch)):
        assert not any(isinstance(m, (Choice, InputChoice)) for m in frozen.modules())
        assert frozen(torch.randn(2, 3, 8, 8)).shape == (2, 3)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_eval_mode_is_deterministic_and_probabilities_are_differentiable(strategy):
    net = _build(strategy, "layer").eval()
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(net(x), net(x))
    p = net.probabilities()["down"]
    assert p.requires_grad and p.shape == (2,)
    state = net.arch_state()
    assert set(state["probabilities"]) == set(net.labels)


def test_errors_are_clear():
    with pytest.raises(SupernetError, match="no Choice"):
        SUPERNETS.get("darts")(nn.Linear(2, 2))
    space = ToyLayerSpace()
    SUPERNETS.get("darts")(space)
    with pytest.raises(SupernetError, match="already wrapped"):
        SUPERNETS.get("darts")(space)
    bad = nn.Sequential(
        Choice({"a": nn.Conv2d, "b": nn.Conv2d}, label="x", c_in=1, c_out=1),
        Choice({"a": nn.Conv2d, "c": nn.Conv2d}, label="x", c_in=1, c_out=1),
    )
    with pytest.raises(SupernetError, match="same candidates"):
        SUPERNETS.get("pc_darts")(bad)
    with pytest.raises(ValueError, match="phase"):
        SUPERNETS.get("darts")(ToyCellSpace()).set_phase("train")
    with pytest.raises(ValueError, match="mode"):
        SUPERNETS.get("proxyless")(ToyCellSpace(), mode="three")


def test_darts_mixture_is_the_softmax_weighted_sum():
    torch.manual_seed(0)
    a = nn.Conv2d(2, 2, 3, 1, 1)
    b = nn.Conv2d(2, 2, 1)
    cands = {"a": lambda ci, co, s: a, "b": lambda ci, co, s: b, "none": lambda ci, co, s: nn.Identity()}
    net = SUPERNETS.get("darts")(nn.Sequential(Choice(cands, label="op", c_in=2, c_out=2)))
    with torch.no_grad():
        net.alpha_of("op").copy_(torch.tensor([0.5, -1.0, 2.0]))
    x = torch.randn(1, 2, 4, 4)
    w = torch.softmax(torch.tensor([0.5, -1.0, 2.0]), 0)
    # "none" is a zero op by name: contributes w * 0 (its module is not run)
    assert torch.allclose(net(x), w[0] * a(x) + w[1] * b(x), atol=1e-6)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_deepcopy_gives_an_independent_supernet(strategy):
    net = _build(strategy, "layer").eval()
    twin = copy.deepcopy(net)
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(net(x), twin(x))
    with torch.no_grad():
        twin.alpha_of("down").copy_(torch.tensor([5.0, -5.0]))
        net.alpha_of("down").copy_(torch.tensor([-5.0, 5.0]))
    assert twin.export().choices["down"] == "k3" and net.export().choices["down"] == "k5"
    # the copy's relaxed ops read the copy's α, so the two now compute different functions
    assert twin.space.down._decisions._decide.__self__ is twin
    assert not torch.allclose(net(x), twin(x))
