"""The layers that run faster on the CPU compute what the plain layers compute: values, gradients, running stats."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hwnas.search_spaces._dilated import DepthwiseConv2d
from hwnas.search_spaces._narrow_bn import BatchNorm2d

CL = torch.channels_last


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().abs().max() / b.detach().abs().max())


@pytest.mark.parametrize("nhwc", [False, True])
@pytest.mark.parametrize("stride,kernel,size,path", [
    (1, 3, (8, 10), "all"), (1, 5, (12, 12), "all"), (1, 3, (9, 9), None), (1, 5, (8, 8), None),
    (2, 3, (8, 8), "even"), (2, 5, (9, 7), "even"), (1, 3, (8, 8), "all"),
])
def test_dilated_depthwise_matches_the_dilated_convolution(nhwc, stride, kernel, size, path):
    torch.manual_seed(0)
    conv = DepthwiseConv2d(6, kernel, stride=stride, dilation=2)
    x = torch.randn(3, 6, *size)
    if nhwc:
        conv, x = conv.to(memory_format=CL), x.contiguous(memory_format=CL)
    x.requires_grad_(True)
    assert conv._parity_path(x) == path
    y = conv(x)
    ref = F.conv2d(x, conv.weight, stride=stride, padding=kernel - 1, dilation=2, groups=6)
    assert y.shape == ref.shape and y.is_contiguous(memory_format=CL if nhwc else torch.contiguous_format)
    g = torch.randn_like(ref)
    got, want = torch.autograd.grad(y, [x, conv.weight], g), torch.autograd.grad(ref, [x, conv.weight], g)
    assert _rel(y, ref) < 1e-5 and _rel(got[0], want[0]) < 1e-5 and _rel(got[1], want[1]) < 1e-5


def test_dilated_depthwise_is_a_plain_conv2d_in_the_state_dict_and_under_tracing():
    conv = DepthwiseConv2d(4, 3, stride=1, dilation=2)
    plain = nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=4, bias=False)
    plain.load_state_dict(conv.state_dict())  # same keys and shapes
    x = torch.randn(1, 4, 8, 8)
    traced = torch.jit.trace(conv, x)
    assert "aten::_convolution" in str(traced.graph) and "aten::permute" not in str(traced.graph)
    assert torch.allclose(traced(x), plain(x), atol=1e-6)
    assert DepthwiseConv2d(4, 3, dilation=1)._parity_path(x) is None  # undilated: nothing to do


@pytest.mark.parametrize("channels", [4, 8, 16])
def test_narrow_batchnorm_gives_the_plain_batchnorm_results_in_nhwc(channels):
    torch.manual_seed(0)
    fast, plain = BatchNorm2d(channels), nn.BatchNorm2d(channels)
    x = torch.randn(5, channels, 6, 6).contiguous(memory_format=CL).requires_grad_(True)
    y, ref = fast(x), plain(x)
    assert y.is_contiguous(memory_format=CL)
    assert torch.allclose(y, ref, atol=1e-5)
    assert torch.allclose(fast.running_mean, plain.running_mean) and torch.allclose(fast.running_var, plain.running_var)
    g = torch.randn_like(y)
    assert torch.allclose(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(ref, x, g)[0], atol=1e-5)
    fast.eval(), plain.eval()
    assert torch.allclose(fast(x), plain(x), atol=1e-5)
