"""The other tensor-processing engines of the paper: 3D-Cube, multiplier-adder tree, 2D-Matrix and a
bit-serial column engine. All map a GEMM ``(M x K) @ (K x N)`` in closed form; loop orders are stated so
the SRAM counts can be checked by hand.
"""

from __future__ import annotations

import math
from dataclasses import replace

from hwnas.api.errors import UserError
from hwnas.latency_models.tpe.bitweight import BitWeightConfig
from hwnas.latency_models.tpe.engine import Engine, Schedule
from hwnas.latency_models.tpe.lowering import Gemm


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _check(*dims: int, what: str) -> tuple[int, ...]:
    vals = tuple(int(d) for d in dims)
    if min(vals) < 1:
        raise UserError(f"{what} dimensions must be positive, got {'x'.join(str(v) for v in vals)}")
    return vals


class Cube3D(Engine):
    """3D-Cube X x Y x Z (Ascend-style): each cycle multiplies an X x Z tile of A by a Z x Y tile of B and
    reduces over Z with adder trees into X x Y accumulators (output stationary across the K loop).

    Loops: for m-tile, for n-tile, for k-tile (innermost); A is re-read for every n-tile, B for every m-tile.

    Example:
        >>> Cube3D(16, 16, 16).evaluate_gemm(Gemm(64, 64, 64)).compute_cycles
        70
    """

    kind = "cube"

    def __init__(self, x: int, y: int, z: int, **kwargs: object) -> None:
        self.x, self.y, self.z = _check(x, y, z, what="3D-Cube")
        super().__init__(**kwargs)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        return f"cube-{self.x}x{self.y}x{self.z}-{self.precision.name}{self._name_tail()}"

    @property
    def n_pe(self) -> int:
        return self.x * self.y * self.z

    def _geometry(self) -> dict[str, float]:
        # A[m, k] is broadcast to the Y multipliers of its (m, k) position; the lock step covers X*Z values.
        # Each cycle Z products meet in one accumulator; operands are registered once at the cube's faces.
        p = self.precision
        return {"share": self.y, "sync_group": self.x * self.z, "columns": self.x * self.z,
                "out_ports": self.x * self.y, "reduce": self.z, "pipe_bits": p.bits_a / self.y + p.bits_w / self.x,
                "fanout": max(self.x, self.y)}

    def _schedule(self, g: Gemm) -> Schedule:
        x, y, z, p = self.x, self.y, self.z, self.precision
        mt, nt, kt = _cdiv(g.m, x), _cdiv(g.n, y), _cdiv(g.k, z)
        steps = mt * nt * kt
        depth = math.ceil(math.log2(max(z, 2))) + 2  # adder tree + accumulate + write-back
        overhead = mt * nt * 0 + depth
        map_eff = g.m * g.n * g.k / (steps * x * y * z)
        return Schedule(steps=steps, overhead=overhead, folds=mt * nt, map_eff=map_eff,
                        compute_util=map_eff * steps / (steps + overhead), sram_ifmap_reads=g.m * g.k * nt,
                        sram_filter_reads=g.k * g.n * mt, sram_ofmap_writes=g.m * g.n, sram_ofmap_reads=0,
                        passes_ifmap=nt, passes_filter=mt, psum_set=0, k_folds=1,
                        operand_reg_bits=(p.bits_a / y + p.bits_w / x))


class AdderTree(Engine):
    """Multiplier-adder tree Kt x Nt (DianNao/NVDLA-style): Nt trees, each multiplies Kt inputs by its own
    Kt weights and sums them. An input vector of Kt values is broadcast to all Nt trees.

    Loops: for n-tile, for k-tile, for m (innermost): a tree's Kt x Nt weights stay while all M rows pass;
    partial sums of the M x Nt outputs are read and written back once per k-tile.

    Example:
        >>> AdderTree(16, 16).evaluate_gemm(Gemm(64, 64, 64)).compute_cycles
        1136
    """

    kind = "tree"

    def __init__(self, kt: int, nt: int, **kwargs: object) -> None:
        self.kt, self.nt = _check(kt, nt, what="adder tree")
        super().__init__(**kwargs)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        return f"tree-{self.kt}x{self.nt}-{self.precision.name}{self._name_tail()}"

    @property
    def n_pe(self) -> int:
        return self.kt * self.nt

    def _geometry(self) -> dict[str, float]:
        # Kt products meet in each tree's accumulator; every multiplier holds its stationary weight.
        p = self.precision
        return {"share": self.nt, "sync_group": self.kt, "columns": self.kt, "out_ports": self.nt,
                "reduce": self.kt, "pipe_bits": p.bits_w + p.bits_a / self.nt, "fanout": self.nt}

    def _schedule(self, g: Gemm) -> Schedule:
        kt, nt, p = self.kt, self.nt, self.precision
        nf, kf = _cdiv(g.n, nt), _cdiv(g.k, kt)
        steps = nf * kf * g.m
        depth = math.ceil(math.log2(max(kt, 2))) + 2
        overhead = nf * kf * (depth + 1)  # weight load + tree drain per tile
        map_eff = g.m * g.n * g.k / (steps * kt * nt)
        outs = g.m * g.n
        return Schedule(steps=steps, overhead=overhead, folds=nf * kf, map_eff=map_eff,
                        compute_util=map_eff * steps / (steps + overhead), sram_ifmap_reads=g.m * g.k * nf,
                        sram_filter_reads=g.k * g.n, sram_ofmap_writes=outs * kf, sram_ofmap_reads=outs * (kf - 1),
                        passes_ifmap=nf, passes_filter=1, psum_set=g.m * min(g.n, nt), k_folds=kf,
                        operand_reg_bits=p.bits_a / nt + p.acc_bits / kt, stationary="filter")


class Matrix2D(Engine):
    """2D-Matrix R x C (outer-product array): A[m, k] is broadcast along row m, B[k, n] along column n,
    every PE accumulates one output in place (no systolic skew; one pipeline fill per tile).

    Loops: for m-tile, for n-tile, for k (innermost).

    Example:
        >>> Matrix2D(16, 16).evaluate_gemm(Gemm(64, 64, 64)).compute_cycles
        1056
    """

    kind = "matrix"

    def __init__(self, rows: int, cols: int, **kwargs: object) -> None:
        self.rows, self.cols = _check(rows, cols, what="2D-Matrix")
        super().__init__(**kwargs)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        return f"matrix-{self.rows}x{self.cols}-{self.precision.name}{self._name_tail()}"

    @property
    def n_pe(self) -> int:
        return self.rows * self.cols

    def _geometry(self) -> dict[str, float]:
        # The encoded operand is B[k, n]: broadcast down a column of R PEs; C distinct values per step.
        # Broadcast operands are registered once per row / column, not in every PE.
        p = self.precision
        return {"share": self.rows, "sync_group": self.cols, "columns": self.cols, "out_ports": self.cols,
                "reduce": 1, "pipe_bits": p.bits_a / self.cols + p.bits_w / self.rows,
                "fanout": max(self.rows, self.cols)}

    def _schedule(self, g: Gemm) -> Schedule:
        r, c, p = self.rows, self.cols, self.precision
        mt, nt = _cdiv(g.m, r), _cdiv(g.n, c)
        steps = mt * nt * g.k
        overhead = mt * nt * 2  # operand broadcast fill + result write-back per tile
        map_eff = g.m * g.n / (mt * nt * r * c)
        return Schedule(steps=steps, overhead=overhead, folds=mt * nt, map_eff=map_eff,
                        compute_util=map_eff * steps / (steps + overhead), sram_ifmap_reads=g.m * g.k * nt,
                        sram_filter_reads=g.k * g.n * mt, sram_ofmap_writes=g.m * g.n, sram_ofmap_reads=0,
                        passes_ifmap=nt, passes_filter=mt, psum_set=0, k_folds=1,
                        operand_reg_bits=p.bits_a / c + p.bits_w / r)


class BitSerialColumn(Matrix2D):
    """A 2D-Matrix whose PEs walk the radix-4 Booth digits of the column operand one per cycle: a
    Laconic/Bit-Pragmatic-style bit-slice engine. By default it skips zero digits (the paper's temporal
    bit-weight loop with sparse encoding, OPT3) with one sparse encoder per column (OPT4);
    ``BitWeightConfig(zero_skipping=False)`` and ``column_encoder=False`` give the plain bit-serial baseline.
    The paper's bit-slice design is this engine with EN-T digits (``encoding="ent"``) and OPT1; the model's
    Laconic is ``column_encoder=False`` with Booth digits and ``BitWeightConfig(term_pairs=True)`` (both
    operands' terms, one pair per cycle). Against it the paper's 12.10x energy and 2.85x area efficiency
    come out as ~4.0x and ~4.6x (``benchmarks/tpe_paper.py`` says why).

    Example:
        >>> e = BitSerialColumn(16, 16)
        >>> e.cost.cycles_per_step > 1.0, e.bitweight.opt4_column_encoder
        (True, True)
    """

    kind = "bitserial"
    _implied_options = ("opt3_temporal", "opt4_column_encoder")

    def _geometry(self) -> dict[str, float]:
        # Each column owns its operand stream and its control, so columns do not wait for each other: over
        # a K loop a column's cycles concentrate around K * E[non-zero digits] (no max over a lock-step group).
        geo = super()._geometry()
        geo["sync_group"] = 1
        return geo

    def __init__(self, rows: int, cols: int, *, bitweight: BitWeightConfig | None = None,
                 column_encoder: bool = True, **kwargs: object) -> None:
        prec = kwargs.pop("precision", "int8")
        if bitweight is None:
            from hwnas.latency_models.tpe.bitweight import Precision

            p = Precision.named(prec) if isinstance(prec, str) else prec  # type: ignore[arg-type]
            bitweight = BitWeightConfig(precision=p)
        bitweight = replace(bitweight, opt3_temporal=True, opt4_column_encoder=column_encoder)
        super().__init__(rows, cols, bitweight=bitweight, **kwargs)

    @property
    def name(self) -> str:
        return f"bitserial-{self.rows}x{self.cols}-{self.precision.name}{self._name_tail()}"
