"""Every registered space x every registered strategy: forward, backward, α gradients, export, freeze."""

import pytest
import torch
from torch import nn

from hwnas.api import SPACES, SUPERNETS, ArchSpec, Choice, InputChoice, freeze

#: Tiny settings per registered space; a new space must add itself here to be tested.
TINY = {
    "darts": dict(C=4, layers=3, num_classes=5, in_channels=3),
    "nb201": dict(C=4, N=1, num_classes=5, in_channels=3),
    "proxyless": dict(variant="cifar", width_mult=0.25, num_classes=5, in_channels=3),
    "fbnet": dict(num_classes=5, in_channels=3, width_mult=0.25),
}
INPUT = {"darts": 16, "nb201": 16, "proxyless": 16, "fbnet": 32}


def test_every_space_has_tiny_settings():
    missing = set(SPACES.names()) - set(TINY)
    assert not missing, f"add tiny settings for {missing} to TINY"


def _space(name):
    return SPACES.get(name)(**TINY[name])


@pytest.mark.parametrize("strategy", SUPERNETS.names())
@pytest.mark.parametrize("space_name", SPACES.names())
def test_forward_backward_export_freeze(space_name, strategy):
    torch.manual_seed(0)
    supernet = SUPERNETS.get(strategy)(_space(space_name))
    x = torch.randn(2, 3, INPUT[space_name], INPUT[space_name])
    y = torch.tensor([0, 1])
    supernet.train()
    out = supernet(x)
    out = out[0] if isinstance(out, tuple) else out
    assert out.shape == (2, 5)
    nn.functional.cross_entropy(out, y).backward()

    arch_ids = {id(p) for p in supernet.arch_parameters()}
    weight_ids = {id(p) for p in supernet.weight_parameters()}
    assert arch_ids and not (arch_ids & weight_ids)
    assert arch_ids | weight_ids == {id(p) for p in supernet.parameters()}
    assert any(a.grad is not None and a.grad.abs().sum() > 0 for a in supernet.arch_parameters())
    sd_keys = supernet.state_dict().keys()
    names = {n for n, p in supernet.named_parameters() if id(p) in arch_ids}
    assert names <= set(sd_keys)

    probs = supernet.probabilities()
    for label, p in probs.items():
        assert torch.all(p >= 0) and float(p.sum().detach()) == pytest.approx(1.0, abs=1e-5), label

    arch = supernet.export()
    assert arch.space == space_name
    again = ArchSpec.from_json(arch.to_json())
    assert again == arch and again.archid == arch.archid
    net = freeze(_space(space_name), again)
    assert not any(isinstance(m, (Choice, InputChoice)) for m in net.modules())
    net.eval()
    out = net(x)
    out = out[0] if isinstance(out, tuple) else out
    assert out.shape == (2, 5)


@pytest.mark.parametrize("space_name", SPACES.names())
def test_random_arch_is_valid_seeded_and_varied(space_name):
    from hwnas.api import ZERO_OPS, collect_decisions, fed_labels, random_arch

    space = _space(space_name)
    archs = [random_arch(space, seed) for seed in range(8)]
    assert random_arch(space, 3) == archs[3]  # seeded
    assert len({a.archid for a in archs}) > 1
    fed = fed_labels(collect_decisions(space))
    for a in archs:
        assert a.space == space_name
        assert not any(a.choices.get(lb) in ZERO_OPS for lb in fed)  # a kept input never carries a zero op
        net = freeze(_space(space_name), a).eval()
        with torch.no_grad():
            assert net(torch.randn(1, 3, INPUT[space_name], INPUT[space_name])).shape == (1, 5)
