"""The FBNet space (HW-NAS-Bench layout): op-string round trip, layout, freeze and forward at tiny size."""

from __future__ import annotations

import csv
import gzip
import random

import pytest
import torch
from torch import nn

from hwnas.api import SPACES, ArchSpecError, Choice, ConfigError, count_params
from hwnas.search_spaces.fbnet import (
    FBNET_LABELS,
    FBNET_OPS,
    FBNetSpace,
    arch_to_fbnet_str,
    fbnet_ops_to_arch,
    fbnet_str_to_arch,
)


def _random_ops(seed):
    rng = random.Random(seed)
    return [rng.choice(FBNET_OPS) for _ in range(22)]


def test_registered_with_22_layers_of_9_candidates():
    assert SPACES.get("fbnet") is FBNetSpace
    space = FBNetSpace(width_mult=0.25)
    choices = [m for m in space.modules() if isinstance(m, Choice)]
    assert [c.label for c in choices] == list(FBNET_LABELS) == [f"l{i}" for i in range(22)]
    assert all(c.candidate_names == FBNET_OPS for c in choices)
    assert FBNET_OPS == ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
    # HW-NAS-Bench's CIFAR layout: stride-2 layers at the first layer of stages 3, 4 and 6.
    assert [i for i, c in enumerate(choices) if c.stride == 2] == [5, 9, 17]
    assert [c.c_out for c in FBNetSpace().modules() if isinstance(c, Choice)][::4] == [16, 24, 32, 64, 112, 184]


@pytest.mark.parametrize("seed", range(3))
def test_string_round_trip(seed):
    ops = _random_ops(seed)
    s = "-".join(ops)
    arch = fbnet_str_to_arch(s)
    assert arch.space == "fbnet" and arch.choices["l0"] == ops[0] and arch.choices["l21"] == ops[21]
    assert arch_to_fbnet_str(arch) == s
    assert fbnet_ops_to_arch([FBNET_OPS.index(o) for o in ops]) == arch


def test_shared_data_strings_round_trip(shared_data):
    with gzip.open(shared_data / "fbnet_hw.csv.gz", "rt") as f:
        strings = [r["ops"] for _, r in zip(range(200), csv.DictReader(f))]
    assert all(arch_to_fbnet_str(fbnet_str_to_arch(s)) == s for s in strings)


def test_bad_strings():
    with pytest.raises(ArchSpecError, match="has 2 ops; expected 22"):
        fbnet_str_to_arch("k3_e1-skip")
    with pytest.raises(ArchSpecError, match="unknown FBNet op 'k7_e6' at layer 3"):
        fbnet_str_to_arch("-".join(["skip"] * 3 + ["k7_e6"] + ["skip"] * 18))
    with pytest.raises(ArchSpecError, match="out of range"):
        fbnet_ops_to_arch([9] * 22)
    with pytest.raises(ConfigError, match="variant must be one of"):
        FBNetSpace(variant="tiny")


@pytest.mark.parametrize("seed", range(2))
def test_freeze_forward_tiny(seed):
    torch.manual_seed(seed)
    space = FBNetSpace(width_mult=0.25, num_classes=5)
    net = space.freeze(fbnet_ops_to_arch(_random_ops(seed)))
    assert not any(isinstance(m, Choice) for m in net.modules())
    out = net.eval()(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 5)
    net.train()(torch.randn(2, 3, 16, 16)).sum().backward()


def test_blocks_follow_hw_nas_bench():
    space = FBNetSpace(width_mult=0.25)
    all_skip = space.freeze(fbnet_str_to_arch("-".join(["skip"] * 22)))
    all_e6 = space.freeze(fbnet_str_to_arch("-".join(["k5_e6"] * 22)))
    assert count_params(all_e6) > count_params(all_skip)
    # k3_e1_g2: grouped 1x1 convs (groups=2) around a depthwise 3x3, residual kept at equal shape
    block = space.freeze(fbnet_str_to_arch("-".join(["k3_e1_g2"] * 22))).layers[2]
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    assert [c.groups for c in convs] == [2, convs[1].in_channels, 2] and convs[1].kernel_size == (3, 3)
    assert block.residual
    with pytest.raises(ArchSpecError, match="space 'fbnet'"):
        space.freeze(fbnet_str_to_arch("-".join(["skip"] * 22)).__class__("nb201", {"l0": "skip"}))


def test_docstring_examples():
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module("hwnas.search_spaces.fbnet"))
    assert result.attempted > 0 and result.failed == 0
