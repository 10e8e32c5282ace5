"""The README's custom space: a user's nn.Module with Choices, searched by every strategy."""

import pytest
import torch
from torch import nn

from hwnas import ArchSpec, Choice, freeze
from hwnas.api import SUPERNETS


# --- exactly as in the README (15 lines) ---
class TinySpace(nn.Module):
    space_name = "tiny"

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16))
        self.b1 = Choice(["sep_conv_3x3", "dil_conv_3x3", "skip_connect"], label="b1", c_in=16, c_out=16)
        self.b2 = Choice(["sep_conv_5x5", "max_pool_3x3", "nor_conv_1x1"], label="b2", c_in=16, c_out=32, stride=2)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.b2(self.b1(self.stem(x))))


# --- end of the README example ---


@pytest.mark.parametrize("strategy", SUPERNETS.names())
def test_custom_space_searches_with_every_strategy(strategy):
    torch.manual_seed(0)
    supernet = SUPERNETS.get(strategy)(TinySpace())
    x, y = torch.randn(4, 1, 12, 12), torch.tensor([0, 1, 2, 3])
    opt = torch.optim.Adam(supernet.arch_parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        nn.functional.cross_entropy(supernet(x), y).backward()
        assert all(a.grad is not None and a.grad.abs().sum() > 0 for a in supernet.arch_parameters())
        opt.step()
        getattr(supernet, "after_arch_step", lambda: None)()
    arch = supernet.export()
    assert arch.space == "tiny" and set(arch.choices) == {"b1", "b2"}
    net = freeze(TinySpace(), ArchSpec.from_json(arch.to_json()))
    assert not any(isinstance(m, Choice) for m in net.modules())
    assert net(x).shape == (4, 10)
