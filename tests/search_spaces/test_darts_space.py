"""DARTS space: search cells, genotypes, published evaluation networks and their parameter counts."""

import pytest
import torch
from torch import nn

from hwnas.api import (
    ARCHS,
    ArchSpec,
    ArchSpecError,
    Choice,
    InputChoice,
    check_arch,
    collect_decisions,
    count_macs,
    count_params,
    freeze_module,
)
from hwnas.search_spaces import (
    DARTS_V2,
    GENOTYPES,
    DartsNetwork,
    DartsSpace,
    arch_from_genotype,
    canonical_genotype,
    genotype_from_arch,
    genotype_from_str,
)
from hwnas.search_spaces.darts_network import drop_path

from ._helpers import random_arch

# Parameters of the CIFAR-10 evaluation networks (C=36, 20 cells, 10 classes), auxiliary head excluded as
# the papers count: DARTS-V2 3.3M and PC-DARTS 3.6M in the papers; P-DARTS 3.4M (3,433,798 without and
# 3,910,224 with the auxiliary head as measured with the P-DARTS code, chenxin061/pdarts issue 7).
# DARTS-V1's published genotype gives 3.17M (the paper's table rounds the first-order result to 3.3M).
PUBLISHED = {
    "darts_v1": (3_169_414, 3_645_840),
    "darts_v2": (3_349_342, 3_825_768),
    "pc_darts": (3_634_678, 4_111_104),
    "pdarts": (3_433_798, 3_910_224),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_cifar10_param_counts(name):
    arch = ARCHS.get(name)
    assert arch.space == "darts" and arch.space_kwargs["C"] == 36 and arch.space_kwargs["layers"] == 20
    net = DartsSpace(**arch.space_kwargs).freeze(arch, auxiliary=True)
    assert count_params(net, exclude=("auxiliary_head",)) == PUBLISHED[name][0]
    assert count_params(net) == PUBLISHED[name][1]


@pytest.mark.parametrize(("num_classes", "expected"), [(10, 1_930_618), (100, 1_953_748)])
def test_search_supernet_param_count(num_classes, expected):
    # DARTS' search log: "param size = 1.930618MB" (CIFAR-10; 1.953748MB for CIFAR-100): every candidate
    # of every edge at C=16, 8 cells, plus stem, preprocessing and classifier.
    space = DartsSpace(C=16, layers=8, num_classes=num_classes)
    candidates = sum(count_params(m.build(n)) for m in space.modules() if isinstance(m, Choice)
                     for n in m.candidate_names)
    assert count_params(space) + candidates == expected


def test_pc_darts_imagenet_setting():
    arch = ARCHS.get("pc_darts_imagenet")
    net = DartsSpace(**arch.space_kwargs).freeze(arch)
    assert count_params(net) == 5_342_464  # the paper: 5.3M
    assert arch.space_kwargs["stem"] == "imagenet" and net.stem.stem1 is not None


def test_darts_v2_multiadds():
    net = DartsNetwork(DARTS_V2, auxiliary=False).eval()
    assert count_macs(net, torch.zeros(1, 3, 32, 32)) == 528_359_040


@pytest.mark.parametrize("name", sorted(GENOTYPES))
def test_genotype_round_trip(name):
    g = GENOTYPES[name]
    arch = arch_from_genotype(g)
    assert genotype_from_arch(arch) == canonical_genotype(g)
    assert arch_from_genotype(genotype_from_arch(arch)) == arch
    assert ArchSpec.from_json(arch.to_json()) == arch
    # The view agrees with the space: the arch is canonical (only kept edges carry an op).
    assert isinstance(DartsSpace(C=4, layers=3).freeze(arch), DartsNetwork)


@pytest.mark.parametrize("seed", range(4))
def test_random_arch_genotype_round_trip(seed):
    space = DartsSpace(C=4, layers=3)
    arch = check_arch(space, random_arch(space, seed))
    assert arch_from_genotype(genotype_from_arch(arch), **arch.space_kwargs) == arch


def test_labels_shared_across_cells():
    space = DartsSpace(C=4, layers=5)
    labels = [m.label for m in space.modules() if isinstance(m, Choice)]
    assert len(labels) == 5 * 14 and len(set(labels)) == 28
    assert "normal/n2_e0" in labels and "reduce/n5_e4" in labels
    ic = collect_decisions(space)["normal/n4"]
    assert isinstance(ic, InputChoice) and ic.n_candidates == 4 and ic.n_chosen == 2
    assert ic.sources == ("normal/n4_e0", "normal/n4_e1", "normal/n4_e2", "normal/n4_e3")


def test_search_candidates_follow_darts():
    space = DartsSpace(C=4, layers=3)
    choice = space.cells[1].edges["n2_e0"]
    assert choice.stride == 2 and choice.op_kwargs == {"affine": False}
    pool = choice.build("max_pool_3x3")
    assert isinstance(pool[-1], nn.BatchNorm2d) and not pool[-1].affine
    sep = choice.build("sep_conv_3x3")
    assert all(not m.affine for m in sep.modules() if isinstance(m, nn.BatchNorm2d))


class _SumAll(nn.Module):
    """A crude relaxation: the sum of all candidates, enough to run the search network's forward."""

    def __init__(self, choice):
        super().__init__()
        self.ops = nn.ModuleList(choice.build(n) for n in choice.candidate_names)

    def forward(self, x):
        return sum(op(x) for op in self.ops)


@pytest.mark.parametrize("stem", ["cifar", "imagenet"])
def test_search_network_forward_backward(stem):
    space = DartsSpace(C=4, layers=3, steps=2, multiplier=2, stem=stem, num_classes=3)
    for cell in space.cells:
        for key in list(cell.edges):
            cell.edges[key] = _SumAll(cell.edges[key])
    side = 16 if stem == "cifar" else 32
    out = space(torch.randn(2, 3, side, side))
    assert out.shape == (2, 3)
    out.sum().backward()


def test_generic_freeze_of_the_search_network():
    space = DartsSpace(C=4, layers=3)
    arch = ARCHS.get("darts_v2")
    arch = ArchSpec("darts", arch.choices, space.space_kwargs)
    net = freeze_module(space, arch).eval()
    assert net(torch.randn(1, 3, 16, 16)).shape == (1, 10)


def test_eval_network_aux_and_drop_path():
    torch.manual_seed(0)
    net = DartsNetwork(DARTS_V2, C=4, layers=5, num_classes=3, auxiliary=True, drop_path_prob=0.2)
    x = torch.randn(2, 3, 32, 32)
    logits, aux = net.train()(x)
    assert logits.shape == (2, 3) and aux.shape == (2, 3)
    assert net.eval()(x).shape == (2, 3)
    small = net.train()(torch.randn(2, 3, 8, 8))  # maps below the paper's 8x8 still work
    assert small[1].shape == (2, 3)
    net.drop_path_prob = 0.0
    net.eval()
    assert torch.equal(net(x), net(x))


def test_drop_path_zeroes_whole_samples():
    torch.manual_seed(0)
    y = drop_path(torch.ones(64, 2, 3, 3), 0.5)
    per_sample = y.flatten(1)
    assert set(per_sample.unique().tolist()) <= {0.0, 2.0}
    assert torch.all(per_sample.min(1).values == per_sample.max(1).values)


def test_imagenet_eval_network_shapes():
    net = DartsNetwork(DARTS_V2, C=8, layers=3, num_classes=4, stem="imagenet", in_channels=1, auxiliary=True)
    logits, aux = net.train()(torch.randn(2, 1, 64, 64))
    assert logits.shape == (2, 4) and aux.shape == (2, 4)
    assert net.auxiliary_head.features[-2].__class__ is nn.Conv2d  # no BN before the last ReLU (paper code)


def test_genotype_from_str():
    text = ("Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), "
            "('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], "
            "normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), "
            "('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 2)], reduce_concat=range(2, 6))")
    assert genotype_from_str(text) == GENOTYPES["pc_darts"]
    assert genotype_from_str(str(DARTS_V2)) == DARTS_V2
    for bad, match in [("__import__('os')", "not a genotype"), ("Genotype(normal=[])", "exactly the keywords"),
                       (text.replace("range(2, 6)", "list(range(2, 6))", 1), "literal list"),
                       ("Genotype(normal=[1, 2", "not a genotype")]:
        with pytest.raises(ArchSpecError, match=match):
            genotype_from_str(bad)


def test_genotype_errors():
    with pytest.raises(ArchSpecError, match="two different inputs"):
        arch_from_genotype(DARTS_V2._replace(normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 0)] * 4))
    with pytest.raises(ArchSpecError, match="unknown op 'conv_7x1_1x7'"):
        arch_from_genotype(DARTS_V2._replace(normal=[("conv_7x1_1x7", 0)] + DARTS_V2.normal[1:]))
    with pytest.raises(ArchSpecError, match="concat"):
        arch_from_genotype(DARTS_V2._replace(normal_concat=[2, 3]))
    with pytest.raises(ArchSpecError, match="in \\[0, 3\\)"):
        arch_from_genotype(DARTS_V2._replace(reduce=DARTS_V2.reduce[:2] + [("skip_connect", 3)] + DARTS_V2.reduce[3:]))
    with pytest.raises(ArchSpecError, match="space 'darts'"):
        genotype_from_arch(ArchSpec("nb201", {"1<-0": "none"}))
