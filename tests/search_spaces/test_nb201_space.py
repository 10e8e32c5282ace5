"""NAS-Bench-201: arch-string round trip, parameters vs the benchmark's table, MACs over the published range."""

import random

import pytest
import torch

from hwnas.api import ArchSpec, ArchSpecError, count_macs, count_params
from hwnas.search_spaces import NB201Space, arch_to_nb201_str, nb201_str_to_arch
from hwnas.search_spaces.ops import NB201_OPS

from ._helpers import nb201_table

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
# The benchmark's best CIFAR-10 cell.
BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"

# (arch string, conv+linear MACs at 32x32, parameters): the space's extremes 7.78M and 220.11M MACs.
KNOWN = [
    (ALL_NONE, 7_783_040, 73_306),
    (ALL_CONV3, 220_119_680, 1_531_546),
    (BEST_C10, 184_730_240, 1_288_506),
]


@pytest.fixture(scope="module")
def space():
    return NB201Space()


@pytest.mark.parametrize(("arch_str", "macs", "params"), KNOWN)
def test_known_macs_and_params(space, arch_str, macs, params):
    net = space.freeze(nb201_str_to_arch(arch_str)).eval()
    assert count_params(net) == params
    assert count_macs(net, torch.zeros(1, 3, 32, 32)) == macs


def test_mac_range_is_the_benchmarks(space):
    lo = count_macs(space.freeze(nb201_str_to_arch(ALL_NONE)).eval(), torch.zeros(1, 3, 32, 32))
    hi = count_macs(space.freeze(nb201_str_to_arch(ALL_CONV3)).eval(), torch.zeros(1, 3, 32, 32))
    assert round(lo / 1e6, 2) == 7.78 and int(hi / 1e4) / 100 == 220.11


def test_params_match_the_benchmark_table(space):
    rows = [r for r in nb201_table() if r["params_m"]]
    assert len(rows) == 491
    five_digits = [r for r in rows if len(r["params_m"].split(".")[1]) == 5]  # the table's rounding varies
    for r in random.Random(0).sample(rows, 36) + five_digits[:4]:
        net = space.freeze(nb201_str_to_arch(r["arch_str"]))
        digits = len(r["params_m"].split(".")[1])
        assert round(count_params(net) / 1e6, digits) == float(r["params_m"]), r["arch_str"]


@pytest.mark.parametrize("seed", range(3))
def test_macs_add_up_per_edge(space, seed):
    # Each edge op is in all 15 cells: a 3x3 conv edge adds 3 x 5 x 9 x 16^2 x 32^2 MACs, a 1x1 one a ninth.
    rng = random.Random(seed)
    ops = [rng.choice(NB201_OPS) for _ in range(6)]
    s = "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)
    expected = 7_783_040 + ops.count("nor_conv_3x3") * 35_389_440 + ops.count("nor_conv_1x1") * 3_932_160
    assert count_macs(space.freeze(nb201_str_to_arch(s)).eval(), torch.zeros(1, 3, 32, 32)) == expected


def test_string_round_trip_over_the_table():
    rows = nb201_table()
    assert len(rows) == 15625
    seen = set()
    for r in rows:
        arch = nb201_str_to_arch(r["arch_str"])
        assert arch_to_nb201_str(arch) == r["arch_str"]
        seen.add(arch.archid)
    assert len(seen) == 15625 == len(NB201_OPS) ** 6


def test_arch_labels_and_json_round_trip():
    arch = nb201_str_to_arch(BEST_C10)
    assert arch.space == "nb201" and arch.space_kwargs == {"C": 16, "N": 5, "num_classes": 10, "in_channels": 3}
    assert arch.choices == {"1<-0": "nor_conv_3x3", "2<-0": "nor_conv_3x3", "2<-1": "nor_conv_3x3",
                            "3<-0": "skip_connect", "3<-1": "nor_conv_3x3", "3<-2": "nor_conv_3x3"}
    assert arch_to_nb201_str(ArchSpec.from_json(arch.to_json())) == BEST_C10


def test_frozen_network_is_the_benchmarks(space):
    net = space.freeze(nb201_str_to_arch(BEST_C10))
    assert len(net.cells) == 17 and type(net.cells[5]).__name__ == "ResNetBasicBlock"
    assert net.classifier.in_features == 64
    assert type(net.cells[0].edges["3_0"]).__name__ == "Identity"


@pytest.mark.parametrize(("bad", "match"), [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "3 nodes"),
    ("nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "start and end with"),
    ("|nor_conv_3x3~0|+|none~0|+|none~0|none~1|none~2|", "needs 2 edge"),
    ("|nor_conv_3x3~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must read 'op~0'"),
    ("|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_9x9'"),
    ("|nor_conv_3x3|+|none~0|none~1|+|none~0|none~1|none~2|", "must read"),
    ("", "3 nodes"),
])
def test_malformed_strings(bad, match):
    with pytest.raises(ArchSpecError, match=match):
        nb201_str_to_arch(bad)


def test_to_string_errors():
    with pytest.raises(ArchSpecError, match="space 'nb201'"):
        arch_to_nb201_str(ArchSpec("darts", {"a": "none"}))
    with pytest.raises(ArchSpecError, match="is not an NB201 op"):
        arch_to_nb201_str(ArchSpec("nb201", {"1<-0": "none"}))
    with pytest.raises(ArchSpecError, match="not NB201 edges"):
        arch_to_nb201_str(ArchSpec("nb201", {**nb201_str_to_arch(ALL_NONE).choices, "4<-0": "none"}))
