"""The MAC cell model: energy, area and critical path of one PE's multiply-accumulate in full-adder cells.

A MAC is counted in *cells* (full-adder equivalents): encoders, partial-product selectors, carry-save
compressors, carry-propagate adders (CPAs) and, outside the cells, registers (priced per bit by the tech
table). One cell's energy and area are calibrated so that the model's 8-bit Booth multiplier costs what the
tech table gives an 8-bit multiply (45 nm: Horowitz's 0.2 pJ, 282 um^2) on uniform operands.

The engine tells the model how its MACs are wired (:func:`mac_cost` arguments):

- ``reduce``: products summed into one accumulator in the same cycle (3D-Cube: Z, multiplier-adder tree:
  Kt, systolic array and 2D-Matrix: 1). A MAC-based design turns every product into binary with its own CPA
  and sums them with a tree of CPAs before the accumulator's CPA; OPT1 instead compresses all ``reduce x
  digits`` partial-product rows and the carry-save accumulator in one compressor tree and leaves a single
  CPA per output port, outside the loop. This is why the paper's energy gains are larger for the cube and
  the tree (1.56x, 1.49x) than for the systolic array and the 2D-Matrix (1.04x, 1.20x).
- ``pipe_bits``: operand and partial-sum pipeline register bits per PE that the optimisations do not
  touch (a systolic array passes both operands through every PE; broadcast engines do not). They dilute the
  gains: the systolic array gains least.

Critical paths are in full-adder delays (``_FA`` units): encoder, selector, compressor levels, CPAs
(prefix adders: ``_CPA_LEVEL`` per log2 bit), the MAC-based adder tree (``_ADD_LEVEL`` per level: CPAs in
series overlap their carry chains only partly) and the register overhead.

Every constant below is one number for every engine: they were chosen once so that the paper's figures
(``paper_figures.json``, checked by ``benchmarks/tpe_paper.py``) come out as close as one model allows;
the benchmark says which figures it cannot meet and why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwnas.latency_models.tpe.bitweight import BitWeightConfig, Precision, _check_encoding
from hwnas.latency_models.tpe.tech import TechTable

# Cell weights (full-adder equivalents), one set for every engine, chosen against the paper's figures
# (benchmarks/tpe_paper.py) within physically plausible ranges:
# - a radix-4 Booth encoder: a few gates per digit plus the buffers that drive its (neg, one, two) lines
#   (~2 cells per digit; EN-T adds ~1 for its sign-magnitude step; binary digits need none);
# - a partial-product selector bit: a 4:1 AND-OR plus the negating XOR (about one full adder);
# - a fast (prefix) CPA: ~2.5 cells per bit of area and, with its glitching carry tree, ~4.5 of switching
#   (the reason OPT1 saves energy: the paper's cube and tree, with a CPA per product, gain most);
# - a sparse (zero-skipping) encoder adds a priority encoder and a small digit queue (~6 cells per digit).
_ENC = 2.0
_ENC_BY_ENCODING = {"booth4": _ENC, "ent": _ENC + 1.0, "binary": 0.0}
_SPARSE_ENC = 6.0
_SEL = 1.0
_CPA_AREA = 2.5
_CPA_ENERGY = 4.5
_SHIFT = 0.5
# The carry vector of a carry-save accumulator is mostly zero: it switches less than half as often as the sum.
_CARRY_REG_ACTIVITY = 0.45
# Delays in full-adder delays: one prefix level of a CPA, one level of a MAC-based adder tree of CPAs
# (chained CPAs overlap their carry chains only partly), the register overhead (setup + clock-to-q + skew),
# and per doubling of a broadcast operand's loads (its buffer tree).
_CPA_LEVEL = 0.85
_ADD_LEVEL = 1.5
_REG_DELAY = 4.0
_FANOUT_LEVEL = 0.5


@dataclass(frozen=True)
class MacCost:
    """Per-PE cost of one MAC design inside an engine (energies in pJ, areas in um^2)."""

    energy_per_mac_pj: float  # datapath energy of one useful MAC (its share of encoders and final CPAs included)
    pe_area_um2: float  # one PE's datapath + accumulator and pipeline registers (encoders counted separately)
    encoder_area_um2: float  # one encoder (Booth or sparse)
    n_encoders: float  # encoders in the whole engine
    edge_cpa_area_um2: float  # one output-port CPA (opt1), times n_edge_cpa
    n_edge_cpa: int
    cycles_per_step: float  # cycles per MAC step (1.0 unless opt3)
    freq_scale: float  # clock relative to the baseline (MAC-based) design of the same engine and precision
    acc_reg_bits: float  # accumulator register bits switched per MAC (sum + sparse carry with opt1)
    critical_path_fa: float = 0.0  # critical path in full-adder delays (register overhead included)


def _tree_levels(rows: int) -> int:
    # 3:2 carry-save levels to reduce ``rows`` operands to two (Dadda heights 2, 3, 4, 6, 9, 13, ...).
    h, lv = 2, 0
    while h < rows:
        h = (3 * h) // 2
        lv += 1
    return lv


def _cpa_cells(bits: float, energy: bool) -> float:
    return (_CPA_ENERGY if energy else _CPA_AREA) * bits


def _cpa_delay(bits: float) -> float:
    return _CPA_LEVEL * math.ceil(math.log2(max(bits, 2))) + 1.0


def _cells(p: Precision, cfg: BitWeightConfig, nz: float, reduce: int = 1, steps: float | None = None
           ) -> dict[str, float]:
    """Cell counts (area) and switching cells per MAC (energy) of one PE's datapath, its accumulator share
    (1/reduce of one accumulator) included; encoders and registers are counted by :func:`mac_cost`.
    ``steps``: busy cycles per MAC of a temporal loop (default: non-zero digits, ``nz * digits``)."""
    a, d, acc = p.mult_a, p.digits, p.acc_datapath_bits
    width = a + p.enc_bits + 2
    r = max(int(reduce), 1)
    gate = nz if cfg.zero_skipping else 1.0  # zero digits select a zero partial product: no switching
    if cfg.opt3_temporal:
        sel = _SEL * (a + 1)
        # term pairs: the shift is the sum of two digit positions, twice the range
        positions = 2 * d - 1 if cfg.term_pairs else d
        shift = _SHIFT * (a + 1) * max(math.ceil(math.log2(max(positions, 2))), 1)
        if cfg.opt1_carry_save:
            add_area = add_energy = float(acc)  # one 3:2 row into the carry-save accumulator
        else:
            add_area, add_energy = _CPA_AREA * acc, _CPA_ENERGY * acc
        # Energy per MAC: only non-zero digits (or term pairs) take a cycle of selector + shifter + adder work.
        busy = nz * d if steps is None else steps
        return {"area": sel + shift + add_area, "energy": (sel + shift + add_energy) * max(busy, 1e-9)}
    sel = _SEL * d * (a + 1)
    if cfg.opt1_carry_save:
        # As the paper's RTL builds it (OPT1/*/opt1_mac.v): the r*d partial products, sign-extended to the
        # accumulator's width, and the sum/carry accumulator enter one DW02_tree of r*d + 2 rows, which
        # takes r*d full-adder rows of acc bits: d rows per PE. No CPA in the loop.
        rows = float(d * acc)
        return {"area": sel + rows, "energy": (sel + rows) * gate}
    tree = max(d - 2, 0) * width
    if r == 1:  # fused MAC: the product's two rows and the accumulator meet in one 3:2 row and one CPA
        acc_row = float(acc)
        return {"area": sel + tree + acc_row + _cpa_cells(acc, False),
                "energy": (sel + tree) * gate + acc_row + _cpa_cells(acc, True)}
    # MAC-based reduction: a CPA per product, (r-1) CPAs of growing width per output, the accumulator's CPA.
    pw = a + p.enc_bits
    sum_w = pw + math.ceil(math.log2(r)) / 2.0
    add_share = (r - 1) / r
    acc_share = (acc + _cpa_cells(acc, False)) / r
    area = sel + tree + _cpa_cells(pw, False) + add_share * _cpa_cells(sum_w, False) + acc_share
    energy = ((sel + tree) * gate + _cpa_cells(pw, True) + add_share * _cpa_cells(sum_w, True)
              + (acc + _cpa_cells(acc, True)) / r)
    return {"area": area, "energy": energy}


def _critical_path(p: Precision, cfg: BitWeightConfig, reduce: int = 1, fanout: int = 1) -> float:
    """Register-to-register path of the MAC in full-adder delays (register overhead included).

    The shared encoder of opt2 sits in its own pipeline stage (``OPT2/vector_encoder.sv`` registers its
    outputs), so it leaves the PE's path.
    """
    d, acc, r = p.digits, p.acc_datapath_bits, max(int(reduce), 1)
    enc = (0.0 if cfg.opt2_shared_encoding else 1.0) + _FANOUT_LEVEL * math.log2(max(fanout, 1))
    if cfg.opt3_temporal:
        shift = math.ceil(math.log2(max(d, 2))) * 0.5
        return 2.0 + 1.0 + shift + (1.0 if cfg.opt1_carry_save else _cpa_delay(acc)) + _REG_DELAY
    if cfg.opt1_carry_save:
        return enc + 1.0 + _tree_levels(r * d + 2) + _REG_DELAY
    if r == 1:
        return enc + 1.0 + _tree_levels(d + 1) + _cpa_delay(acc) + _REG_DELAY
    pw = p.mult_a + p.enc_bits
    adds = math.ceil(math.log2(r)) * _ADD_LEVEL
    return enc + 1.0 + _tree_levels(d) + _cpa_delay(pw) + adds + _cpa_delay(acc) + _REG_DELAY


def _calibration(tech: TechTable) -> tuple[float, float]:
    """Energy (pJ) and area (um^2) of one cell: the model's int8 Booth multiplier matches the table's 8-bit multiply."""
    d, a = 4, 8
    width = a + 8 + 2
    sel, tree, enc = _SEL * d * (a + 1), (d - 2) * width, _ENC * d
    nz = 0.75  # uniform operands: a radix-4 Booth digit is zero with probability 1/4
    e_cells = enc + (sel + tree) * nz + _CPA_ENERGY * 16
    a_cells = enc + sel + tree + _CPA_AREA * 16
    return tech.op("int_mult_pj", 8) / e_cells, tech.op("int_mult_um2", 8) / a_cells


def _fp_overhead(tech: TechTable, p: Precision, e_cell: float, a_cell: float) -> tuple[float, float]:
    # Exponent logic, alignment and normalisation: whatever the table's fp16 multiply + fp32 add cost beyond
    # the integer mantissa datapath the model already counts.
    base = BitWeightConfig(precision=p, zero_skipping=False)
    c = _cells(p, base, 1.0)
    e_total = tech.op("fp_mult_pj", 16) + tech.op("fp_add_pj", 32)
    a_total = tech.op("fp_mult_um2", 16) + tech.op("fp_add_um2", 32)
    e_int = (c["energy"] + _ENC * p.digits) * e_cell
    a_int = (c["area"] + _ENC * p.digits) * a_cell
    return max(e_total - e_int, 0.0), max(a_total - a_int, 0.0)


def mac_cost(cfg: BitWeightConfig, tech: TechTable, *, n_pe: int, share: int, sync_group: int, columns: int,
             out_ports: int, macs_per_output: float = 64.0, reduce: int = 1, pipe_bits: float = 0.0,
             fanout: int = 1) -> MacCost:
    """Cost of ``n_pe`` MACs of design ``cfg`` inside an engine.

    ``share``: multipliers one broadcast (encoded) operand feeds (opt2 shares its encoder).
    ``sync_group``: distinct encoded operands that advance in lock step (the temporal loop waits for the
    slowest). ``columns``: PE columns (opt4 keeps one sparse encoder per column). ``out_ports``: outputs
    leaving the engine per cycle (opt1 puts one CPA at each). ``macs_per_output`` amortises that CPA's energy.
    ``reduce``: products summed per accumulator per cycle. ``pipe_bits``: pipeline register bits per PE.
    ``fanout``: loads one broadcast operand drives (1 for systolic hops).

    Example:
        >>> from hwnas.latency_models.tpe import BitWeightConfig, TechTable
        >>> geo = dict(n_pe=512, share=8, sync_group=64, columns=64, out_ports=64, reduce=8)
        >>> base = mac_cost(BitWeightConfig(), TechTable.default(), **geo)
        >>> opt = mac_cost(BitWeightConfig(opt1_carry_save=True), TechTable.default(), **geo)
        >>> opt.energy_per_mac_pj < base.energy_per_mac_pj, round(opt.freq_scale, 2)
        (True, 1.58)
    """
    p = cfg.precision
    stats = cfg.digit_stats()
    nz = stats.nonzero_fraction if cfg.zero_skipping else 1.0
    e_cell, a_cell = _calibration(tech)
    r = max(int(reduce), 1)
    walk = stats.pair_product() if (cfg.opt3_temporal and cfg.term_pairs) else stats
    steps = (walk.expected_nonzero if cfg.zero_skipping else float(walk.n_digits)) if cfg.opt3_temporal else None
    cells = _cells(p, cfg, nz, r, steps)
    acc_bits = p.acc_datapath_bits
    acc_per_pe = 1.0 if cfg.opt3_temporal else 1.0 / r
    acc_switch_bits = acc_bits * (1.0 + _CARRY_REG_ACTIVITY) if cfg.opt1_carry_save else float(acc_bits)
    acc_area_bits = acc_bits * (2 if cfg.opt1_carry_save else 1) * acc_per_pe
    d = p.digits
    # Encoders: one per digit (parallel) or one sparse encoder (temporal) per encoded operand stream.
    enc_dense = _ENC_BY_ENCODING[_check_encoding(cfg.encoding)]
    if cfg.opt3_temporal:
        # term pairs: both operands are sparse-encoded (two encoders per stream)
        enc_cells = (_SPARSE_ENC + enc_dense - _ENC) * d * (2 if cfg.term_pairs else 1)
        n_enc = float(columns if cfg.opt4_column_encoder else n_pe)
        cycles = walk.expected_max(sync_group) if cfg.zero_skipping else float(walk.n_digits)
    else:
        enc_cells = enc_dense * d
        n_enc = n_pe / max(share, 1) if cfg.opt2_shared_encoding else float(n_pe)
        cycles = 1.0
    enc_area = enc_cells * a_cell
    enc_energy_per_mac = enc_cells * e_cell * (n_enc / n_pe)
    if cfg.opt2_shared_encoding and not cfg.opt3_temporal:
        # The shared encoder is its own pipeline stage (OPT2/vector_encoder.sv): it registers the operand
        # and its digits (3 bits each) before they fan out.
        stage_bits = p.enc_bits + 3 * d
        enc_area += stage_bits * tech.reg_um2_per_bit
        enc_energy_per_mac += stage_bits * tech.reg_pj_per_bit * (n_enc / n_pe)
    energy = cells["energy"] * e_cell + enc_energy_per_mac
    edge_cpa = 0
    edge_cpa_area = 0.0
    if cfg.opt1_carry_save:
        edge_cpa = out_ports
        edge_cpa_area = _CPA_AREA * acc_bits * a_cell
        energy += _CPA_ENERGY * acc_bits * e_cell / max(macs_per_output, 1.0)
    pe_area = cells["area"] * a_cell + (acc_area_bits + pipe_bits) * tech.reg_um2_per_bit
    if p.kind == "fp":
        e_fp, a_fp = _fp_overhead(tech, p, e_cell, a_cell)
        energy += e_fp
        pe_area += a_fp
    base_cfg = BitWeightConfig(precision=p, encoding=cfg.encoding)
    path = _critical_path(p, cfg, r, fanout)
    freq_scale = _critical_path(p, base_cfg, r, fanout) / path
    return MacCost(energy_per_mac_pj=energy, pe_area_um2=pe_area, encoder_area_um2=enc_area,
                   n_encoders=n_enc, edge_cpa_area_um2=edge_cpa_area, n_edge_cpa=edge_cpa, cycles_per_step=cycles,
                   freq_scale=freq_scale, acc_reg_bits=acc_switch_bits * acc_per_pe, critical_path_fa=path)


def multiplier_cost(bits: int, tech: TechTable | str | None = None) -> tuple[float, float]:
    """Energy (pJ) and area (um^2) the cell model gives a plain ``bits`` x ``bits`` Booth multiplier.

    Used to check the calibration against Horowitz's table (8 bit exact by construction; 32 bit: area within
    11%, energy 32% low).

    Example:
        >>> e, a = multiplier_cost(8)
        >>> round(e, 3), round(a)
        (0.2, 282)
    """
    tech = TechTable.resolve(tech)
    e_cell, a_cell = _calibration(tech)
    d = (bits + 1) // 2
    width = 2 * bits + 2
    sel, tree, enc = _SEL * d * (bits + 1), max(d - 2, 0) * width, _ENC * d
    e = (enc + (sel + tree) * 0.75 + _CPA_ENERGY * 2 * bits) * e_cell
    a = (enc + sel + tree + _CPA_AREA * 2 * bits) * a_cell
    return e, a
