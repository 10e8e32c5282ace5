"""Lowering a conv / linear OpSpec to GEMMs: ``(M, N, K)`` = (output pixels, output channels per group,
input window per group), repeated once per group (depthwise: one GEMM with N = multiplier per channel)."""

from __future__ import annotations

from dataclasses import dataclass

from hwnas.api.errors import UserError
from hwnas.api.opspec import OpSpec


@dataclass(frozen=True)
class Gemm:
    """``repeat`` independent GEMMs of ``(M x K) @ (K x N)``; conv geometry kept for DRAM/SRAM accounting.

    ``ifmap_elems`` is the number of distinct input elements one repeat reads (the im2col matrix holds
    ``M * K`` entries but a conv reuses each input pixel up to kh*kw times).
    """

    m: int
    n: int
    k: int
    repeat: int = 1
    name: str = ""
    ifmap_elems: int = 0
    bits_a: int = 8
    bits_w: int = 8

    @property
    def macs(self) -> int:
        return self.m * self.n * self.k * self.repeat

    @property
    def unique_ifmap(self) -> int:
        return self.ifmap_elems or self.m * self.k


def conv_out_size(size: int, kernel: int, stride: int, padding: int = 0, dilation: int = 1, *,
                  scalesim: bool = False) -> int:
    """Output length of a conv along one axis.

    PyTorch: ``floor((size + 2p - d(k-1) - 1) / s) + 1``. SCALE-Sim (no padding, no dilation):
    ``ceil((size - k + s) / s)``, which is one larger when ``(size - k) % s != 0``.

    Example:
        >>> conv_out_size(8, 3, 2), conv_out_size(8, 3, 2, scalesim=True)
        (3, 4)
    """
    if scalesim:
        return -(-(size - kernel + stride) // stride)
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _used_extent(size: int, out: int, kernel: int, stride: int) -> int:
    # Input rows touched by ``out`` windows of ``kernel`` at ``stride``, clipped to the input (SCALE-Sim's
    # ceil-mode output can place the last window partly or wholly outside it).
    if out <= 0:
        return 0
    if stride <= kernel:
        return min(size, (out - 1) * stride + kernel)
    return sum(max(0, min(kernel, size - o * stride)) for o in range(out))


def conv_gemm(*, h: int, w: int, kh: int, kw: int, c_in: int, c_out: int, stride: tuple[int, int] = (1, 1),
              padding: tuple[int, int] = (0, 0), dilation: tuple[int, int] = (1, 1), groups: int = 1, batch: int = 1,
              h_out: int | None = None, w_out: int | None = None, scalesim: bool = False, name: str = "",
              bits_a: int = 8, bits_w: int = 8) -> Gemm:
    """Lower one conv to a (repeated) GEMM. ``h_out``/``w_out`` override the computed output size."""
    if min(h, w, kh, kw, c_in, c_out, groups, batch) < 1 or min(stride) < 1:
        raise UserError(f"conv {name or '?'}: sizes must be positive (h={h}, w={w}, k={kh}x{kw}, c={c_in}->{c_out})")
    if c_in % groups or c_out % groups:
        raise UserError(f"conv {name or '?'}: channels {c_in}->{c_out} not divisible by groups={groups}")
    eh = h_out if h_out is not None else conv_out_size(h, kh, stride[0], padding[0], dilation[0], scalesim=scalesim)
    ew = w_out if w_out is not None else conv_out_size(w, kw, stride[1], padding[1], dilation[1], scalesim=scalesim)
    if eh < 1 or ew < 1:
        raise UserError(f"conv {name or '?'}: a {kh}x{kw} filter does not fit a {h}x{w} input")
    cin_g, cout_g = c_in // groups, c_out // groups
    uh = _used_extent(h + 2 * padding[0], eh, (kh - 1) * dilation[0] + 1, stride[0])
    uw = _used_extent(w + 2 * padding[1], ew, (kw - 1) * dilation[1] + 1, stride[1])
    uniq = min(uh, h) * min(uw, w) * cin_g * batch
    return Gemm(m=eh * ew * batch, n=cout_g, k=kh * kw * cin_g, repeat=groups, name=name, ifmap_elems=uniq,
                bits_a=bits_a, bits_w=bits_w)


def lower_opspec(spec: OpSpec, *, scalesim: bool = False) -> Gemm | None:
    """The GEMM of a conv or linear OpSpec (``None`` for ops without MACs: pool, norm, eltwise, ...).

    Example:
        >>> g = lower_opspec(OpSpec("conv", 32, 32, 16, 16, 16, 16, (3, 3), padding=(1, 1), groups=32))
        >>> (g.m, g.n, g.k, g.repeat)
        (256, 1, 9, 32)
    """
    if spec.kind == "conv":
        # Output sizes come from the traced tensors, so padding/dilation/ceil modes are already right.
        if scalesim:
            # SCALE-Sim knows no padding or dilation: its topology rows carry the padded input and the
            # dilated filter extent.
            kh, kw = ((k - 1) * d + 1 for k, d in zip(spec.kernel, spec.dilation))
            return conv_gemm(h=spec.h_in + 2 * spec.padding[0], w=spec.w_in + 2 * spec.padding[1], kh=kh, kw=kw,
                             c_in=spec.c_in, c_out=spec.c_out, stride=spec.stride, groups=spec.groups,
                             batch=spec.batch, scalesim=True, name=spec.name, bits_a=spec.bits_a, bits_w=spec.bits_w)
        return conv_gemm(h=spec.h_in, w=spec.w_in, kh=spec.kernel[0], kw=spec.kernel[1], c_in=spec.c_in,
                         c_out=spec.c_out, stride=spec.stride, padding=spec.padding, dilation=spec.dilation,
                         groups=spec.groups, batch=spec.batch, h_out=spec.h_out, w_out=spec.w_out, name=spec.name,
                         bits_a=spec.bits_a, bits_w=spec.bits_w)
    if spec.kind == "linear":
        rows = int(spec.extra.get("rows", 1)) * spec.batch
        return Gemm(m=rows, n=spec.c_out, k=spec.c_in, name=spec.name, ifmap_elems=rows * spec.c_in,
                    bits_a=spec.bits_a, bits_w=spec.bits_w)
    return None
