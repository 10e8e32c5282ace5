"""A systolic array of R x C PEs with output-, weight- or input-stationary dataflow, in closed form.

The mapping follows SCALE-Sim (Samajdar et al., ISPASS 2020; SCALE-Sim 3.0): for a GEMM ``(M x K) @ (K x N)``

=====  =========================  ==========  ================================
flow   array rows x cols           time (T)    cycles per fold
=====  =========================  ==========  ================================
os     M x N                       K           T + R + C - 2
ws     K x N                       M           2R + C + T - 2
is     K x M                       N           2R + C + T - 2
=====  =========================  ==========  ================================

and the operand matrix is folded ``ceil(rows / R) * ceil(cols / C)`` times; folds run one after another
(outputs drain before the next fold starts). With ``scalesim_compat=True`` the model reproduces SCALE-Sim
3.0's reports exactly: its output-size formula ``ceil((H - R + S) / S)``, its "total cycles" (the last
demand row's index, i.e. one less than the rows), its per-fold averages summed in its order, and its SRAM
counters (including the extra ``R + C`` writes it books per output-stationary fold). That is SCALE-Sim's
default ``InterfaceBandwidth: CALC`` mode, which never stalls; in ``USER`` mode SCALE-Sim adds DRAM stall
cycles from its buffer simulation, and this model's cycles equal its "Total Cycles" minus "Stall Cycles".
"""

from __future__ import annotations

from hwnas.api.errors import UserError
from hwnas.api.opspec import OpSpec
from hwnas.latency_models.tpe.engine import Engine, Schedule
from hwnas.latency_models.tpe.lowering import Gemm, lower_opspec
from hwnas.latency_models.tpe.result import LayerResult

DATAFLOWS = ("os", "ws", "is")


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


class SystolicArray(Engine):
    """R x C systolic array.

    Example:
        >>> sa = SystolicArray(32, 32, "ws", scalesim_compat=True)
        >>> r = sa.evaluate_gemm(Gemm(m=196, n=64, k=576))
        >>> r.compute_cycles, round(r.mapping_eff_pct, 2)
        (10439, 100.0)
    """

    kind = "systolic"

    def __init__(self, rows: int, cols: int, dataflow: str = "ws", *, scalesim_compat: bool = False,
                 **kwargs: object) -> None:
        if int(rows) < 1 or int(cols) < 1:
            raise UserError(f"systolic array must be at least 1x1, got {rows}x{cols}")
        if dataflow not in DATAFLOWS:
            raise UserError(f"unknown dataflow {dataflow!r}; use one of {', '.join(DATAFLOWS)}")
        self.rows, self.cols, self.dataflow = int(rows), int(cols), dataflow
        self.scalesim_compat = bool(scalesim_compat)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        tail = "-scalesim" if self.scalesim_compat else ""
        return f"systolic-{self.rows}x{self.cols}-{self.dataflow}-{self.precision.name}{self._name_tail()}{tail}"

    @property
    def n_pe(self) -> int:
        return self.rows * self.cols

    def _geometry(self) -> dict[str, float]:
        # The streamed operand enters at one edge and hops through a whole row (os/ws) or column (is):
        # that is the operand whose encoding can be shared (opt2) and whose digits set the lock step (opt3).
        # Both operands sit in every PE's pipeline registers (the streamed one as 3 bits per digit once opt2
        # encodes it at the edge); os/ws partial sums are the accumulator itself.
        along = self.cols if self.dataflow in ("os", "ws") else self.rows
        across = self.rows if self.dataflow in ("os", "ws") else self.cols
        p = self.precision
        streamed = 3 * p.digits if self.bitweight.opt2_shared_encoding else p.bits_a
        return {"share": along, "sync_group": across, "columns": across, "out_ports": self.cols, "reduce": 1,
                "pipe_bits": streamed + p.bits_w}

    def lower(self, spec: OpSpec) -> Gemm | None:
        return lower_opspec(spec, scalesim=self.scalesim_compat)

    def _dims(self, g: Gemm) -> tuple[int, int, int]:
        if self.dataflow == "os":
            return g.m, g.n, g.k
        if self.dataflow == "ws":
            return g.k, g.n, g.m
        return g.k, g.m, g.n

    def _fold_cycles(self, t: int) -> int:
        r, c = self.rows, self.cols
        return t + r + c - 2 if self.dataflow == "os" else 2 * r + c + t - 2

    def _schedule(self, g: Gemm) -> Schedule:
        r, c, p = self.rows, self.cols, self.precision
        sr, sc, t = self._dims(g)
        rf, cf = _cdiv(sr, r), _cdiv(sc, c)
        folds = rf * cf
        per_fold = self._fold_cycles(t)
        # Mean mapped PEs over folds factorises: (sum of rows used) * (sum of cols used) = sr * sc.
        map_eff = sr * sc / (folds * r * c)
        cyc_util_fold = per_fold + (c - 1 if self.dataflow != "os" else 0)
        compute_util = map_eff * t / cyc_util_fold
        m, n = g.m, g.n
        enc_bits = 3 * p.digits if self.bitweight.opt2_shared_encoding else None
        a_bits = enc_bits or p.bits_a
        if self.dataflow == "os":
            rd_i, rd_f, wr_o, rd_o = cf * t * sr, rf * t * sc, sr * sc, 0
            passes_i, passes_f, psum, kf = cf, rf, 0, 1
            reg = a_bits + p.bits_w
        elif self.dataflow == "ws":
            rd_i, rd_f, wr_o, rd_o = cf * t * sr, sr * sc, rf * t * sc, (rf - 1) * t * sc
            passes_i, passes_f, psum, kf = cf, 1, m * min(n, c), rf
            reg = a_bits
        else:
            rd_i, rd_f, wr_o, rd_o = sr * sc, cf * sr * t, rf * sc * t, (rf - 1) * sc * t
            passes_i, passes_f, psum, kf = 1, cf, min(m, c) * n, rf
            reg = enc_bits or p.bits_w
        return Schedule(steps=folds * t, overhead=folds * (per_fold - t), folds=folds, map_eff=map_eff,
                        compute_util=compute_util, sram_ifmap_reads=rd_i, sram_filter_reads=rd_f,
                        sram_ofmap_writes=wr_o, sram_ofmap_reads=rd_o, passes_ifmap=passes_i,
                        passes_filter=passes_f, psum_set=psum, k_folds=kf, operand_reg_bits=float(reg),
                        stationary={"ws": "filter", "is": "ifmap"}.get(self.dataflow, ""))

    def evaluate_gemm(self, g: Gemm) -> LayerResult:
        if min(g.m, g.n, g.k, g.repeat) < 1:
            raise UserError(f"GEMM {g.name or '?'}: M, N, K must be positive, got {(g.m, g.n, g.k)}")
        s = self._schedule(g)
        if not self.scalesim_compat:
            return self._finish(g, s)
        return self._finish_compat(g, s)

    # ------------------------------------------------------------ SCALE-Sim 3.0 compatibility
    def _fold_means(self, sr: int, sc: int, t: int) -> tuple[float, float]:
        """Mean mapping efficiency and compute utilization over folds, summed as SCALE-Sim sums them.

        SCALE-Sim appends one value per fold (column folds outer, row folds inner) and calls ``sum()`` on
        the list; building the same list and summing it the same way gives the same float, last bit
        included (Python 3.12 changed ``sum()`` of floats; doing what SCALE-Sim does keeps them equal).
        """
        r, c = self.rows, self.cols
        rf, cf = -(-sr // r), -(-sc // c)
        rc = r * c
        cyc = t + r + c - 2 if self.dataflow == "os" else 2 * r + 2 * c + t - 3
        row_last, col_last = sr - (rf - 1) * r, sc - (cf - 1) * c
        den = rc * cyc
        me: list[float] = []
        cu: list[float] = []
        for cols_used, times in ((c, cf - 1), (col_last, 1)):
            if times <= 0:
                continue
            full, last = r * cols_used, row_last * cols_used
            me_b = [full / rc] * (rf - 1)
            me_b.append(last / rc)
            cu_b = [(full * t) / den] * (rf - 1)
            cu_b.append((last * t) / den)
            me += me_b * times
            cu += cu_b * times
        n = rf * cf
        return sum(me) / n * 100, sum(cu) / n * 100

    def _finish_compat(self, g: Gemm, s: Schedule) -> LayerResult:
        r, c = self.rows, self.cols
        sr, sc, t = self._dims(g)
        folds = s.folds
        cycles = folds * self._fold_cycles(t) - 1  # SCALE-Sim reports the index of the last demand row
        map_eff, comp_util = self._fold_means(sr, sc, t)
        overall = (g.m * g.n * g.k * 100) / (cycles * r * c)
        ow = s.sram_ofmap_writes + (folds * (r + c) if self.dataflow == "os" else 0)
        # DRAM, as SCALE-Sim counts it when an operand fits half its SRAM: every distinct element once
        # (ifmap/filter), every ofmap demand once. Larger operands: this model's own refetch estimate.
        d_i, d_f, _, _ = self._dram(g, s, per_operand=True)
        return self._finish(g, s, compute_cycles=cycles * g.repeat, overall=overall, map_eff=map_eff,
                            compute_util=comp_util, dram=(d_i, d_f, s.sram_ofmap_writes, 0), ofmap_writes=ow)
