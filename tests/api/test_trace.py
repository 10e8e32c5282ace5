import torch
from torch import nn

from hwnas.api import collect_opspecs, count_macs, count_params


def test_opspecs_shapes_and_macs():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),
    )
    specs = collect_opspecs(net, torch.zeros(2, 3, 16, 16))
    kinds = [s.kind for s in specs]
    assert kinds == ["conv", "norm", "act", "conv", "pool", "pool", "linear"]
    c1, dw = specs[0], specs[3]
    assert (c1.h_in, c1.h_out, c1.stride, c1.batch) == (16, 8, (2, 2), 2)
    assert c1.macs == 8 * 8 * 8 * 3 * 9
    assert dw.is_depthwise and dw.macs == 8 * 8 * 8 * 9
    assert count_macs(net, torch.zeros(1, 3, 16, 16)) == 8 * 8 * 8 * 27 + 8 * 8 * 8 * 9 + 80
    assert net.training  # mode restored


def test_eltwise_adds_are_seen():
    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 1)

        def forward(self, x):
            return x + self.conv(x)

    specs = collect_opspecs(Res(), torch.zeros(1, 4, 5, 5))
    assert [s.kind for s in specs] == ["conv", "eltwise"]
    assert specs[1].h_out == 5 and specs[1].c_out == 4


def test_count_params_excludes_prefix():
    net = nn.Module()
    net.body = nn.Linear(4, 4)
    net.auxiliary = nn.Linear(4, 2)
    assert count_params(net) == 20 + 10
    assert count_params(net, exclude=("auxiliary",)) == 20
