"""ProxylessNAS / MobileNetV2 space: layout, zero blocks, timm export (same parameters and outputs)."""

import random

import pytest
import torch
from torch import nn

from hwnas.api import ARCHS, ArchSpec, collect_decisions, count_macs, count_params
from hwnas.export import build_timm_model
from hwnas.search_spaces import ProxylessSpace, to_timm_arch_def
from hwnas.search_spaces.ops import MB_OPS

from ._helpers import random_arch


def test_imagenet_layout():
    space = ProxylessSpace()
    decisions = collect_decisions(space)
    assert len(decisions) == 21 and space.block_labels == tuple(f"b{i:02d}" for i in range(1, 22))
    firsts = {"b01", "b05", "b09", "b13", "b17", "b21"}  # first block of each stage: no zero
    for label, cands in decisions.items():
        assert set(cands) == (set(MB_OPS) if label in firsts else {*MB_OPS, "zero"}), label
    widths = [b.op.c_out for b in space.blocks]
    strides = [b.op.stride for b in space.blocks]
    assert widths == [24] * 4 + [40] * 4 + [80] * 4 + [96] * 4 + [192] * 4 + [320]
    assert [i for i, s in enumerate(strides) if s == 2] == [0, 4, 8, 16]
    assert [b.residual for b in space.blocks] == [lbl not in firsts for lbl in space.block_labels]
    assert space.stem[0].stride == (2, 2) and space.classifier.in_features == 1280
    assert space.default_input_size == (3, 224, 224) and space.space_kwargs["num_classes"] == 1000


def test_cifar_variant_downsamples_8x():
    space = ProxylessSpace(variant="cifar", width_mult=0.25)
    assert space.default_input_size == (3, 32, 32) and space.space_kwargs["num_classes"] == 10
    net = space.freeze(random_arch(space, 0)).eval()
    feats = net.blocks(net.first_block(net.stem(torch.zeros(1, 3, 32, 32))))
    assert feats.shape[-2:] == (4, 4)


def test_published_proxyless_mobile():
    # ProxylessNAS-Mobile has 4,080,512 parameters (osmr/imgclsmob pytorchcv proxylessnas_mobile).
    arch = ARCHS.get("proxyless_mobile")
    net = ProxylessSpace(**arch.space_kwargs).freeze(arch)
    assert count_params(net) == 4_080_512
    assert count_params(build_timm_model(arch)) == 4_080_512


def test_zero_blocks_become_identity():
    space = ProxylessSpace(variant="cifar", width_mult=0.25)
    choices = {lbl: "ir_k3_e3" for lbl in space.block_labels}
    choices["b02"] = "zero"
    net = space.freeze(ArchSpec("proxyless", choices))
    assert isinstance(net.blocks[1], nn.Identity)
    assert sum(isinstance(b, nn.Identity) for b in net.blocks) == 1


def test_timm_arch_def_strings():
    space = ProxylessSpace()
    choices = {lbl: "ir_k3_e6" for lbl in space.block_labels}
    choices.update(b02="zero", b05="ir_k7_e3", b21="ir_k5_e3")
    arch_def = to_timm_arch_def(ArchSpec("proxyless", choices, space.space_kwargs))
    assert arch_def[0] == ["ds_r1_k3_s1_c16"]
    assert arch_def[1] == ["ir_r1_k3_s2_e6_c24", "ir_r1_k3_s1_e6_c24", "ir_r1_k3_s1_e6_c24"]
    assert arch_def[2][0] == "ir_r1_k7_s2_e3_c40" and arch_def[4][0] == "ir_r1_k3_s1_e6_c96"
    assert arch_def[-1] == ["ir_r1_k5_s1_e3_c320"] and len(arch_def) == 7


@pytest.mark.parametrize("seed", range(3))
def test_timm_model_matches_frozen_imagenet_params(seed):
    space = ProxylessSpace()
    arch = random_arch(space, seed)
    assert count_params(build_timm_model(arch)) == count_params(space.freeze(arch))


@pytest.mark.parametrize("seed", range(2))
def test_timm_model_computes_the_same_function(seed):
    torch.manual_seed(seed)
    space = ProxylessSpace(variant="cifar", width_mult=0.25, num_classes=5)
    rng = random.Random(seed)
    arch = ArchSpec("proxyless", {lbl: rng.choice(c) for lbl, c in collect_decisions(space).items()},
                    space.space_kwargs)
    ours, theirs = space.freeze(arch).eval(), build_timm_model(arch).eval()
    ours_state = list(ours.state_dict().values())
    theirs_keys = list(theirs.state_dict())
    assert [t.shape for t in ours_state] == [theirs.state_dict()[k].shape for k in theirs_keys]
    for t in ours_state:
        if t.dtype.is_floating_point:
            t.copy_(torch.randn_like(t).abs() + 0.1)  # non-trivial BN statistics too
    theirs.load_state_dict(dict(zip(theirs_keys, ours_state)))
    x = torch.randn(2, 3, 16, 16)
    assert torch.allclose(ours(x), theirs(x), atol=1e-4, rtol=1e-4)
    assert count_macs(ours, x) == count_macs(theirs, x)


def test_width_mult_rounds_to_multiples_of_eight():
    space = ProxylessSpace(width_mult=0.35)
    assert all(b.op.c_out % 8 == 0 for b in space.blocks)
    assert space.stem[0].out_channels == 16 and space.classifier.in_features == 1280
    assert ProxylessSpace(width_mult=1.4).classifier.in_features == 1792
