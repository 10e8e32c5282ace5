"""Hardware spaces and the co-search cost: conditional decisions, the expected cost on a 2x2 toy, gradients to
both α, budgeted selection and the budgets' hinge terms."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from hwnas.api import ArchSpec, Choice, HardwareSpec, UserError
from hwnas.latency_models.hwspace import (
    CoSearchCost,
    HardwareSpace,
    HardwareSpaceError,
    HardwareTables,
    HwChoice,
    TpeHardwareSpace,
    select_hardware,
    tables_for,
)
from hwnas.latency_models.lut import lut_from_tpe
from hwnas.losses import CostTerm, SearchLoss
from hwnas.search import cosearch as pairs
from hwnas.supernets import DartsSupernet


class _Toy(nn.Module):
    """One Choice of two convolutions: the smallest network space with a priced decision."""

    space_name = "cosearch_toy"

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.op = Choice({"k1": lambda ci, co, s: nn.Conv2d(ci, co, 1, s),
                          "k3": lambda ci, co, s: nn.Conv2d(ci, co, 3, s, 1)}, label="op", c_in=8, c_out=8)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.op(self.stem(x)))


X = torch.zeros(1, 3, 8, 8)


def _two_engines() -> TpeHardwareSpace:
    return TpeHardwareSpace(kinds=("systolic", "matrix"), dims={"systolic": ("8x8",), "matrix": ("16x16",)},
                            dataflows=("ws",), options=())


def test_conditional_decisions_enumerate_valid_configs_only():
    hw = TpeHardwareSpace(kinds=("systolic", "cube"), dims={"systolic": ("8x8", "16x16"), "cube": ("4x4x4",)},
                          dataflows=("os", "ws", "is"), options=("opt1", "opt3", "opt4"))
    # systolic: 2 dims x 3 dataflows; cube: 1; both x opt1 x (opt3 off | opt3 on x opt4) = 3
    assert len(hw.configs) == (6 + 1) * 2 * 3
    assert all("dataflow" not in c for c in hw.configs if c["kind"] == "cube")
    assert all(("opt4" in c) == bool(c.get("opt3")) for c in hw.configs)
    with torch.no_grad():
        hw.alpha_of("kind").copy_(torch.tensor([0.3, -1.2]))
        hw.alpha_of("dataflow").copy_(torch.tensor([2.0, 0.0, -1.0]))
    p = hw.config_probabilities().detach()
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-6)
    # a cube configuration carries no dataflow factor: p(kind=cube) spread over its 6 configurations
    cube = [i for i, c in enumerate(hw.configs) if c["kind"] == "cube"]
    assert float(p[cube].sum()) == pytest.approx(float(torch.softmax(torch.tensor([0.3, -1.2]), 0)[1]), abs=1e-6)
    assert {hw.build_engine(c).name for c in hw.configs} >= {"systolic-16x16-is-int8", "cube-4x4x4-int8"}


def test_a_space_of_one_configuration_is_a_fixed_accelerator():
    hw = TpeHardwareSpace(kinds=("tree",), dims={"tree": ("16x16",)}, options=(), always_on=("opt1", "opt2"))
    (config,) = hw.configs
    engine = hw.build_engine(config)
    assert engine.name == "tree-16x16-int8-opt1-opt2"  # the name says the options
    assert engine.bitweight.opt1_carry_save and engine.bitweight.opt2_shared_encoding
    assert float(hw.config_probabilities().detach()) == pytest.approx(1.0)
    with pytest.raises(HardwareSpaceError, match="always_on option"):
        TpeHardwareSpace(options=("opt1",), always_on=("opt1",))


@pytest.mark.parametrize("kwargs, message", [
    ({"kinds": ("systolic", "gpu")}, "unknown kinds \\['gpu'\\]"),
    ({"kinds": ()}, "'kinds' is empty"),
    ({"options": ("opt9",)}, "unknown option"),
    ({"encodings": ("ternary",)}, "encoding 'ternary' is not supported"),
    ({"dims": {"cube": ("8x8",)}}, "cube shape '8x8' must be 3 positive sizes"),
    ({"kinds": ("matrix",), "dims": {"systolic": ("8x8",)}}, "not in kinds"),
    ({"kinds": ("matrix",), "options": ("opt4",)}, "opt4 shares opt3"),
])
def test_bad_hardware_spaces_are_clear_errors(kwargs, message):
    with pytest.raises(HardwareSpaceError, match=message):
        TpeHardwareSpace(**kwargs)


def test_decisions_must_be_declared_in_order_and_non_empty():
    with pytest.raises(HardwareSpaceError, match="at least one decision"):
        HardwareSpace([])
    with pytest.raises(HardwareSpaceError, match="must be declared before it"):
        HardwareSpace([HwChoice("size", (1, 2), when={"kind": ("a",)}), HwChoice("kind", ("a", "b"))])
    with pytest.raises(HardwareSpaceError, match="has no values"):
        HwChoice("kind", ())
    hw = _two_engines()
    with pytest.raises(HardwareSpaceError, match="has no value 'cube'"):
        hw.index_of({"kind": "cube"})
    with pytest.raises(HardwareSpaceError, match="no hardware decision 'clock'"):
        hw.index_of({"clock": 1})


def test_expected_cost_is_the_hand_computed_mixture_on_a_2x2_toy():
    net = DartsSupernet(_Toy())
    net.hardware = _two_engines()
    with torch.no_grad():
        net.alpha_of("op").copy_(torch.tensor([0.5, -0.5]))
        net.hardware.alpha_of("kind").copy_(torch.tensor([1.0, -1.0]))
    tables = tables_for(net.hardware, net, X)
    # by hand: one table per engine, each candidate's cost weighted by p(op), each engine by p(kind)
    p_op = torch.softmax(torch.tensor([0.5, -0.5]), 0).tolist()
    p_hw = torch.softmax(torch.tensor([1.0, -1.0]), 0).tolist()
    want = {"latency_ms": 0.0, "energy_mj": 0.0, "power_w": 0.0, "area_mm2": 0.0}
    for ph, (_, engine) in zip(p_hw, net.hardware.engines()):
        lut = lut_from_tpe(_Toy(), engine, X)
        lat = lut.fixed["latency_ms"] + sum(p * lut.entries["op"][c]["latency_ms"] for p, c in zip(p_op, ("k1", "k3")))
        en = lut.fixed["energy_mj"] + sum(p * lut.entries["op"][c]["energy_mj"] for p, c in zip(p_op, ("k1", "k3")))
        want["latency_ms"] += ph * lat
        want["energy_mj"] += ph * en
        want["power_w"] += ph * en / lat
        want["area_mm2"] += ph * engine.area_mm2
    for metric, value in want.items():
        cost, details = CoSearchCost(tables, metric=metric)(net)
        assert float(cost.detach()) == pytest.approx(value, rel=1e-5)
        assert details[f"expected_{metric}"] == pytest.approx(value, rel=1e-5)
    assert want["area_mm2"] > 0 and want["latency_ms"] > 0


def test_forward_backward_reaches_network_and_hardware_alpha():
    net = DartsSupernet(_Toy())
    net.hardware = _two_engines()
    tables = tables_for(net.hardware, net, X)
    loss = SearchLoss([CostTerm(CoSearchCost(tables, metric="latency_ms"), target=1e-3, form="mul", name="lat"),
                       CostTerm(CoSearchCost(tables, metric="energy_mj"), target=1e-3, form="add", name="en"),
                       CostTerm(CoSearchCost(tables, metric="latency_us"), target=2.0, form="mul_log", name="lus")])
    x, y = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 0])
    total, details = loss(net(x), y, net)
    total.backward()
    assert float(net.alpha_of("op").grad.abs().sum()) > 0
    assert float(net.hardware.alpha_of("kind").grad.abs().sum()) > 0
    # hardware α are architecture parameters (arch optimiser, checkpoints), never weights
    hw_ids = {id(p) for p in net.hardware.parameters()}
    assert hw_ids <= {id(p) for p in net.arch_parameters()}
    assert not hw_ids & {id(p) for p in net.weight_parameters()}
    assert any(k.startswith("hardware.alpha.") for k in net.state_dict())
    assert details["cost/lat/expected_area_mm2"] > 0 and math.isfinite(details["loss/total"])


def test_budget_hinge_values():
    class Const:
        def __init__(self, v: float) -> None:
            self.v = v

        def __call__(self, supernet: object) -> tuple[torch.Tensor, dict]:
            return torch.tensor(self.v), {}

    logits, y = torch.zeros(2, 3), torch.tensor([0, 1])
    ce = math.log(3)
    over = SearchLoss([CostTerm(Const(0.6), target=0.5, form="hinge", weight=2.0, name="area")])
    total, d = over(logits, y, object())
    assert d["penalty/area"] == pytest.approx(2.0 * (0.6 / 0.5 - 1), rel=1e-6)
    assert float(total) == pytest.approx(ce + 0.4, rel=1e-6)
    under = SearchLoss([CostTerm(Const(0.4), target=0.5, form="hinge", weight=2.0, name="area")])
    total, d = under(logits, y, object())
    assert d["penalty/area"] == 0.0 and float(total) == pytest.approx(ce, rel=1e-6)


def test_selection_picks_the_most_probable_configuration_within_budget():
    space = _Toy()
    hw = _two_engines()
    tables = HardwareTables(hw, space, X)
    small, big = sorted(range(2), key=lambda i: tables.area_mm2[i])
    with torch.no_grad():  # the bigger engine is the more probable one
        hw.alpha_of("kind").copy_(torch.tensor([5.0, -5.0] if big == 0 else [-5.0, 5.0]))
    arch = ArchSpec(space="cosearch_toy", choices={"op": "k3"})
    free = select_hardware(hw, tables, arch)
    assert free.index == big and free.feasible == 2
    budget = select_hardware(hw, tables, arch, area_mm2=tables.area_mm2[small] * 1.001)
    assert budget.index == small and budget.feasible == 1
    pair = budget.arch
    assert pair.hardware == hw.spec(hw.configs[small]) and pair.choices == arch.choices
    assert pair.metrics["hw/area_mm2"] == pytest.approx(tables.area_mm2[small])
    want = tables.luts[small].cost(arch)
    assert pair.metrics["hw/latency_ms"] == pytest.approx(want["latency_ms"])
    assert pair.metrics["hw/power_w"] == pytest.approx(want["energy_mj"] / want["latency_ms"])
    with pytest.raises(UserError, match="no hardware configuration meets the budget \\(area <= 0.01 mm²\\)"):
        select_hardware(hw, tables, arch, area_mm2=0.01)
    with pytest.raises(UserError, match="power <= 1e-09 W"):
        select_hardware(hw, tables, arch, power_w=1e-9)


def test_objective_selection_prices_every_pair_and_takes_the_lowest_loss():
    net = DartsSupernet(_Toy())
    net.hardware = TpeHardwareSpace(kinds=("systolic", "matrix"), dims={"systolic": ("8x8", "16x16"),
                                    "matrix": ("8x8", "16x16")}, dataflows=("ws",), options=())
    tables = tables_for(net.hardware, net, X)
    lat = CostTerm(CoSearchCost(tables, metric="latency_ms"), target=1e-3, form="mul", beta=0.3, name="lat")
    en = CostTerm(CoSearchCost(tables, metric="energy_mj"), target=1e-3, form="mul", beta=0.3, name="en")
    arch = ArchSpec(space="cosearch_toy", choices={"op": "k3"})
    figs = tables.arch_figures(arch)
    lxe = [f["latency_x_energy"] for f in figs]
    best, worst = lxe.index(min(lxe)), lxe.index(max(lxe))
    assert best != worst
    hw = net.hardware
    with torch.no_grad():  # the worst pair is the most probable configuration
        kind = hw.configs[worst]["kind"]
        hw.alpha_of("kind")[hw.decision("kind").values.index(kind)] = 5.0
        dims = f"dims/{kind}"
        hw.alpha_of(dims)[hw.decision(dims).values.index(hw.configs[worst][dims])] = 5.0
    asked = []
    scores = pairs.pair_scores(SearchLoss([lat, en]), net, arch, ce=lambda: asked.append(1) or 2.0)
    assert not asked  # multiplicative terms only: the network's own loss scales every pair alike
    for score, f in zip(scores, figs):
        assert score == pytest.approx((f["latency_ms"] / 1e-3) ** 0.3 * (f["energy_mj"] / 1e-3) ** 0.3, rel=1e-5)
    chosen = select_hardware(hw, tables, arch, scores=scores)
    assert chosen.index == best and chosen.arch.metrics["hw/selected_by"] == "objective"
    assert chosen.arch.metrics["hw/objective"] == pytest.approx(min(scores))
    probable = select_hardware(hw, tables, arch)
    assert probable.index == worst and probable.arch.metrics["hw/selected_by"] == "probable"
    # within a budget that leaves the best pair out, the best of the rest
    budget = max(tables.area_mm2[i] for i in range(len(figs)) if tables.area_mm2[i] < tables.area_mm2[best])
    within = [i for i in range(len(figs)) if tables.area_mm2[i] <= budget]
    assert within and best not in within
    picked = select_hardware(hw, tables, arch, area_mm2=budget, scores=scores).index
    assert picked == min(within, key=scores.__getitem__)
    # an additive term beside a multiplicative one: the held-out loss of the network weighs them, asked once
    add = CostTerm(CoSearchCost(tables, metric="energy_mj"), target=1e-3, form="add", weight=0.5, name="en_add")
    mixed = pairs.pair_scores(SearchLoss([lat, add]), net, arch, ce=lambda: asked.append(1) or 2.0)
    assert asked == [1]
    for score, f in zip(mixed, figs):
        assert score == pytest.approx(2.0 * (f["latency_ms"] / 1e-3) ** 0.3 + 0.5 * f["energy_mj"] / 1e-3, rel=1e-5)
    with pytest.raises(ValueError, match="3 scores for 4 hardware configurations"):
        select_hardware(hw, tables, arch, scores=scores[:3])


def test_fixed_view_prices_one_configuration():
    net = DartsSupernet(_Toy())
    net.hardware = _two_engines()
    tables = tables_for(net.hardware, net, X)
    spec = HardwareSpec.from_dict(net.hardware.spec(net.hardware.configs[1]).to_dict())

    class View:
        hardware = net.hardware.fixed(spec)

        def probabilities(self):
            return {"op": torch.tensor([0.0, 1.0])}

    cost, _ = CoSearchCost(tables, metric="latency_ms")(View())
    assert float(cost) == pytest.approx(tables.luts[1].cost({"op": "k3"})["latency_ms"], rel=1e-6)


@pytest.mark.parametrize("module", ["space", "tpe_space", "tables", "cost", "select"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"hwnas.latency_models.hwspace.{module}"))
    assert result.attempted > 0 and result.failed == 0
