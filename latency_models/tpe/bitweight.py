"""The bit-weight dimension of a MAC: operand widths, digit encodings, zero-digit statistics and the
four optimisations of Wu et al., "Exploring the Performance Improvement of Tensor Processing Engines through
Transformation in the Bit-weight Dimension of MACs" (HPCA 2025, arXiv:2503.06342).

Digit encodings (``BitWeightConfig.encoding`` and every ``DigitStats`` constructor's ``encoding``):
``booth4`` (radix-4 Booth, two's complement, digits in {-2..2}), ``ent`` (EN-T, Wu et al. ICCD 2024: sign
and magnitude, magnitude digits in {-1, 0, 1, 2}; the paper's OPT2/OPT3 RTL uses it) and ``binary`` (one
bit per digit). The encoding sets the digit statistics, hence the cycles of the temporal loop (opt3) and
the switching of zero partial products, and the encoder's cell cost (EN-T adds a sign-magnitude step).
:meth:`DigitStats.from_testbench` reproduces the operands and the averaging of the paper's OPT3
testbench (its ten "average partial product" figures within 1%).

The optimisations (their cost is :mod:`hwnas.latency_models.tpe.mac`'s cell model):

- ``opt1_carry_save``: accumulate in carry-save form; the CPA leaves the K loop (one per output port).
- ``opt2_shared_encoding``: one encoder per broadcast operand, shared by every multiplier it feeds.
- ``opt3_temporal``: a temporal bit-weight loop: one non-zero digit per cycle (sparse encoding skips
  zero digits), so cycles per MAC follow the operand statistics and the PE keeps one selector row.
  ``term_pairs`` walks both operands' non-zero terms instead, one pair per cycle (Laconic).
- ``opt4_column_encoder``: the sparse encoder of ``opt3`` is shared by a column of PEs instead of one per PE.

``opt3`` pays off where operands have many zero digits and few operands advance in lock step (the
bit-serial column engine, whose columns run independently); on a lock-stepped systolic array the slowest
of a row's operands sets the pace, so there it mostly trades throughput for area.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hwnas.api.errors import UserError


@dataclass(frozen=True)
class Precision:
    """Operand and accumulator widths. ``kind`` is ``int`` or ``fp`` (fp: mantissa widths include the hidden bit).

    Example:
        >>> Precision.named("int8").acc_bits
        32
    """

    name: str
    bits_a: int
    bits_w: int
    acc_bits: int
    kind: str = "int"
    mant_bits: int = 0
    exp_bits: int = 0

    @staticmethod
    def named(name: str, *, acc_bits: int | None = None) -> Precision:
        """``int4``, ``int8``, ``int16`` or ``fp16`` (fp32 accumulation); ``acc_bits`` overrides the accumulator."""
        table = {
            "int4": Precision("int4", 4, 4, 16),
            "int8": Precision("int8", 8, 8, 32),
            "int16": Precision("int16", 16, 16, 48),
            "fp16": Precision("fp16", 16, 16, 32, kind="fp", mant_bits=11, exp_bits=5),
        }
        key = name.lower()
        if key not in table:
            raise UserError(f"unknown precision {name!r}; known: {', '.join(table)}")
        p = table[key]
        if acc_bits is not None:
            p = Precision(p.name, p.bits_a, p.bits_w, int(acc_bits), p.kind, p.mant_bits, p.exp_bits)
        return p

    @property
    def mult_a(self) -> int:
        """Width of the multiplicand (the operand that is *not* Booth-encoded) inside the multiplier."""
        return self.mant_bits + 1 if self.kind == "fp" else self.bits_a

    @property
    def enc_bits(self) -> int:
        """Width of the Booth-encoded operand (fp: unsigned mantissa plus a zero sign bit)."""
        return self.mant_bits + 1 if self.kind == "fp" else self.bits_w

    @property
    def digits(self) -> int:
        """Radix-4 Booth digits of the encoded operand."""
        return (self.enc_bits + 1) // 2

    @property
    def acc_datapath_bits(self) -> int:
        """Width of the accumulating adder (fp32 accumulation: 24-bit mantissa plus guard bits)."""
        return 28 if self.kind == "fp" else self.acc_bits


# ---------------------------------------------------------------- digit statistics


def booth_digits(value: int, bits: int) -> list[int]:
    """Radix-4 Booth digits (least significant first) of a ``bits``-bit two's-complement integer.

    Example:
        >>> booth_digits(7, 8)   # 7 = 8 - 1 -> digits (-1, 2, 0, 0)
        [-1, 2, 0, 0]
    """
    if bits % 2:
        bits += 1
    v = value & ((1 << bits) - 1)
    out, prev = [], 0
    for i in range(bits // 2):
        b0 = (v >> (2 * i)) & 1
        b1 = (v >> (2 * i + 1)) & 1
        out.append(-2 * b1 + b0 + prev)
        prev = b1
    return out


def ent_digits(value: int, bits: int) -> list[int]:
    """EN-T digits (least significant first) of a ``bits``-bit integer: the magnitude's radix-4 digits in
    {-1, 0, 1, 2}, the operand's sign kept apart (sign-magnitude).

    EN-T (Wu et al., "EN-T: Optimizing Tensor Computing Engines Performance via Encoder-Based Methodology",
    ICCD 2024) as built in ``OPT3_OPT4C/pe/encoder_multi_bit.v`` and ``OPT2/vector_encoder.sv`` of
    github.com/wqzustc/High-Performance-Tensor-Processing-Engines: the operand is turned into sign and
    magnitude (-128 has magnitude 128); digit 0 is the magnitude's two low bits; a pair ``A`` below digit
    ``i`` sends a carry ``A[0]&A[1] | A[1]&c`` into it, and digit ``i`` is ``B + c`` modulo 4 with code 3
    meaning -1. The top digit takes no carry out. Small magnitudes get fewer non-zero digits than radix-4
    Booth gives (Booth spends digits on the sign of small negative values).

    Example:
        >>> ent_digits(7, 8), ent_digits(-7, 8)   # 7 = -1 + 2*4; the sign is not in the digits
        ([-1, 2, 0, 0], [-1, 2, 0, 0])
        >>> ent_digits(-128, 8)
        [0, 0, 0, 2]
    """
    n = (bits + 1) // 2
    m = min(abs(int(value)), 1 << (bits - 1))
    out, carry = [], 0
    for i in range(n):
        s = ((m >> (2 * i)) & 3) + carry
        carry = 1 if (s >= 3 and i < n - 1) else 0
        out.append(s - 4 if s >= 3 else s)
    return out


_ENCODINGS = ("booth4", "ent", "binary")


def _check_encoding(encoding: str) -> str:
    if encoding not in _ENCODINGS:
        raise UserError(f"unknown digit encoding {encoding!r}; use one of {', '.join(_ENCODINGS)}")
    return encoding


def _n_digits(bits: int, encoding: str) -> int:
    return bits if encoding == "binary" else (bits + 1) // 2


@lru_cache(maxsize=32)
def _nnz_table(bits: int, encoding: str) -> tuple[int, ...]:
    # Number of non-zero digits of every value in [-2^(bits-1), 2^(bits-1)), indexed by value + 2^(bits-1).
    lo = -(1 << (bits - 1))
    _check_encoding(encoding)
    if encoding == "booth4":
        return tuple(sum(1 for d in booth_digits(v, bits) if d) for v in range(lo, -lo))
    if encoding == "ent":
        return tuple(sum(1 for d in ent_digits(v, bits) if d) for v in range(lo, -lo))
    return tuple(bin(v & ((1 << bits) - 1)).count("1") for v in range(lo, -lo))


@lru_cache(maxsize=32)
def _top_table(bits: int, encoding: str) -> tuple[int, ...]:
    # 1 where the most significant digit of the value is non-zero (indexed like _nnz_table).
    lo = -(1 << (bits - 1))
    if encoding == "booth4":
        return tuple(int(booth_digits(v, bits)[-1] != 0) for v in range(lo, -lo))
    if encoding == "ent":
        return tuple(int(ent_digits(v, bits)[-1] != 0) for v in range(lo, -lo))
    return tuple((v >> (bits - 1)) & 1 for v in range(lo, -lo))


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@dataclass(frozen=True)
class DigitStats:
    """Distribution of the number of non-zero digits per encoded operand (``pmf[j] = P(nnz == j)``).

    Build it from a named distribution, a histogram of integer values, or a tensor of real values.

    Example:
        >>> s = DigitStats.from_distribution("uniform", bits=8)
        >>> s.expected_nonzero   # radix-4 Booth: each digit is non-zero with probability 3/4
        3.0
    """

    pmf: tuple[float, ...]
    bits: int
    encoding: str = "booth4"
    source: str = "uniform"
    top_digit_nonzero: float | None = None  # P(most significant digit != 0), when built from values

    @property
    def n_digits(self) -> int:
        return len(self.pmf) - 1

    @property
    def expected_nonzero(self) -> float:
        return sum(j * p for j, p in enumerate(self.pmf))

    @property
    def nonzero_fraction(self) -> float:
        """Expected share of non-zero digits (1.0 for dense operands)."""
        return self.expected_nonzero / max(self.n_digits, 1)

    def pair_product(self) -> DigitStats:
        """Statistics of ``nnz(a) * nnz(b)`` for two independent operands with these statistics: the term
        pairs a two-sided term-serial PE (Laconic) walks per MAC.

        Example:
            >>> DigitStats((0.5, 0.5), 2).pair_product().pmf   # 0 pairs unless both have their digit
            (0.75, 0.25)
        """
        pmf = [0.0] * (self.n_digits**2 + 1)
        for i, p in enumerate(self.pmf):
            for j, q in enumerate(self.pmf):
                pmf[i * j] += p * q
        return DigitStats(tuple(pmf), self.bits, self.encoding, f"{self.source}-pairs")

    def expected_max(self, group: int) -> float:
        """Expected cycles of one step of a temporal digit loop whose ``group`` operands run in lock step.

        The step takes the largest digit count in the group and at least one cycle.
        """
        g = max(int(group), 1)
        cdf, acc = [], 0.0
        for p in self.pmf:
            acc += p
            cdf.append(min(acc, 1.0))
        # E[max(1, M)] = 1 + sum_{j>=2} P(M >= j) = 1 + sum_{j>=1} (1 - F(j)^g) for j = 1..D-1
        return 1.0 + sum(1.0 - cdf[j] ** g for j in range(1, len(cdf) - 1))

    @staticmethod
    def from_histogram(counts: Sequence[float] | dict[int, float], *, bits: int, encoding: str = "booth4",
                       source: str = "histogram") -> DigitStats:
        """From counts of integer values: ``{value: count}`` or a sequence indexed by ``value + 2^(bits-1)``."""
        table = _nnz_table(bits, encoding)
        lo = -(1 << (bits - 1))
        n_dig = _n_digits(bits, encoding)
        top_nz = _top_table(bits, encoding)
        pmf = [0.0] * (n_dig + 1)
        items: Iterable[tuple[int, float]]
        items = counts.items() if isinstance(counts, dict) else ((i + lo, c) for i, c in enumerate(counts))
        total = top = 0.0
        for v, c in items:
            if c < 0:
                raise UserError("histogram counts must be non-negative")
            v = min(max(int(v), lo), -lo - 1)
            pmf[table[v - lo]] += float(c)
            top += float(c) * top_nz[v - lo]
            total += float(c)
        if total <= 0:
            raise UserError("empty histogram: no operand values to take digit statistics from")
        return DigitStats(tuple(p / total for p in pmf), bits, encoding, source, top / total)

    @staticmethod
    def from_tensor(values: Any, *, bits: int, encoding: str = "booth4", scale: float | None = None) -> DigitStats:
        """From real values (a tensor, array or list), quantised symmetrically to ``bits`` bits (max-abs scale)."""
        import torch

        t = torch.as_tensor(values).detach().float().flatten()
        if t.numel() == 0:
            raise UserError("empty tensor: no operand values to take digit statistics from")
        qmax = (1 << (bits - 1)) - 1
        s = float(scale) if scale is not None else float(t.abs().max()) / qmax
        if s == 0:
            q = torch.zeros_like(t, dtype=torch.long)
        else:
            q = torch.clamp(torch.round(t / s), -qmax - 1, qmax).long()
        hist = torch.bincount(q + qmax + 1, minlength=2 * (qmax + 1)).tolist()
        return DigitStats.from_histogram(hist, bits=bits, encoding=encoding, source="tensor")

    @staticmethod
    def from_module(module: Any, *, bits: int, encoding: str = "booth4") -> DigitStats:
        """Weights of every conv and linear layer of an ``nn.Module``, each quantised with its own max-abs scale."""
        import torch
        from torch import nn

        hist = torch.zeros(1 << bits, dtype=torch.long)
        qmax = (1 << (bits - 1)) - 1
        for m in module.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
                w = m.weight.detach().float().flatten()
                s = float(w.abs().max()) / qmax
                q = torch.zeros_like(w, dtype=torch.long) if s == 0 else torch.clamp(torch.round(w / s), -qmax - 1,
                                                                                      qmax).long()
                hist += torch.bincount(q + qmax + 1, minlength=1 << bits)
        if int(hist.sum()) == 0:
            raise UserError("the module has no conv or linear weights to take digit statistics from")
        return DigitStats.from_histogram(hist.tolist(), bits=bits, encoding=encoding, source="module")

    @staticmethod
    def from_distribution(name: str, *, bits: int, encoding: str = "booth4", std_frac: float = 0.25,
                          zero_frac: float = 0.0) -> DigitStats:
        """``uniform``, ``normal`` or ``laplace`` integers of ``bits`` bits (std = ``std_frac`` x max value),
        with an optional extra share ``zero_frac`` of exact zeros (pruned weights, ReLU activations)."""
        qmax = (1 << (bits - 1)) - 1
        lo = -qmax - 1
        sigma = max(std_frac * qmax, 1e-6)
        key = name.lower()
        if key == "uniform":
            w = [1.0] * (2 * (qmax + 1))
        elif key in ("normal", "gaussian"):
            w = [math.exp(-0.5 * (v / sigma) ** 2) for v in range(lo, qmax + 1)]
        elif key == "laplace":
            b = sigma / math.sqrt(2.0)
            w = [math.exp(-abs(v) / b) for v in range(lo, qmax + 1)]
        else:
            raise UserError(f"unknown operand distribution {name!r}; known: uniform, normal, laplace")
        total = sum(w)
        w = [x * (1.0 - zero_frac) / total for x in w]
        w[-lo] += zero_frac
        return DigitStats.from_histogram(w, bits=bits, encoding=encoding, source=key)

    @staticmethod
    def from_testbench(std: float, *, bits: int = 8, encoding: str = "ent", mean: float = 0.0) -> DigitStats:
        """Operands as the paper's OPT3/OPT4C testbenches draw them: ``normal_random(mean, std, -128, 127)``.

        That function (``OPT3_OPT4C/pe/sim/test_opt3_pe_inner_product_vectors.sv``) draws Box-Muller normals,
        *rejects* (does not clip) draws outside [-2^(bits-1), 2^(bits-1) - 1] and converts with SystemVerilog's
        ``int'()``, which rounds half away from zero. The pmf here is that distribution, exactly.
        :meth:`testbench_average` adds the testbench's way of averaging.

        Example:
            >>> round(DigitStats.from_testbench(20).expected_nonzero, 3)   # EN-T digits per int8 operand
            2.115
        """
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        s = max(float(std), 1e-9)
        z = _normal_cdf((hi - mean) / s) - _normal_cdf((lo - mean) / s)
        w = []
        for v in range(lo, hi + 1):
            # int'(x) == v for x in [v - 0.5, v + 0.5) (half away from zero; the boundary has measure zero)
            a, b = max(v - 0.5, lo), min(v + 0.5, hi)
            w.append(max(_normal_cdf((b - mean) / s) - _normal_cdf((a - mean) / s), 0.0) / z)
        return DigitStats.from_histogram(w, bits=bits, encoding=encoding, source=f"testbench-normal-std{std:g}")

    def testbench_average(self, k: int) -> float:
        """The "Average partial product" the OPT3 testbench prints for vectors of length ``k``.

        Its counter adds ``cal_cycle`` (the non-zero digits of four operands at one bit weight) once per
        group, K groups per vector. After the last group of a vector the stimulus waits one more clock with
        ``encode_valid`` still high when that group took a single cycle (``cal_cycle <= 1``), so the counter
        books that group a second time. That last group holds the top digits of four operands; counting it
        reproduces the README's ten figures (std 10..50, K = 32 and 128) within 1%, the plain digit mean
        (:attr:`expected_nonzero`) only within 3.5%. Needs per-value statistics (``from_testbench``).

        Example:
            >>> round(DigitStats.from_testbench(20).testbench_average(32), 2)   # README: 2.05
            2.05
        """
        top = self.top_digit_nonzero
        if top is None:
            raise UserError("testbench_average needs statistics built from values (e.g. DigitStats.from_testbench)")
        p0, p1 = (1.0 - top) ** 4, 4.0 * top * (1.0 - top) ** 3
        return (k * self.expected_nonzero + p1) / (k + p0 + p1)


# ---------------------------------------------------------------- MAC microarchitecture


#: Target-name tokens of the four optimisations (``tpe_from_name`` reads them, ``Engine.name`` writes them).
OPTION_TOKENS = {"opt1": "opt1_carry_save", "opt2": "opt2_shared_encoding", "opt3": "opt3_temporal",
                 "opt4": "opt4_column_encoder"}


@dataclass(frozen=True)
class BitWeightConfig:
    """How the MACs are built in the bit-weight dimension.

    ``stats`` are the digit statistics of the encoded operand (default: uniform values of its width).

    Example:
        >>> cfg = BitWeightConfig(precision=Precision.named("int8"), opt1_carry_save=True)
        >>> cfg.precision.digits
        4
    """

    precision: Precision = field(default_factory=lambda: Precision.named("int8"))
    encoding: str = "booth4"
    stats: DigitStats | None = None
    zero_skipping: bool = True
    opt1_carry_save: bool = False
    opt2_shared_encoding: bool = False
    opt3_temporal: bool = False
    opt4_column_encoder: bool = False
    # With opt3: walk the non-zero terms of *both* operands, one term pair per cycle (Laconic, Sharify et al.
    # ISCA 2019), instead of one operand's digits against the other's full value. Both follow ``stats``.
    term_pairs: bool = False

    def digit_stats(self) -> DigitStats:
        if self.stats is not None:
            return self.stats
        return DigitStats.from_distribution("uniform", bits=self.precision.enc_bits, encoding=self.encoding)

    @property
    def options(self) -> tuple[str, ...]:
        names = ("opt1_carry_save", "opt2_shared_encoding", "opt3_temporal", "opt4_column_encoder")
        return tuple(n for n in names if getattr(self, n))


def __getattr__(name: str) -> Any:
    # The MAC cost model moved to mac.py; old imports from this module keep working.
    if name in ("MacCost", "mac_cost", "multiplier_cost"):
        from hwnas.latency_models.tpe import mac

        return getattr(mac, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
