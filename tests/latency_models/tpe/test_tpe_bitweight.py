"""The bit-weight dimension: Booth digits, digit statistics, calibration and the paper's optimisations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
import torch

from hwnas.api import UserError
from hwnas.latency_models.tpe import (
    AdderTree,
    BitSerialColumn,
    BitWeightConfig,
    Cube3D,
    DigitStats,
    Engine,
    Matrix2D,
    Precision,
    SystolicArray,
    TechTable,
    booth_digits,
    ent_digits,
    multiplier_cost,
)


@pytest.mark.parametrize("bits", [4, 8])
def test_booth_digits_reconstruct_every_value(bits: int) -> None:
    for v in range(-(1 << (bits - 1)), 1 << (bits - 1)):
        digits = booth_digits(v, bits)
        assert len(digits) == bits // 2
        assert all(d in (-2, -1, 0, 1, 2) for d in digits)
        assert sum(d * 4**i for i, d in enumerate(digits)) == v


def test_digit_statistics() -> None:
    uni = DigitStats.from_distribution("uniform", bits=8)
    assert uni.expected_nonzero == pytest.approx(3.0)  # P(digit = 0) = 2/8 for random bits
    normal = DigitStats.from_distribution("normal", bits=8)
    sparse = DigitStats.from_distribution("normal", bits=8, zero_frac=0.5)
    assert sparse.expected_nonzero < normal.expected_nonzero < uni.expected_nonzero
    # the lock step waits for the slowest operand: more operands, more cycles, never above the digit count
    steps = [normal.expected_max(g) for g in (1, 4, 32, 1024)]
    assert steps == sorted(steps) and steps[-1] <= 4.0 and steps[0] >= 1.0
    # a histogram of 7s (digits -1, 2, 0, 0) and 0s (no digits)
    h = DigitStats.from_histogram({7: 1, 0: 1}, bits=8)
    assert h.expected_nonzero == pytest.approx(1.0)
    t = DigitStats.from_tensor(torch.tensor([0.0, 1.0, -1.0, 0.0]), bits=8)
    assert t.pmf[0] == pytest.approx(0.5)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Linear(4, 4))
    torch.nn.init.normal_(net[0].weight)
    mod = DigitStats.from_module(net, bits=8)
    assert 0 < mod.expected_nonzero < uni.expected_nonzero and sum(mod.pmf) == pytest.approx(1.0)
    binary = DigitStats.from_distribution("uniform", bits=8, encoding="binary")
    assert binary.expected_nonzero == pytest.approx(4.0)
    with pytest.raises(UserError, match="unknown operand distribution"):
        DigitStats.from_distribution("cauchy", bits=8)
    with pytest.raises(UserError, match="unknown precision"):
        Precision.named("int3")


def test_calibrated_to_horowitz() -> None:
    tech = TechTable.default()
    e8, a8 = multiplier_cost(8, tech)
    assert e8 == pytest.approx(0.2) and a8 == pytest.approx(282.0)
    e32, a32 = multiplier_cost(32, tech)
    # The cell weights are now chosen against the paper's ratios (benchmarks/tpe_paper.py): a heavier CPA
    # weight makes the 32-bit multiply's energy land 32% under Horowitz's (it was within 25%); area within 11%.
    assert e32 == pytest.approx(2.10, abs=0.01) and e32 == pytest.approx(3.1, rel=0.35)
    assert a32 == pytest.approx(3495, rel=0.12)
    assert tech.sram_pj_per_bit(8) == pytest.approx(10 / 64) and tech.sram_pj_per_bit(1024) == pytest.approx(100 / 64)
    assert tech.dram_pj_per_bit == pytest.approx((1300 + 2600) / 2 / 64)
    assert set(tech.sources) >= {"horowitz", "eyeriss"}


def test_precision_orders_energy_and_area() -> None:
    costs = [SystolicArray(8, 8, "ws", precision=p).cost for p in ("int4", "int8", "int16", "fp16")]
    assert [c.energy_per_mac_pj for c in costs] == sorted(c.energy_per_mac_pj for c in costs)
    assert [c.pe_area_um2 for c in costs] == sorted(c.pe_area_um2 for c in costs)


def test_accumulator_width_costs_energy_and_area() -> None:
    narrow = SystolicArray(8, 8, "os", precision=Precision.named("int8", acc_bits=24)).cost
    wide = SystolicArray(8, 8, "os", precision=Precision.named("int8", acc_bits=40)).cost
    assert wide.energy_per_mac_pj > narrow.energy_per_mac_pj and wide.pe_area_um2 > narrow.pe_area_um2
    assert wide.acc_reg_bits == 40


def test_zero_digits_lower_parallel_mac_energy() -> None:
    dense = SystolicArray(8, 8, "ws").cost.energy_per_mac_pj
    sparse_cfg = BitWeightConfig(stats=DigitStats.from_distribution("normal", bits=8, zero_frac=0.5))
    sparse = SystolicArray(8, 8, "ws", bitweight=sparse_cfg).cost
    assert sparse.energy_per_mac_pj < dense and sparse.cycles_per_step == 1.0
    off = SystolicArray(8, 8, "ws", bitweight=replace(sparse_cfg, zero_skipping=False)).cost.energy_per_mac_pj
    assert off > dense


ENGINES: dict[str, Callable[..., Engine]] = {
    "systolic": lambda **k: SystolicArray(32, 32, "ws", **k),
    "cube": lambda **k: Cube3D(8, 8, 16, **k),
    "tree": lambda **k: AdderTree(32, 32, **k),
    "matrix": lambda **k: Matrix2D(32, 32, **k),
}


def _ratio(engine: Engine, base: Engine) -> tuple[float, float]:
    e, b = engine.efficiency(), base.efficiency()
    return e["gops_per_mm2"] / b["gops_per_mm2"], e["gops_per_w"] / b["gops_per_w"]


def _opt2_energy_gain(kind: str) -> float:
    make = ENGINES[kind]
    return _ratio(make(bitweight=BitWeightConfig(opt2_shared_encoding=True)), make(bitweight=BitWeightConfig()))[1]


@pytest.mark.parametrize("kind", list(ENGINES))
def test_opt1_opt2_move_efficiency_as_the_paper_reports(kind: str) -> None:
    make = ENGINES[kind]
    base_cfg = BitWeightConfig()
    base = make(bitweight=base_cfg)
    a1, e1 = _ratio(make(bitweight=replace(base_cfg, opt1_carry_save=True)), base)
    assert a1 > 1.15 and e1 >= 1.0  # CPA out of the loop: shorter critical path, less glitching
    a2, e2 = _ratio(make(bitweight=replace(base_cfg, opt2_shared_encoding=True)), base)
    # One encoder per broadcast operand; since the encoder became its own registered stage (as in
    # OPT2/vector_encoder.sv) OPT2 alone is about energy-neutral: within 3% either way.
    assert a2 > 1.02 and abs(e2 - 1.0) < 0.03
    both = make(bitweight=replace(base_cfg, opt1_carry_save=True, opt2_shared_encoding=True))
    a12, e12 = _ratio(both, base)
    assert 1.2 < a12 < 1.7  # paper: 1.27-1.56x area, 1.04-1.56x energy
    assert e12 == pytest.approx(e1 * e2, rel=0.02)  # the two optimisations compose
    if kind != "systolic":  # broadcast engines save encoder energy; the systolic array passes 12 digit bits on
        assert e2 > _opt2_energy_gain("systolic") + 0.01


def test_bitserial_sparse_encoding_and_column_encoder() -> None:
    stats = DigitStats.from_distribution("normal", bits=8)
    plain = BitSerialColumn(32, 32, bitweight=BitWeightConfig(stats=stats, zero_skipping=False),
                            column_encoder=False)
    skip = BitSerialColumn(32, 32, bitweight=BitWeightConfig(stats=stats), column_encoder=False)
    both = BitSerialColumn(32, 32, bitweight=BitWeightConfig(stats=stats))
    assert plain.cost.cycles_per_step == 4.0
    assert skip.cost.cycles_per_step == pytest.approx(stats.expected_max(1))
    a3, e3 = _ratio(skip, plain)
    a34, e34 = _ratio(both, plain)
    assert a3 > 1.2 and e3 > 1.2  # OPT3: zero digits cost neither cycles nor switching
    assert a34 > a3 and e34 > e3  # OPT4: one sparse encoder per column
    sparser = BitSerialColumn(32, 32, bitweight=BitWeightConfig(
        stats=DigitStats.from_distribution("normal", bits=8, zero_frac=0.5)))
    assert sparser.efficiency()["gops"] > both.efficiency()["gops"]  # sparser weights: fewer digit cycles


def test_ent_digits_reconstruct_every_magnitude() -> None:
    for v in range(-128, 128):
        digits = ent_digits(v, 8)
        assert len(digits) == 4 and all(d in (-1, 0, 1, 2) for d in digits)
        assert sum(d * 4**i for i, d in enumerate(digits)) == abs(v)
    # EN-T spends no digits on the sign: small negative values are as sparse as small positive ones
    assert ent_digits(-1, 8) == [1, 0, 0, 0] and sum(1 for d in booth_digits(-1, 8) if d) == 1
    assert sum(1 for d in ent_digits(-3, 8) if d) == 2 and sum(1 for d in booth_digits(-3, 8) if d) == 2
    assert ent_digits(-128, 8) == [0, 0, 0, 2]


# "Average partial product" per int8 operand, README of wqzustc/High-Performance-Tensor-Processing-Engines
# (OPT3_OPT4C testbench, normal operands of mean 0 and the given std).
TESTBENCH = {32: (1.71, 2.05, 2.27, 2.45, 2.57), 128: (1.75, 2.10, 2.32, 2.48, 2.60)}


@pytest.mark.parametrize("k", sorted(TESTBENCH))
def test_ent_matches_the_testbench_partial_products(k: int) -> None:
    for std, measured in zip((10, 20, 30, 40, 50), TESTBENCH[k], strict=True):
        stats = DigitStats.from_testbench(std)
        assert stats.encoding == "ent" and stats.n_digits == 4
        assert stats.testbench_average(k) == pytest.approx(measured, rel=0.01)
        assert stats.expected_nonzero == pytest.approx(measured, rel=0.035)  # without the counting quirk
    # EN-T is sparser than radix-4 Booth on the same operands (sign-magnitude: no digits spent on the sign)
    booth = DigitStats.from_testbench(20, encoding="booth4")
    assert booth.expected_nonzero == pytest.approx(2.294, abs=1e-3)
    assert DigitStats.from_testbench(20).expected_nonzero == pytest.approx(2.115, abs=1e-3)
    with pytest.raises(UserError, match="needs statistics built from values"):
        DigitStats((0.5, 0.5), 2).testbench_average(32)
    with pytest.raises(UserError, match="unknown digit encoding"):
        DigitStats.from_distribution("normal", bits=8, encoding="booth8")


def test_ent_encoding_drives_cycles_and_encoder_cost() -> None:
    ent = BitWeightConfig(encoding="ent", stats=DigitStats.from_testbench(20))
    booth = BitWeightConfig(stats=DigitStats.from_testbench(20, encoding="booth4"))
    e_ent, e_booth = BitSerialColumn(16, 16, bitweight=ent), BitSerialColumn(16, 16, bitweight=booth)
    # a zero operand still takes its one cycle (the testbench too: cal_cycle 0 leaves after the first cycle)
    assert e_ent.cost.cycles_per_step == pytest.approx(DigitStats.from_testbench(20).expected_max(1))
    assert e_ent.cost.cycles_per_step == pytest.approx(2.1347, abs=1e-4)
    assert e_ent.cost.cycles_per_step < e_booth.cost.cycles_per_step
    assert e_ent.cost.encoder_area_um2 > e_booth.cost.encoder_area_um2  # plus the sign-magnitude step
    default = BitWeightConfig(encoding="ent").digit_stats()
    assert default.encoding == "ent" and default.expected_nonzero == pytest.approx(sum(
        sum(1 for d in ent_digits(v, 8) if d) for v in range(-128, 128)) / 256)


def test_ent_by_name() -> None:
    from hwnas.latency_models.tpe import tpe_from_name

    ent, booth = tpe_from_name("bitserial-16x16-int8-ent"), tpe_from_name("bitserial-16x16-int8")
    assert ent.bitweight.encoding == "ent" and booth.bitweight.encoding == "booth4"
    # uniform int8: EN-T has 747/256 = 2.918 non-zero digits per operand, Booth 3.0
    assert ent.bitweight.digit_stats().expected_nonzero == pytest.approx(747 / 256)
    assert ent.cost.cycles_per_step < booth.cost.cycles_per_step
