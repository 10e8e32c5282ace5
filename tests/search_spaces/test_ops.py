"""Every registered op builds, keeps the promised shapes and matches its paper's definition."""

import pytest
import torch
from torch import nn

from hwnas.api import OPS, Choice, RegistryError, count_params
from hwnas.search_spaces.ops import DARTS_OPS, MB_OPS, NB201_OPS, FactorizedReduce, Zero

OURS = sorted({*DARTS_OPS, *NB201_OPS, *MB_OPS, "zero", "ir_k3_e1", "ir_k5_e1", "ir_k7_e1"})


@pytest.mark.parametrize("name", OURS)
@pytest.mark.parametrize(("c_in", "c_out", "stride"), [(4, 4, 1), (4, 4, 2), (4, 8, 1), (8, 4, 2)])
def test_op_shapes(name, c_in, c_out, stride):
    op = OPS.get(name)(c_in, c_out, stride, affine=False)
    y = op(torch.randn(2, c_in, 7, 8))
    assert y.shape == (2, c_out, -(-7 // stride), -(-8 // stride))


def test_zero_ops_output_zeros():
    for name in ("none", "zero"):
        y = OPS.get(name)(4, 6, 2)(torch.randn(1, 4, 5, 5))
        assert isinstance(OPS.get(name)(4, 6, 2), Zero) and y.shape == (1, 6, 3, 3) and not y.any()


def test_skip_connect_is_identity_or_factorized_reduce():
    assert isinstance(OPS.get("skip_connect")(4, 4, 1), nn.Identity)
    assert isinstance(OPS.get("skip_connect")(4, 4, 2), FactorizedReduce)


def test_avg_pool_excludes_padding():
    y = OPS.get("avg_pool_3x3")(1, 1, 1)(torch.ones(1, 1, 4, 4))
    assert torch.allclose(y, torch.ones_like(y))  # count_include_pad=True would give 4/9 at corners


def test_pooling_between_widths_gets_a_1x1_preprocess():
    op = OPS.get("max_pool_3x3")(4, 8, 1)
    assert count_params(op) == 4 * 8 + 2 * 8  # 1x1 conv + BN affine


def test_darts_param_counts_at_c16():
    # DARTS definitions: sep conv = 2 x (dw kxk + pw 1x1 + BN), dil conv = dw kxk + pw 1x1 + BN.
    c = 16
    assert count_params(OPS.get("sep_conv_3x3")(c, c, 1)) == 2 * (c * 9 + c * c + 2 * c)
    assert count_params(OPS.get("sep_conv_5x5")(c, c, 1)) == 2 * (c * 25 + c * c + 2 * c)
    assert count_params(OPS.get("dil_conv_3x3")(c, c, 1)) == c * 9 + c * c + 2 * c
    assert count_params(OPS.get("dil_conv_5x5")(c, c, 1, affine=False)) == c * 25 + c * c
    assert count_params(OPS.get("nor_conv_3x3")(c, c, 1)) == c * c * 9 + 2 * c
    assert count_params(OPS.get("skip_connect")(c, c, 2)) == c * c // 2 * 2 + 2 * c


def test_dil_conv_receptive_field():
    conv = OPS.get("dil_conv_3x3")(1, 1, 1)[1]
    assert conv.dilation == (2, 2) and conv.padding == (2, 2)


def test_inverted_residual_body_layout():
    body = OPS.get("ir_k5_e6")(8, 16, 2)
    convs = [m for m in body if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.groups) for m in convs] == [
        (8, 48, (1, 1), (1, 1), 1), (48, 48, (5, 5), (2, 2), 48), (48, 16, (1, 1), (1, 1), 1)]
    assert sum(isinstance(m, nn.ReLU6) for m in body) == 2
    e1 = OPS.get("ir_k3_e1")(32, 16, 1)
    assert [m.kernel_size for m in e1 if isinstance(m, nn.Conv2d)] == [(3, 3), (1, 1)]


def test_factorized_reduce_odd_sizes_and_odd_widths():
    y = FactorizedReduce(3, 5)(torch.randn(1, 3, 7, 9))
    assert y.shape == (1, 5, 4, 5)
    assert FactorizedReduce(1, 1)(torch.randn(2, 1, 6, 6)).shape == (2, 1, 3, 3)  # PC-DARTS at C/K = 1


def test_unknown_op_is_a_clear_error():
    with pytest.raises(RegistryError, match="sep_conv_3x3"):
        OPS.get("sep_conv_3x")
    with pytest.raises(RegistryError, match="unknown op 'conv_9x9'"):
        Choice(["conv_9x9"], label="x", c_in=4, c_out=4)
