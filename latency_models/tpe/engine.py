"""The shared part of every engine: MAC cost, SRAM/DRAM traffic, energy breakdown, area and network loops."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from hwnas.api.errors import UserError
from hwnas.api.opspec import OpSpec
from hwnas.latency_models.tpe.bitweight import OPTION_TOKENS, BitWeightConfig, Precision
from hwnas.latency_models.tpe.lowering import Gemm, lower_opspec
from hwnas.latency_models.tpe.mac import MacCost, mac_cost
from hwnas.latency_models.tpe.result import LayerResult, NetworkResult
from hwnas.latency_models.tpe.tech import TechTable


@dataclass(slots=True)
class Schedule:
    """What an engine's mapping of one GEMM (one repeat) gives, before costs.

    ``steps`` are MAC steps (each takes ``cycles_per_step`` cycles); ``overhead`` are fill/drain/load cycles.
    ``map_eff`` and ``compute_util`` are fractions averaged over folds at one cycle per step.
    ``passes_ifmap``/``passes_filter``: how often an operand is streamed again when it does not fit its SRAM.
    ``psum_set``: partial sums that must stay on chip to write each output once; ``k_folds``: how many
    partial sums each output gets otherwise (the schedule may instead cut the streamed dimension into chunks
    whose partial sums fit, re-reading its ``stationary`` operand once per chunk: the cheaper is taken).
    """

    steps: int
    overhead: int
    folds: int
    map_eff: float
    compute_util: float
    sram_ifmap_reads: int
    sram_filter_reads: int
    sram_ofmap_writes: int
    sram_ofmap_reads: int
    passes_ifmap: int
    passes_filter: int
    psum_set: int
    k_folds: int
    operand_reg_bits: float
    stationary: str = ""  # "filter" or "ifmap": the operand re-read if the streamed dimension is chunked


class Engine:
    """Base class of the TPE models. Subclasses define ``_geometry()`` and ``_schedule(gemm)``.

    Common keyword arguments: ``precision`` (name or :class:`Precision`), ``bitweight``
    (:class:`BitWeightConfig`, overrides ``precision``), ``sram_kb=(ifmap, filter, ofmap)``, ``freq_mhz``
    (clock of the baseline MAC; options that shorten the critical path raise it), ``dram_gbps`` (``None``:
    compute-bound; else layers wait for DRAM traffic), ``tech`` (:class:`TechTable` or a shipped table's
    name: ``45nm``, ``28nm``, ``saed32``). The engine's
    precision prices every layer (an OpSpec's own bit widths are not consulted).

    Example:
        >>> from hwnas.latency_models.tpe import Cube3D
        >>> e = Cube3D(8, 8, 8, precision="fp16", sram_kb=(128, 128, 64))
        >>> e.n_pe, sorted(e.evaluate_gemm(Gemm(64, 64, 64)).energy_pj)
        (512, ['dram', 'leakage', 'mac', 'register', 'sram'])
    """

    kind = "engine"

    def __init__(self, *, precision: str | Precision = "int8", bitweight: BitWeightConfig | None = None,
                 sram_kb: tuple[float, float, float] = (64.0, 64.0, 64.0), freq_mhz: float | None = None,
                 dram_gbps: float | None = None, tech: TechTable | str | None = None) -> None:
        p = Precision.named(precision) if isinstance(precision, str) else precision
        self.bitweight = bitweight if bitweight is not None else BitWeightConfig(precision=p)
        self.precision = self.bitweight.precision
        if len(sram_kb) != 3 or min(sram_kb) <= 0:
            raise UserError(f"sram_kb must be three positive sizes (ifmap, filter, ofmap), got {sram_kb}")
        self.sram_kb = tuple(float(x) for x in sram_kb)
        self.tech = TechTable.resolve(tech)
        self.freq_base_mhz = float(freq_mhz if freq_mhz is not None else self.tech.clock_mhz)
        self.dram_gbps = dram_gbps

    # ------------------------------------------------------------ subclass hooks
    @property
    def n_pe(self) -> int:
        raise NotImplementedError

    def _geometry(self) -> dict[str, float]:
        """``share``, ``sync_group``, ``columns``, ``out_ports``, ``reduce``, ``pipe_bits`` for :func:`mac_cost`."""
        raise NotImplementedError

    def _schedule(self, g: Gemm) -> Schedule:
        raise NotImplementedError

    @property
    def name(self) -> str:
        raise NotImplementedError

    #: Options a kind always has (the bit-serial column's temporal loop and column encoder): not in its name.
    _implied_options: tuple[str, ...] = ()

    def _name_tail(self) -> str:
        """The name tokens of a bit-weight design other than the default (``-ent``, ``-opt1-opt2``...), so that
        ``tpe_from_name(engine.name)`` builds the same design and a report's engine name says what was priced."""
        bw = self.bitweight
        toks = [] if bw.encoding == "booth4" else [bw.encoding]
        toks += [t for t, f in OPTION_TOKENS.items() if getattr(bw, f) and f not in self._implied_options]
        return "".join(f"-{t}" for t in toks)

    # ------------------------------------------------------------ costs
    @cached_property
    def cost(self) -> MacCost:
        return mac_cost(self.bitweight, self.tech, n_pe=self.n_pe, **self._geometry())

    @property
    def freq_mhz(self) -> float:
        return self.freq_base_mhz * self.cost.freq_scale

    @property
    def max_clock_mhz(self) -> float:
        """The clock the critical-path model gives this design in its technology (needs ``fa_delay_ps``).

        ``freq_mhz`` stays the configured clock scaled by the options (it prices latency); this is the
        absolute estimate compared with synthesis reports.

        Example:
            >>> from hwnas.latency_models.tpe import SystolicArray
            >>> SystolicArray(1, 1, "os", tech="saed32").max_clock_mhz > 500
            True
        """
        if not self.tech.fa_delay_ps:
            raise UserError(f"technology table {self.tech.name!r} has no fa_delay_ps: no absolute clock")
        return 1e6 / (self.cost.critical_path_fa * self.tech.fa_delay_ps)

    @cached_property
    def area_breakdown_mm2(self) -> dict[str, float]:
        c = self.cost
        pe = (self.n_pe * c.pe_area_um2 + c.n_encoders * c.encoder_area_um2 + c.n_edge_cpa * c.edge_cpa_area_um2)
        sram = sum(self.tech.sram_area_um2(kb) for kb in self.sram_kb)
        return {"pe_array": pe * 1e-6, "sram": sram * 1e-6}

    @cached_property
    def _consts(self) -> tuple[float, ...]:
        # Per-engine constants of the energy model, looked up once (layer evaluation stays in microseconds).
        tech, area = self.tech, self.area_breakdown_mm2
        leak_mw = area["pe_array"] * tech.leakage["logic_mw_per_mm2"] + area["sram"] * tech.leakage["sram_mw_per_mm2"]
        return (tech.sram_pj_per_bit(self.sram_kb[0]), tech.sram_pj_per_bit(self.sram_kb[1]),
                tech.sram_pj_per_bit(self.sram_kb[2], write=True), tech.sram_pj_per_bit(self.sram_kb[2]),
                tech.dram_pj_per_bit, tech.reg_pj_per_bit, leak_mw, self.freq_mhz)

    @property
    def area_mm2(self) -> float:
        return sum(self.area_breakdown_mm2.values())

    def _elems(self, kb: float, bits: int) -> int:
        # Half of each double-buffered SRAM holds the working set while the other half prefetches.
        return int(kb * 1024 * 8 // bits // 2)

    @cached_property
    def _caps(self) -> tuple[int, int, int]:
        p = self.precision
        return (self._elems(self.sram_kb[0], p.bits_a), self._elems(self.sram_kb[1], p.bits_w),
                self._elems(self.sram_kb[2], p.acc_bits))

    def _dram(self, g: Gemm, s: Schedule, *, per_operand: bool = False) -> tuple[int, int, int, int]:
        """DRAM reads of ifmap and filter, writes and reads of the ofmap (one repeat).

        An operand that fits half its SRAM is read once. When neither fits, the cheaper of three blockings
        is taken: re-stream the ifmap for every pass the mapping makes over it, re-stream the filters once per
        SRAM-sized ifmap chunk, or re-stream the ifmap once per SRAM-sized filter chunk.
        ``per_operand=True`` judges each operand alone (SCALE-Sim's buffers do).
        """
        p = self.precision
        uniq_i, uniq_f = g.unique_ifmap, g.k * g.n
        cap_i, cap_f, cap_o = self._caps
        fit_i, fit_f = uniq_i <= cap_i, uniq_f <= cap_f
        if per_operand:
            rd_i = uniq_i if fit_i else uniq_i * max(s.passes_ifmap, 1)
            rd_f = uniq_f if fit_f else uniq_f * max(s.passes_filter, 1)
        elif fit_i or fit_f:
            rd_i, rd_f = uniq_i, uniq_f
        else:
            options = [(uniq_i * max(s.passes_ifmap, 1), uniq_f * max(s.passes_filter, 1)),
                       (uniq_i, uniq_f * -(-uniq_i // max(cap_i, 1))),
                       (uniq_i * -(-uniq_f // max(cap_f, 1)), uniq_f)]
            rd_i, rd_f = min(options, key=lambda t: t[0] * p.bits_a + t[1] * p.bits_w)
        outs = g.m * g.n
        if s.k_folds <= 1 or s.psum_set <= cap_o:
            return rd_i, rd_f, outs, 0
        spill = (rd_i, rd_f, outs * s.k_folds, outs * (s.k_folds - 1))
        if per_operand or not s.stationary:
            return spill
        chunks = -(-s.psum_set // max(cap_o, 1))
        if s.stationary == "filter":
            chunked = (rd_i, rd_f if fit_f else rd_f * chunks, outs, 0)
        else:
            chunked = (rd_i if fit_i else rd_i * chunks, rd_f, outs, 0)

        def bits(t: tuple[int, int, int, int]) -> int:
            return t[0] * p.bits_a + t[1] * p.bits_w + t[2] * p.acc_bits + t[3] * p.acc_bits

        return min(spill, chunked, key=bits)

    def _finish(self, g: Gemm, s: Schedule, *, compute_cycles: int | None = None, overall: float | None = None,
                map_eff: float | None = None, compute_util: float | None = None,
                dram: tuple[int, int, int, int] | None = None, ofmap_writes: int | None = None) -> LayerResult:
        p, c, r = self.precision, self.cost, g.repeat
        if compute_cycles is None:
            cyc1 = s.steps * c.cycles_per_step + s.overhead
            compute_cycles = int(round(cyc1 * r))
        macs = g.macs
        if overall is None:
            overall = 100.0 * macs / (self.n_pe * compute_cycles) if compute_cycles else 0.0
        if map_eff is None:
            map_eff = 100.0 * s.map_eff
        if compute_util is None:
            # Temporal loops stretch the MAC steps: utilization per cycle drops accordingly.
            per = s.steps * c.cycles_per_step + s.overhead
            compute_util = 100.0 * s.compute_util * (s.steps + s.overhead) / per if per else 0.0
        d_i, d_f, d_ow, d_or = dram if dram is not None else self._dram(g, s)
        ow = s.sram_ofmap_writes if ofmap_writes is None else ofmap_writes
        rd_i, rd_f, wr_o, rd_o = s.sram_ifmap_reads * r, s.sram_filter_reads * r, ow * r, s.sram_ofmap_reads * r
        d_i, d_f, d_ow, d_or = d_i * r, d_f * r, d_ow * r, d_or * r
        e_i, e_f, e_ow, e_or, e_dram, e_reg, leak_mw, freq = self._consts
        out_bits = p.acc_bits if s.k_folds > 1 else p.bits_a
        e_sram = rd_i * p.bits_a * e_i + rd_f * p.bits_w * e_f + wr_o * out_bits * e_ow + rd_o * p.acc_bits * e_or
        dram_bits = d_i * p.bits_a + d_f * p.bits_w + d_ow * (p.acc_bits if d_or else p.bits_a) + d_or * p.acc_bits
        stall = 0
        if self.dram_gbps:
            dram_cycles = dram_bits / 8 / (self.dram_gbps * 1e3 / freq)
            stall = max(int(round(dram_cycles)) - compute_cycles, 0)
        total = compute_cycles + stall
        t_s = total / (freq * 1e6)
        energy = {
            "mac": macs * c.energy_per_mac_pj,
            "register": macs * (s.operand_reg_bits + c.acc_reg_bits) * e_reg,
            "sram": e_sram,
            "dram": dram_bits * e_dram,
            "leakage": leak_mw * 1e-3 * t_s * 1e12,
        }
        return LayerResult(name=g.name, engine=self.name, m=g.m, n=g.n, k=g.k, repeat=r, macs=macs,
                           compute_cycles=compute_cycles, overall_util_pct=overall, mapping_eff_pct=map_eff,
                           compute_util_pct=compute_util, sram_ifmap_reads=rd_i, sram_filter_reads=rd_f,
                           sram_ofmap_writes=wr_o, sram_ofmap_reads=rd_o, dram_ifmap_reads=d_i,
                           dram_filter_reads=d_f, dram_ofmap_writes=d_ow, dram_ofmap_reads=d_or, stall_cycles=stall,
                           total_cycles=total, freq_mhz=freq, energy_pj=energy, folds=s.folds * r)

    # ------------------------------------------------------------ public API
    def evaluate_gemm(self, g: Gemm) -> LayerResult:
        """Price one (repeated) GEMM.

        Example:
            >>> from hwnas.latency_models.tpe import SystolicArray, Gemm
            >>> SystolicArray(8, 8, "os").evaluate_gemm(Gemm(64, 8, 8)).compute_cycles
            176
        """
        if min(g.m, g.n, g.k, g.repeat) < 1:
            raise UserError(f"GEMM {g.name or '?'}: M, N, K must be positive, got {(g.m, g.n, g.k)}")
        return self._finish(g, self._schedule(g))

    def evaluate_gemms(self, gemms: Iterable[Gemm]) -> list[LayerResult]:
        """Price GEMMs in order, each distinct shape once: a SCALE-Sim depthwise row's per-channel GEMMs, or a
        network's repeated blocks, cost one evaluation. Equal shapes share one (read-only) result object, whose
        ``name`` is the first one's; take per-layer names from the GEMMs.

        Example:
            >>> from hwnas.latency_models.tpe import SystolicArray, Gemm
            >>> rs = SystolicArray(8, 8, "os").evaluate_gemms([Gemm(64, 1, 9, name=f"ch{i}") for i in range(3)])
            >>> len(rs), rs[0] is rs[2]
            (3, True)
        """
        done: dict[tuple[int, ...], LayerResult] = {}
        out = []
        for g in gemms:
            key = (g.m, g.n, g.k, g.repeat, g.ifmap_elems, g.bits_a, g.bits_w)
            r = done.get(key)
            if r is None:
                r = done[key] = self.evaluate_gemm(g)
            out.append(r)
        return out

    def lower(self, spec: OpSpec) -> Gemm | None:
        return lower_opspec(spec)

    def evaluate(self, spec: OpSpec) -> LayerResult | None:
        """Price a conv/linear OpSpec (``None`` for ops without MACs)."""
        g = self.lower(spec)
        return None if g is None else self.evaluate_gemm(g)

    def evaluate_network(self, specs: Iterable[OpSpec | Gemm]) -> NetworkResult:
        """Price a network given as OpSpecs (``hwnas.api.collect_opspecs``) or GEMMs; non-MAC ops are skipped.

        Example:
            >>> import torch
            >>> from torch import nn
            >>> from hwnas.api import collect_opspecs
            >>> from hwnas.latency_models.tpe import SystolicArray
            >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
            >>> res = SystolicArray(16, 16, "ws").evaluate_network(collect_opspecs(net, torch.zeros(1, 3, 16, 16)))
            >>> len(res.layers), res.macs
            (2, 202752)
        """
        layers = []
        for s in specs:
            g = s if isinstance(s, Gemm) else self.lower(s)
            if g is not None:
                layers.append(self.evaluate_gemm(g))
        return NetworkResult(engine=self.name, layers=layers, area_mm2=self.area_mm2,
                             area_breakdown_mm2=dict(self.area_breakdown_mm2), n_pe=self.n_pe)

    def summary(self) -> dict[str, object]:
        """The engine's fixed properties: PEs, clock, area, MAC energy, options."""
        return {"engine": self.name, "n_pe": self.n_pe, "freq_mhz": self.freq_mhz, "area_mm2": self.area_mm2,
                "area_breakdown_mm2": dict(self.area_breakdown_mm2), "mac_energy_pj": self.cost.energy_per_mac_pj,
                "cycles_per_mac_step": self.cost.cycles_per_step, "precision": self.precision.name,
                "bitweight_options": list(self.bitweight.options), "sram_kb": list(self.sram_kb)}

    def efficiency(self, g: Gemm | None = None) -> dict[str, float]:
        """Throughput per area (GOPS/mm^2) and energy efficiency (GOPS/W) on ``g`` (default: a dense 512^3 GEMM).

        One MAC counts as two operations. Energy here is the PE array's (MACs, registers and the array's
        leakage; no SRAM or DRAM), and area is the PE array's (no SRAM): a choice, since the paper's abstract
        does not say; its repository's synthesis and power reports cover PE arrays only. The design runs at
        its own clock (``freq_mhz``: the configured clock scaled by the options' shorter critical path).

        Example:
            >>> from hwnas.latency_models.tpe import Matrix2D
            >>> small, big = Matrix2D(8, 8, sram_kb=(8, 8, 8)), Matrix2D(8, 8, sram_kb=(512, 512, 512))
            >>> small.efficiency() == big.efficiency()   # SRAM size changes neither figure
            True
        """
        g = g or Gemm(512, 512, 512)
        r = self.evaluate_gemm(g)
        ops = 2.0 * r.macs
        t_s = r.compute_cycles / (r.freq_mhz * 1e6)
        leak_w = self.area_breakdown_mm2["pe_array"] * self.tech.leakage["logic_mw_per_mm2"] * 1e-3
        e_j = (r.energy_pj["mac"] + r.energy_pj["register"]) * 1e-12 + leak_w * t_s
        return {"gops_per_mm2": ops / t_s / 1e9 / self.area_breakdown_mm2["pe_array"],
                "gops_per_w": ops / e_j / 1e9, "gops": ops / t_s / 1e9}
