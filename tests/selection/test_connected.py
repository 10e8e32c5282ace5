"""Degenerate architectures (output independent of input): detected exactly, never selected, reported."""

from __future__ import annotations

import json

import pytest
import torch

from hwnas.api import ArchSpecError, check_arch, is_degenerate, random_arch
from hwnas.cli import main
from hwnas.losses import CostTerm, SearchLoss
from hwnas.search_spaces import DartsSpace, NB201Space, nb201_str_to_arch
from hwnas.selection import ConstrainedSelector, MagnitudeSelector, SelectionContext
from hwnas.supernets import DartsSupernet

DEAD = "|none~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"  # the pool edge reads a node fed by nothing
ALIVE = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"


def test_detection_is_exact_on_nb201_and_darts_cells_never_degenerate():
    space = NB201Space(C=4, N=1)
    assert is_degenerate(space, nb201_str_to_arch(DEAD)) and not is_degenerate(space, nb201_str_to_arch(ALIVE))
    # a path through node 1 only counts if it reaches the output
    assert is_degenerate(space, nb201_str_to_arch("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"))
    assert not is_degenerate(space, nb201_str_to_arch("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|"
                                                      "none~2|"))
    darts = DartsSpace(C=4, layers=3)
    assert not any(is_degenerate(darts, random_arch(darts, s)) for s in range(3))


def test_check_arch_reports_a_degenerate_architecture_when_asked():
    space = NB201Space(C=4, N=1)
    arch = nb201_str_to_arch(DEAD)
    assert check_arch(space, arch) == arch  # a valid spec all the same
    with pytest.raises(ArchSpecError, match="is degenerate: no path of non-zero ops"):
        check_arch(space, arch, connected=True)


def _supernet(prefs):
    net = DartsSupernet(NB201Space(C=4, N=1))
    with torch.no_grad():
        for label in net.labels:
            net.alpha_of(label).copy_(torch.tensor(prefs.get(label, [5.0, 1.0, 0.0, 0.5, 0.0])))
    return net


def test_magnitude_never_returns_a_degenerate_cell_and_repairs_at_least_regret():
    # every edge prefers `none`; edge 3<-0's second choice (skip, 4.9) costs least to take
    net = _supernet({"3<-0": [5.0, 4.9, 0.0, 0.0, 0.0]})
    arch = MagnitudeSelector().select(net)
    assert not is_degenerate(net.space, arch)
    assert arch.choices["3<-0"] == "skip_connect" and arch.metrics["repaired_degenerate"] == 1
    assert sum(v == "none" for v in arch.choices.values()) == 5


def test_constrained_never_edits_into_a_degenerate_cell():
    cost = {"none": 0.0, "skip_connect": 1.0, "nor_conv_1x1": 2.0, "nor_conv_3x3": 3.0, "avg_pool_3x3": 1.0}

    def price(sn):
        c = torch.tensor(list(cost.values()))
        return sum((p * c).sum() for p in sn.probabilities().values()), {}

    net = _supernet({lb: [0.0, 0.0, 0.0, 5.0, 0.0] for lb in ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")})
    with pytest.warns(UserWarning, match="meets the cost targets"):  # 0 would need a dead cell
        arch = ConstrainedSelector().select(net, SelectionContext(loss=SearchLoss([CostTerm(price, target=0.5)])))
    assert not is_degenerate(net.space, arch) and arch.metrics["meets_targets"] is False
    assert sum(v != "none" for v in arch.choices.values()) == 1  # as cheap as a live cell gets


def test_report_warns_on_a_degenerate_architecture(capsys):
    assert main(["report", DEAD, "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["degenerate"] is True and "is degenerate" in out.err
    assert main(["report", ALIVE, "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["degenerate"] is False and out.err == ""


def test_a_space_without_an_input_size_is_not_checked_but_says_so():
    from torch import nn

    from hwnas.api import Choice

    space = nn.Sequential(Choice(["none", "skip_connect"], label="op", c_in=4, c_out=4))
    net = DartsSupernet(space)
    with torch.no_grad():
        net.alpha_of("op").copy_(torch.tensor([1.0, 0.0]))
    with pytest.warns(UserWarning, match="declares no default_input_size"):
        assert MagnitudeSelector().select(net).choices == {"op": "none"}
    fixed = MagnitudeSelector().select(net, SelectionContext(input_size=(4, 3, 3)))
    assert fixed.choices == {"op": "skip_connect"} and fixed.metrics["repaired_degenerate"] == 1
