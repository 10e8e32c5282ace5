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
        assert torch.all(p >= 0) and float(p.sum()) == pytest.approx(1.0, abs=1e-5), label

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
