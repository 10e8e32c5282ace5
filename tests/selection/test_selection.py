import pytest
import torch
from torch import nn

from hwnas.api import SELECTORS, ArchSpec, Choice
from hwnas.losses import CostTerm, SearchLoss
from hwnas.selection import ConstrainedSelector, MagnitudeSelector, SelectionContext, price_arch
from hwnas.supernets import DartsSupernet

COSTS = {"big": 10.0, "mid": 4.0, "small": 1.0}


def _cand(ci, co, s, **kw):
    return nn.Conv2d(ci, co, 1)


class Chain(nn.Module):
    space_name = "chain"

    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(*[Choice({n: _cand for n in COSTS}, label=f"b{i}", c_in=2, c_out=2)
                                      for i in range(3)])

    def forward(self, x):
        return self.blocks(x).mean((1, 2, 3))


def _cost(supernet):
    """Expected cost: sum over blocks of p . (10, 4, 1)."""
    c = torch.tensor(list(COSTS.values()))
    total = sum((p * c).sum() for p in supernet.probabilities().values())
    return total, {}


def _supernet(prefs):
    sn = DartsSupernet(Chain())
    with torch.no_grad():
        for label, logits in prefs.items():
            sn.alpha_of(label).copy_(torch.tensor(logits))
    return sn


PREFS = {"b0": [3.0, 0.0, -3.0], "b1": [2.0, 1.9, -3.0], "b2": [3.0, -3.0, 2.5]}


def test_registered():
    assert {"magnitude", "constrained"} <= set(SELECTORS.names())


def test_price_arch_is_the_cost_of_the_one_hot_arch():
    sn = _supernet(PREFS)
    arch = ArchSpec("chain", {"b0": "big", "b1": "mid", "b2": "small"})
    assert price_arch(_cost, sn, arch) == pytest.approx(15.0)


def test_constrained_meets_target_with_least_regret():
    sn = _supernet(PREFS)
    assert MagnitudeSelector().select(sn).choices == {"b0": "big", "b1": "big", "b2": "big"}  # cost 30
    loss = SearchLoss([CostTerm(_cost, target=24.0)])
    arch = ConstrainedSelector().select(sn, SelectionContext(loss=loss))
    # b1 big->mid costs almost no preference (2.0 vs 1.9) and saves 6: one edit reaches 24
    assert arch.choices == {"b0": "big", "b1": "mid", "b2": "big"}
    assert arch.metrics["meets_targets"] is True and arch.metrics["target_edits"] == 1
    tight = ConstrainedSelector().select(sn, SelectionContext(loss=SearchLoss([CostTerm(_cost, target=15.0)])))
    assert price_arch(_cost, sn, tight) <= 15.0
    # b2's second choice is 'small' (2.5): cheaper in regret than touching b0
    assert tight.choices["b2"] == "small" and tight.choices["b0"] == "big"


def test_unreachable_target_warns_and_returns_closest():
    sn = _supernet(PREFS)
    with pytest.warns(UserWarning, match="meets the cost targets"):
        arch = ConstrainedSelector().select(sn, SelectionContext(loss=SearchLoss([CostTerm(_cost, target=2.0)])))
    assert arch.choices == {"b0": "small", "b1": "small", "b2": "small"}
    assert arch.metrics["meets_targets"] is False and arch.metrics["target_ratio"] == pytest.approx(1.5)


def test_without_cost_terms_it_is_magnitude():
    sn = _supernet(PREFS)
    unconstrained = ConstrainedSelector().select(sn, SelectionContext(loss=SearchLoss()))
    assert unconstrained.choices == MagnitudeSelector().select(sn).choices


def test_a_target_far_above_the_choice_is_filled_with_the_least_regret():
    # everything prefers `small` (cost 3); the budget is 24: raise to at least 0.9 x 24 without passing 24
    sn = _supernet({"b0": [0.0, 1.0, 3.0], "b1": [-2.0, 1.0, 3.0], "b2": [1.0, -3.0, 3.0]})
    loss = SearchLoss([CostTerm(_cost, target=24.0)])
    arch = ConstrainedSelector().select(sn, SelectionContext(loss=loss))
    assert 0.9 * 24 <= price_arch(_cost, sn, arch) <= 24
    # least regret per unit of cost: b2 to big (2 / 9), b0 to big (3 / 9): 21 < 21.6; then b1 to mid (2 / 3): 24
    assert arch.choices == {"b0": "big", "b1": "mid", "b2": "big"}
    assert arch.metrics["target_raises"] == 3 and arch.metrics["meets_targets"] is True
    kept = ConstrainedSelector(fill=0.0).select(sn, SelectionContext(loss=loss))
    assert kept.choices == {"b0": "small", "b1": "small", "b2": "small"}


def test_a_reduction_that_lands_far_under_the_target_is_topped_up():
    # the base (30) is over 20; the least-regret way down leaves room, which the up phase uses
    sn = _supernet({"b0": [3.0, 0.0, 2.9], "b1": [3.0, 2.95, -3.0], "b2": [3.0, -3.0, -3.0]})
    arch = ConstrainedSelector().select(sn, SelectionContext(loss=SearchLoss([CostTerm(_cost, target=20.0)])))
    cost = price_arch(_cost, sn, arch)
    assert 0.9 * 20 <= cost <= 20 and arch.metrics["meets_targets"] is True and arch.metrics["target_raises"] == 1
    down_only = ConstrainedSelector(fill=0.0).select(sn, SelectionContext(loss=SearchLoss([CostTerm(_cost, 20.0)])))
    assert price_arch(_cost, sn, down_only) == 15.0  # b1 to mid, then b0 to small: a quarter of the budget unused


def test_fill_must_be_a_share():
    from hwnas.api import ConfigError

    with pytest.raises(ConfigError, match="fill must lie in"):
        ConstrainedSelector(fill=1.5)
