import pytest
import torch
from torch import nn

from hwnas.api import (
    ArchSpec,
    ArchSpecError,
    Choice,
    ChosenInputs,
    InputChoice,
    Skipped,
    UnresolvedChoiceError,
    check_arch,
    collect_decisions,
    freeze_module,
    magnitude_arch,
)


class Zero(nn.Module):
    def forward(self, x):
        return x * 0


CANDS = {
    "conv": lambda ci, co, s, **kw: nn.Conv2d(ci, co, 3, s, 1),
    "pool": lambda ci, co, s, **kw: nn.AvgPool2d(3, s, 1),
    "none": lambda ci, co, s, **kw: Zero(),
}


class Cell(nn.Module):
    """Two intermediate nodes over two inputs; node j keeps 2 of its inputs."""

    def __init__(self, c: int):
        super().__init__()
        self.edges = nn.ModuleDict()
        self.nodes = nn.ModuleList()
        n_states = 2
        for j in range(2):
            labels = [f"cell/n{j}_e{i}" for i in range(n_states)]
            for i, lab in enumerate(labels):
                self.edges[f"{j}_{i}"] = Choice(CANDS, label=lab, c_in=c, c_out=c)
            self.nodes.append(
                InputChoice(n_candidates=n_states, n_chosen=min(2, n_states), label=f"cell/n{j}", sources=labels)
            )
            n_states += 1

    def forward(self, x):
        states = [x, x]
        for j, node in enumerate(self.nodes):
            states.append(node([self.edges[f"{j}_{i}"](s) for i, s in enumerate(states)]))
        return states[-1]


def test_choice_validates_and_builds():
    c = Choice(CANDS, label="e", c_in=3, c_out=5, stride=2)
    assert c.candidate_names == ("conv", "pool", "none")
    conv = c.build("conv")
    assert conv(torch.zeros(1, 3, 8, 8)).shape == (1, 5, 4, 4)
    assert c.build("conv", c_in=2, c_out=2).in_channels == 2
    with pytest.raises(KeyError, match="candidates: conv, pool, none"):
        c.build("sep")
    with pytest.raises(UnresolvedChoiceError, match="wrap the space in a supernet"):
        c(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="without '.'"):
        Choice(CANDS, label="a.b", c_in=1, c_out=1)
    with pytest.raises(ValueError, match="duplicate"):
        Choice(["conv", "conv"], label="x", c_in=1, c_out=1)
    with pytest.raises(TypeError, match="op name or a factory"):
        Choice({"a": 3}, label="x", c_in=1, c_out=1)


def test_shared_labels_must_agree():
    net = nn.Sequential(
        Choice(CANDS, label="s", c_in=2, c_out=2), Choice({"conv": CANDS["conv"]}, label="s", c_in=2, c_out=2)
    )
    with pytest.raises(ValueError, match="must have the same candidates"):
        collect_decisions(net)


def test_input_choice_sums_and_validates():
    ic = InputChoice(n_candidates=3, n_chosen=2, label="n")
    assert ic([torch.ones(2), torch.ones(2) * 2, None]).tolist() == [3.0, 3.0]
    with pytest.raises(ValueError, match="n_chosen"):
        InputChoice(n_candidates=2, n_chosen=3, label="n")
    with pytest.raises(ValueError, match="sources"):
        InputChoice(n_candidates=2, n_chosen=1, label="n", sources=["a"])


def _cell_arch(**over):
    choices = {
        "cell/n0": [0, 1],
        "cell/n0_e0": "conv",
        "cell/n0_e1": "pool",
        "cell/n1": [0, 2],
        "cell/n1_e0": "pool",
        "cell/n1_e2": "conv",
    }
    choices.update(over)
    return ArchSpec(space="cell", choices=choices)


def test_freeze_cell_keeps_only_chosen_inputs():
    cell = Cell(4)
    frozen = freeze_module(cell, _cell_arch())
    assert not any(isinstance(m, (Choice, InputChoice)) for m in frozen.modules())
    assert isinstance(frozen.edges["1_1"], Skipped)
    assert isinstance(frozen.nodes[1], ChosenInputs) and frozen.nodes[1].indices == (0, 2)
    x = torch.randn(2, 4, 6, 6)
    # node0 = conv(x) + pool(x); node1 = pool(x) + conv(node0)
    n0 = frozen.edges["0_0"](x) + frozen.edges["0_1"](x)
    expected = frozen.edges["1_0"](x) + frozen.edges["1_2"](n0)
    torch.testing.assert_close(frozen(x), expected)
    # the original space is untouched
    assert isinstance(cell.edges["1_1"], Choice)


def test_check_arch_canonicalizes_unused_edges():
    cell = Cell(4)
    a = check_arch(cell, _cell_arch(**{"cell/n1_e1": "conv"}))
    assert "cell/n1_e1" not in a.choices
    assert a.archid == check_arch(cell, _cell_arch()).archid


@pytest.mark.parametrize(
    "over, message",
    [
        ({"cell/n9": [0]}, "unknown label"),
        ({"cell/n0_e0": "sep"}, "'sep' is not a candidate; candidates: conv, pool, none"),
        ({"cell/n1": [0, 5]}, r"2 distinct input indices in \[0, 3\)"),
        ({"cell/n1": [1, 1]}, "distinct"),
        ({"cell/n1": "conv"}, "input indices"),
    ],
)
def test_check_arch_errors(over, message):
    with pytest.raises(ArchSpecError, match=message):
        check_arch(Cell(4), _cell_arch(**over))


def test_check_arch_missing_choice():
    choices = dict(_cell_arch().choices)
    del choices["cell/n1_e2"]
    with pytest.raises(ArchSpecError, match="missing choice 'cell/n1_e2'"):
        check_arch(Cell(4), ArchSpec(space="cell", choices=choices))


def test_magnitude_arch_top2_excludes_zero():
    cell = Cell(4)
    probs = {
        "cell/n0_e0": torch.tensor([0.2, 0.1, 0.7]),  # none dominates but is excluded -> conv
        "cell/n0_e1": torch.tensor([0.1, 0.5, 0.4]),
        "cell/n1_e0": torch.tensor([0.3, 0.3, 0.4]),  # tie conv/pool -> lower index (conv)
        "cell/n1_e1": torch.tensor([0.05, 0.05, 0.9]),  # weakest non-zero edge: dropped
        "cell/n1_e2": torch.tensor([0.6, 0.2, 0.2]),
    }
    a = magnitude_arch(cell, probs)
    assert a.choices["cell/n0_e0"] == "conv" and a.choices["cell/n0_e1"] == "pool"
    assert a.choices["cell/n1"] == (0, 2) and a.choices["cell/n1_e0"] == "conv"
    # PC-DARTS: the input weight (softmax beta) rescales edge strength
    b = magnitude_arch(cell, probs, {"cell/n1": torch.tensor([0.1, 0.8, 0.1])})
    assert b.choices["cell/n1"] == (1, 2)
