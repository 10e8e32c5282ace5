"""A depthwise convolution whose dilation-2 case runs on the CPU as an undilated one (space-to-batch).

oneDNN's CPU kernels for dilated depthwise convolutions are slow, above all their weight gradient: on a
2-core AVX2 CPU a 5x5 dilation-2 depthwise conv of a 64x16x32x32 batch took 31 ms forward+backward in NHWC,
an undilated one of the same size 7. A dilation-2 convolution reads only pixels of one row and column parity
for each output pixel, so it is exactly an undilated convolution of each parity sub-image (TensorFlow's
``atrous_conv2d`` does the same); at stride 2 it only ever reads the even sub-image. The parity sub-images
are stacked along the batch (one copy in, one copy out, in the input's memory format).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _nhwc(x: torch.Tensor) -> bool:
    """NHWC and not also NCHW (a 1-channel batch is both: it stays NCHW, so no layout appears by accident)."""
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def _to_parity_batch(x: torch.Tensor) -> torch.Tensor:
    """``[N, C, H, W]`` -> ``[4N, C, H/2, W/2]``: image ``4n + 2a + b`` holds rows ``2i + a``, columns ``2j + b``."""
    n, c, h, w = x.shape
    if _nhwc(x):
        v = x.permute(0, 2, 3, 1).reshape(n, h // 2, 2, w // 2, 2, c).permute(0, 2, 4, 1, 3, 5)
        return v.reshape(n * 4, h // 2, w // 2, c).permute(0, 3, 1, 2)
    return x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 3, 5, 1, 2, 4).reshape(n * 4, c, h // 2, w // 2)


def _from_parity_batch(y: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`_to_parity_batch`, in ``y``'s memory format."""
    n4, c, h, w = y.shape
    n = n4 // 4
    if _nhwc(y):
        v = y.permute(0, 2, 3, 1).reshape(n, 2, 2, h, w, c).permute(0, 3, 1, 4, 2, 5)
        return v.reshape(n, 2 * h, 2 * w, c).permute(0, 3, 1, 2)
    return y.reshape(n, 2, 2, c, h, w).permute(0, 3, 4, 1, 5, 2).reshape(n, c, 2 * h, 2 * w)


class DepthwiseConv2d(nn.Conv2d):
    """``nn.Conv2d(c, c, kernel, stride, padding=dilation * (kernel - 1) // 2, dilation, groups=c, bias=False)``.

    The same module, parameters and ``state_dict`` as that ``nn.Conv2d``; only how it runs differs: on the CPU a
    dilation-2 kernel runs as an undilated convolution of the parity sub-images (at stride 2, of the even one),
    where the sub-images are at least as large as the kernel. Elsewhere (CUDA, export, tracing, odd sizes at
    stride 1) it is the plain convolution. Values agree to float rounding, gradients too.

    Example:
        >>> conv = DepthwiseConv2d(4, 3, stride=1, dilation=2)
        >>> x = torch.randn(2, 4, 8, 8)
        >>> ref = F.conv2d(x, conv.weight, padding=2, dilation=2, groups=4)
        >>> bool(torch.allclose(conv(x), ref, atol=1e-5))
        True
    """

    def __init__(self, channels: int, kernel: int, *, stride: int = 1, dilation: int = 1) -> None:
        super().__init__(channels, channels, kernel, stride=stride, padding=dilation * (kernel - 1) // 2,
                         dilation=dilation, groups=channels, bias=False)
        #: Run dilation 2 on the parity sub-images where it applies (False: always the plain convolution).
        self.parity = True

    def _parity_path(self, x: torch.Tensor) -> str | None:
        """``even`` (stride 2), ``all`` (stride 1) or None where the plain convolution runs."""
        k, (s, _), (d, _) = self.kernel_size[0], self.stride, self.dilation
        if not self.parity or d != 2 or k % 2 == 0 or self.stride[0] != self.stride[1]:
            return None
        if x.device.type != "cpu" or x.dim() != 4:
            return None
        if torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling():
            return None  # exported graphs keep the one dilated convolution
        h, w = x.shape[-2:]
        if s == 2:
            return "even"
        if s == 1 and h % 2 == 0 and w % 2 == 0 and min(h, w) // 2 >= k:
            return "all"
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        path = self._parity_path(x)
        if path is None:
            return super().forward(x)
        pad = (self.kernel_size[0] - 1) // 2
        if path == "even":
            return F.conv2d(x[:, :, ::2, ::2], self.weight, padding=pad, groups=self.groups)
        return _from_parity_batch(F.conv2d(_to_parity_batch(x), self.weight, padding=pad, groups=self.groups))
