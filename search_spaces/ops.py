"""Candidate operations of the built-in spaces, registered in :data:`hwnas.api.OPS`.

Every factory has the signature ``f(c_in, c_out, stride, *, affine=True) -> nn.Module``.

* DARTS: ``none``, ``max_pool_3x3``, ``avg_pool_3x3``, ``skip_connect``, ``sep_conv_3x3``,
  ``sep_conv_5x5``, ``dil_conv_3x3``, ``dil_conv_5x5`` (ReLU-conv-BN; a separable conv is applied twice).
* NAS-Bench-201: ``nor_conv_1x1``, ``nor_conv_3x3`` (ReLU-conv-BN) plus the shared ``none``,
  ``skip_connect`` and ``avg_pool_3x3`` (at stride 1 and equal widths they are the benchmark's ops).
* MobileNetV2 / ProxylessNAS: ``ir_k{3,5,7}_e{1,3,6}`` (inverted-residual body without the residual,
  which the space adds) and ``zero``.

Example:
    >>> import torch
    >>> from hwnas.api import OPS
    >>> OPS.get("sep_conv_3x3")(8, 8, 2)(torch.zeros(1, 8, 16, 16)).shape
    torch.Size([1, 8, 8, 8])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hwnas.api import OPS
from hwnas.search_spaces._dilated import DepthwiseConv2d
from hwnas.search_spaces._narrow_bn import BatchNorm2d

DARTS_OPS = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
MB_KERNELS = (3, 5, 7)
MB_EXPANSIONS = (3, 6)
MB_OPS = tuple(f"ir_k{k}_e{e}" for k in MB_KERNELS for e in MB_EXPANSIONS)


class Zero(nn.Module):
    """Outputs zeros shaped like the op it replaces (``c_out`` channels, spatial size / stride)."""

    def __init__(self, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_out, self.stride = int(c_out), int(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        s = self.stride
        return x.new_zeros(n, self.c_out, (h + s - 1) // s, (w + s - 1) // s)

    def extra_repr(self) -> str:
        return f"c_out={self.c_out}, stride={self.stride}"


class ReLUConvBN(nn.Sequential):
    """ReLU -> conv (no bias) -> BN: the DARTS preprocessing and NB201's ``nor_conv`` ops."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, *, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            BatchNorm2d(c_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """ReLU -> dilated depthwise conv -> pointwise conv -> BN (DARTS ``dil_conv``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, dilation: int, *, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            DepthwiseConv2d(c_in, kernel, stride=stride, dilation=dilation),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            BatchNorm2d(c_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """Two stacked ReLU-depthwise-pointwise-BN units; only the first has the stride (DARTS ``sep_conv``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, *, affine: bool = True) -> None:
        super().__init__(
            DilConv(c_in, c_in, kernel, stride, 1, affine=affine),
            DilConv(c_in, c_out, kernel, 1, 1, affine=affine),
        )


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset stride-2 1x1 convs whose outputs are concatenated, then BN."""

    def __init__(self, c_in: int, c_out: int, *, stride: int = 2, affine: bool = True) -> None:
        super().__init__()
        if stride != 2:
            raise ValueError(f"FactorizedReduce reduces by 2, got stride {stride}")
        self.relu = nn.ReLU(inplace=False)
        # A single output channel (PC-DARTS at tiny widths) keeps only the shifted path.
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False) if c_out > 1 else None
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = x[:, :, 1:, 1:]
        h, w = x.shape[-2:]
        if h % 2 or w % 2:  # odd sizes: pad so both paths give ceil(size / 2)
            shifted = F.pad(shifted, (0, w % 2, 0, h % 2))
        if self.conv_1 is None:
            return self.bn(self.conv_2(shifted))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def pool_3x3(kind: str, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """3x3 ``max``/``avg`` pooling (padding 1, averages exclude the padding).

    Between different widths a 1x1 ReLU-conv-BN comes first (NAS-Bench-201's rule)."""
    pool = (nn.MaxPool2d(3, stride=stride, padding=1) if kind == "max"
            else nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False))
    if c_in == c_out:
        return pool
    return nn.Sequential(ReLUConvBN(c_in, c_out, 1, 1, 0, affine=affine), pool)


def _skip(c_in: int, c_out: int, stride: int, *, affine: bool = True) -> nn.Module:
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    if stride == 1:
        return ReLUConvBN(c_in, c_out, 1, 1, 0, affine=affine)
    return FactorizedReduce(c_in, c_out, stride=stride, affine=affine)


class InvertedResidualBody(nn.Sequential):
    """MobileNetV2 block body: 1x1 expand -> BN -> ReLU6 -> kxk depthwise (stride) -> BN -> ReLU6 -> 1x1 -> BN.

    With expansion 1 the expand conv is left out (MobileNetV2's first block). No residual here:
    the space adds it, so that a ``zero`` candidate makes the block an identity.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, *, kernel: int, expansion: int, affine: bool = True) -> None:
        mid = int(round(c_in * expansion))
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [nn.Conv2d(c_in, mid, 1, bias=False), BatchNorm2d(mid, affine=affine), nn.ReLU6(inplace=True)]
        layers += [
            nn.Conv2d(mid, mid, kernel, stride=stride, padding=kernel // 2, groups=mid, bias=False),
            BatchNorm2d(mid, affine=affine),
            nn.ReLU6(inplace=True),
            nn.Conv2d(mid, c_out, 1, bias=False),
            BatchNorm2d(c_out, affine=affine),
        ]
        super().__init__(*layers)
        self.kernel, self.expansion, self.stride = kernel, expansion, stride


def _register() -> None:
    reg = OPS.register
    reg("none", lambda c_in, c_out, stride, *, affine=True: Zero(c_out, stride))
    reg("zero", lambda c_in, c_out, stride, *, affine=True: Zero(c_out, stride))
    reg("max_pool_3x3", lambda c_in, c_out, stride, *, affine=True: pool_3x3("max", c_in, c_out, stride, affine))
    reg("avg_pool_3x3", lambda c_in, c_out, stride, *, affine=True: pool_3x3("avg", c_in, c_out, stride, affine))
    reg("skip_connect", _skip)
    for k in (3, 5):
        reg(f"sep_conv_{k}x{k}", lambda c_in, c_out, stride, *, affine=True, k=k: SepConv(
            c_in, c_out, k, stride, affine=affine))
        reg(f"dil_conv_{k}x{k}", lambda c_in, c_out, stride, *, affine=True, k=k: DilConv(
            c_in, c_out, k, stride, 2, affine=affine))
    for k in (1, 3):
        reg(f"nor_conv_{k}x{k}", lambda c_in, c_out, stride, *, affine=True, k=k: ReLUConvBN(
            c_in, c_out, k, stride, k // 2, affine=affine))
    for k in MB_KERNELS:
        for e in (1, *MB_EXPANSIONS):
            reg(f"ir_k{k}_e{e}", lambda c_in, c_out, stride, *, affine=True, k=k, e=e: InvertedResidualBody(
                c_in, c_out, stride, kernel=k, expansion=e, affine=affine))


_register()
