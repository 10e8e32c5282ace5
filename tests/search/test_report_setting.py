"""``hwnas report``'s one rule: ``paper`` = the space's published evaluation network where it has one, else as
searched; ``search`` = exactly as searched. Checked for every built-in space and a user's."""

import pytest
import torch
from torch import nn

from hwnas.api import ARCHS, Choice, UserError, random_arch
from hwnas.search.report import evaluation_network, network_figures
from hwnas.search_spaces import DartsSpace, ProxylessSpace, nb201_str_to_arch
from hwnas.search_spaces.fbnet import FBNetSpace

ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"


class _Tiny(nn.Module):
    space_name = "tiny_report"

    def __init__(self, width: int = 4, in_channels: int = 1) -> None:
        super().__init__()
        self.space_kwargs = {"width": width, "in_channels": in_channels}
        self.default_input_size = (in_channels, 16, 16)
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1)
        self.op = Choice(["skip_connect", "nor_conv_3x3"], label="op", c_in=width, c_out=width)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.op(self.stem(x)))


def _searched(space: nn.Module, input_size: tuple[int, ...]):
    return random_arch(space, 0).with_metrics(input_size=list(input_size))


def test_darts_search_result_paper_is_cifar10_eval_network_search_is_as_searched():
    arch = _searched(DartsSpace(C=4, layers=3, in_channels=1), (1, 28, 28))
    _, size, line = evaluation_network(arch)
    assert size == (3, 32, 32) and line.startswith("paper setting:") and "C=36" in line and "layers=20" in line
    net, size, line = evaluation_network(arch, setting="search")
    assert size == (1, 28, 28) and line.startswith("search setting:") and "C=4" in line and "layers=3" in line
    assert net(torch.zeros(1, *size)).shape == (1, 10)


def test_darts_published_paper_figures_and_imagenet_stem():
    net, size, _ = evaluation_network(ARCHS.get("darts_v2"))
    assert network_figures(net, size)["params"] == 3_349_342  # DARTS-V2's 3.3M, auxiliary head excluded
    arch = ARCHS.get("darts_v2")
    imagenet = type(arch)(arch.space, arch.choices, {**arch.space_kwargs, "stem": "imagenet"})
    _, size, line = evaluation_network(imagenet)
    assert size == (3, 224, 224) and "C=48" in line and "layers=14" in line and "num_classes=1000" in line


def test_nb201_paper_is_the_benchmark_network_whatever_the_search_width_and_channels():
    arch = nb201_str_to_arch(ALL_CONV, C=4, N=1, in_channels=1).with_metrics(input_size=[1, 28, 28])
    net, size, line = evaluation_network(arch)
    assert size == (3, 32, 32) and "C=16" in line and "N=5" in line and "in_channels=3" in line
    assert network_figures(net, size)["flops"] == 220_119_680  # the benchmark's largest cell, 220.11M
    net, size, line = evaluation_network(arch, setting="search")
    assert size == (1, 28, 28) and "C=4" in line and "N=1" in line
    assert network_figures(net, size)["flops"] < 220_119_680 / 20


@pytest.mark.parametrize("space", [
    ProxylessSpace(variant="cifar", width_mult=0.25, num_classes=10),
    FBNetSpace(variant="cifar", width_mult=0.25, num_classes=10),
    _Tiny(width=4, in_channels=1),
], ids=["proxyless", "fbnet", "custom"])
def test_spaces_without_a_published_network_are_reported_as_searched(space):
    arch = _searched(space, (space.default_input_size[0], 24, 24))
    paper_net, paper_size, paper = evaluation_network(arch)
    search_net, search_size, search = evaluation_network(arch, setting="search")
    assert paper_size == search_size == (space.default_input_size[0], 24, 24)
    assert paper.startswith("search setting (the space defines no published evaluation network):")
    assert paper.split(":", 1)[1] == search.split(":", 1)[1]
    assert network_figures(paper_net, paper_size)["params"] == network_figures(search_net, search_size)["params"]


def test_unknown_setting_names_the_choices():
    with pytest.raises(UserError, match="unknown report setting 'paperr'; choose one of: paper, search"):
        evaluation_network(ARCHS.get("darts_v2"), setting="paperr")
