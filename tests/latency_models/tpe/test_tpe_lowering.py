"""Conv / linear lowering to GEMMs and output-size arithmetic."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hwnas.api import OpSpec, UserError, collect_opspecs
from hwnas.latency_models.tpe import Gemm, conv_gemm, conv_out_size, lower_opspec


@pytest.mark.parametrize("size,k,s,p,d", [(8, 3, 2, 0, 1), (9, 3, 2, 1, 1), (7, 1, 1, 0, 1), (32, 5, 3, 2, 2),
                                          (224, 7, 2, 3, 1), (13, 3, 1, 0, 1)])
def test_torch_output_size(size: int, k: int, s: int, p: int, d: int) -> None:
    conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
    assert conv_out_size(size, k, s, p, d) == conv(torch.zeros(1, 1, size, size)).shape[-1]


def test_scalesim_output_size_differs_only_on_ragged_stride() -> None:
    assert conv_out_size(8, 3, 2, scalesim=True) == 4 and conv_out_size(8, 3, 2) == 3
    assert conv_out_size(9, 3, 2, scalesim=True) == conv_out_size(9, 3, 2) == 4


def test_grouped_and_depthwise_lowering_preserve_macs() -> None:
    net = nn.Sequential(nn.Conv2d(4, 16, 3, padding=1), nn.Conv2d(16, 16, 3, padding=1, groups=16),
                        nn.Conv2d(16, 32, 1, groups=4), nn.Flatten(), nn.Linear(32 * 8 * 8, 10))
    specs = [s for s in collect_opspecs(net, torch.zeros(2, 4, 8, 8)) if s.kind in ("conv", "linear")]
    gemms = [lower_opspec(s) for s in specs]
    for s, g in zip(specs, gemms):
        assert g is not None
        assert g.macs == s.macs * s.batch * (s.extra.get("rows", 1) if s.kind == "linear" else 1)
    dw = gemms[1]
    assert (dw.m, dw.n, dw.k, dw.repeat) == (2 * 64, 1, 9, 16)
    grouped = gemms[2]
    assert (grouped.n, grouped.k, grouped.repeat) == (8, 4, 4)
    assert lower_opspec(OpSpec("pool", 4, 4)) is None


def test_unique_ifmap_counts_touched_pixels() -> None:
    # stride 3 > kernel 2: the pixels between windows are never read
    g = conv_gemm(h=11, w=11, kh=2, kw=2, c_in=3, c_out=5, stride=(3, 3), scalesim=True)
    assert g.m == 16 and g.unique_ifmap == 8 * 8 * 3
    # SCALE-Sim's ceil-mode output puts the last window wholly outside: rows 20..21 of a 20-row input
    g = conv_gemm(h=20, w=10, kh=2, kw=2, c_in=1, c_out=4, stride=(4, 4), scalesim=True)
    assert g.m == 6 * 3 and g.unique_ifmap == 10 * 6


def test_bad_conv_raises_user_error() -> None:
    with pytest.raises(UserError, match="does not fit"):
        conv_gemm(h=2, w=2, kh=5, kw=5, c_in=1, c_out=1)
    with pytest.raises(UserError, match="divisible"):
        conv_gemm(h=8, w=8, kh=3, kw=3, c_in=6, c_out=4, groups=4)
    assert Gemm(2, 3, 4, repeat=5).macs == 120
