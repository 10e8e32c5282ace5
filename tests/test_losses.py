import math

import pytest
import torch

from hwnas.losses import CostTerm, SearchLoss


class _Net:
    """Stands in for a supernet: the cost is a function of one parameter."""

    def __init__(self, c: float):
        self.alpha = torch.tensor(c, requires_grad=True)


def _cost(net):
    return net.alpha * 1.0, {"macs": 7.0}


LOGITS = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
Y = torch.tensor([0, 2])
CE = float(torch.nn.functional.cross_entropy(LOGITS, Y))


def test_plain_cross_entropy():
    total, details = SearchLoss()(LOGITS, Y)
    assert float(total.detach()) == pytest.approx(CE)
    assert details == {"loss/ce": pytest.approx(CE), "loss/total": pytest.approx(CE)}


@pytest.mark.parametrize(
    "form, expected",
    [
        ("add", CE + 0.5 * 20.0 / 10.0),
        ("mul", CE * (20.0 / 10.0) ** 0.6),
        ("mul_log", CE * (math.log(20.0) / math.log(10.0)) ** 0.6),
    ],
)
def test_forms_values(form, expected):
    net = _Net(20.0)
    loss = SearchLoss([CostTerm(_cost, target=10.0, form=form, beta=0.6, weight=0.5, name="latency_ms")])
    total, details = loss(LOGITS, Y, net)
    assert float(total.detach()) == pytest.approx(expected, rel=1e-5)
    assert details["cost/latency_ms"] == pytest.approx(20.0)
    assert details["cost/latency_ms/macs"] == 7.0
    total.backward()
    assert net.alpha.grad is not None and float(net.alpha.grad) > 0  # more cost -> more loss


@pytest.mark.parametrize("form, beta, over, under", [("soft", 0.6, 2.0 ** 0.6, 1.0), ("hard", 0.6, 2.0, 1.0)])
def test_soft_and_hard_forms_stop_at_the_target(form, beta, over, under):
    for cost, factor in ((20.0, over), (5.0, under)):
        net = _Net(cost)
        total, details = SearchLoss([CostTerm(_cost, target=10.0, form=form, beta=beta)])(LOGITS, Y, net)
        assert float(total.detach()) == pytest.approx(CE * factor, rel=1e-5)
        assert details["loss/cost_factor"] == pytest.approx(factor, rel=1e-5)
        total.backward()
        if cost > 10.0:
            assert float(net.alpha.grad) > 0  # above the target: pushed down
        else:
            assert float(net.alpha.grad) == 0.0  # below it: no reward for going lower (mul would give one)


def test_two_terms_multiply():
    net = _Net(20.0)
    t1 = CostTerm(_cost, target=10.0, form="mul", beta=1.0, name="latency_ms")
    t2 = CostTerm(_cost, target=40.0, form="mul", beta=1.0, name="energy_mj")
    total, _ = SearchLoss([t1, t2])(LOGITS, Y, net)
    assert float(total.detach()) == pytest.approx(CE * 2.0 * 0.5, rel=1e-5)


def test_bad_terms():
    with pytest.raises(ValueError, match="form"):
        CostTerm(_cost, target=1.0, form="pow")
    with pytest.raises(ValueError, match="positive"):
        CostTerm(_cost, target=0.0)
    with pytest.raises(ValueError, match="above 1"):
        CostTerm(_cost, target=0.5, form="mul_log")
    with pytest.raises(ValueError, match="pass the supernet"):
        SearchLoss([CostTerm(_cost, target=1.0)])(LOGITS, Y)
