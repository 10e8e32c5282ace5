"""Reading SCALE-Sim topology CSV files (conv and GEMM forms) into GEMMs.

Conv rows: ``name, ifmap h, ifmap w, filter h, filter w, channels, num filters, stride[, N:M sparsity],``.
GEMM rows: ``name, M, N, K,``. The first line is a header. As in SCALE-Sim, a conv row whose name contains
``DP`` is depthwise, run as ``channels`` separate one-channel layers named ``<name>Channel_<i>``;
``expand_dp=True`` (the SCALE-Sim-compatible view) yields those layers one by one, otherwise one grouped GEMM.

What ``Num Filter`` means on a DP row (``dp_num_filter``) is where this reader departs from SCALE-Sim 3.0 on
purpose:

- ``"total"`` (default, both modes): it is the layer's filters in all, ``channels x multiplier``, as a
  standard conv row's ``Num Filter`` is its output channels. A depthwise conv with multiplier 1 (``Num Filter``
  = ``channels``) is priced as ``channels`` single-channel, single-filter layers. ``Num Filter`` = 1 (how
  SCALE-Sim's own MobileNet topology writes depthwise rows) also means one filter per channel; any other value
  must be a multiple of ``channels``.
- ``"per_channel"``: SCALE-Sim 3.0's code (``scalesim/topology_utils.py``, ``load_arrays_conv``: each DP row
  becomes ``channels`` layers with ``Channels`` set to 1 and ``Num Filter`` kept) gives *every* channel
  ``Num Filter`` filters, so a row with ``Num Filter`` = C is priced as C x C filters, C times a depthwise
  conv's work in the filter dimension (checked by running SCALE-Sim 3.0.0: ``DP, 9, 9, 3, 3, 4, 4, 1`` gives four
  ``Channel_i`` layers of 36 filter reads each, against 9 with ``Num Filter`` = 1). Choose it to reproduce
  SCALE-Sim's numbers for such files exactly.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from hwnas.api.errors import UserError
from hwnas.api.files import read_text
from hwnas.latency_models.tpe.lowering import Gemm, conv_gemm


class TopologyError(UserError):
    """A topology file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class TopologyLayer:
    """One layer of a topology file: its GEMM and, for conv rows, the row's conv geometry."""

    name: str
    gemm: Gemm
    conv: tuple[int, int, int, int, int, int, int] | None = None  # h, w, kh, kw, c, f, stride
    depthwise: bool = False


def _fields(line: str) -> list[str]:
    out = [x.strip() for x in line.split(",")]
    while out and out[-1] == "":
        out.pop()
    return out


def detect_input_type(path: str | Path) -> str:
    """``gemm`` when the header names M, N, K or has at most five fields (GEMM rows: name, M, N, K[, N:M]),
    else ``conv``."""
    lines = [ln for ln in read_text(path, what="topology file").splitlines() if ln.strip()]
    if not lines:
        raise TopologyError(f"{path}: empty topology file")
    head = [h.lower() for h in _fields(lines[0])]
    if len(head) >= 4 and head[1:4] == ["m", "n", "k"]:
        return "gemm"
    return "gemm" if 4 <= len(head) <= 5 else "conv"


DP_NUM_FILTER = ("total", "per_channel")


def dp_filters_per_channel(channels: int, num_filter: int, dp_num_filter: str = "total", *, where: str = "") -> int:
    """Filters each channel of a depthwise (DP) row gets; see the module docstring.

    Example:
        >>> dp_filters_per_channel(32, 32), dp_filters_per_channel(32, 1), dp_filters_per_channel(32, 64)
        (1, 1, 2)
        >>> dp_filters_per_channel(32, 32, "per_channel")   # SCALE-Sim 3.0's reading
        32
    """
    if dp_num_filter not in DP_NUM_FILTER:
        raise TopologyError(f"unknown dp_num_filter {dp_num_filter!r}; use {' or '.join(DP_NUM_FILTER)}")
    if dp_num_filter == "per_channel" or num_filter == 1:
        return num_filter
    if num_filter % channels:
        raise TopologyError(f"{where or 'DP row'}: a depthwise row's Num Filter ({num_filter}) counts the layer's "
                            f"filters in all, so it must be Channels ({channels}) times the depth multiplier, or 1; "
                            f"for SCALE-Sim 3.0's reading (Num Filter filters per channel) use "
                            f"dp_num_filter='per_channel' (hwnas tpe --dp-num-filter per_channel)")
    return num_filter // channels


def read_topology(path: str | Path, *, input_type: str = "auto", scalesim: bool = False,
                  expand_dp: bool | None = None, bits: int = 8, dp_num_filter: str = "total") -> list[TopologyLayer]:
    """Parse a SCALE-Sim topology file.

    ``scalesim=True`` uses SCALE-Sim's output size ``ceil((H - R + S) / S)`` (PyTorch's otherwise, no
    padding) and, unless ``expand_dp`` says otherwise, expands DP rows per channel as SCALE-Sim does.
    ``dp_num_filter`` says how a DP row's ``Num Filter`` is read (module docstring): ``"total"`` (a depthwise
    conv with ``Num Filter`` = channels has one filter per channel) or ``"per_channel"`` (SCALE-Sim 3.0's code).

    Example:
        >>> import tempfile, os
        >>> f = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
        >>> _ = f.write("Layer, IFMAP H, IFMAP W, Filt H, Filt W, Ch, Num Filt, Stride,\\nc1, 8, 8, 3, 3, 4, 16, 2,\\n")
        >>> f.close()
        >>> [(l.gemm.m, l.gemm.n, l.gemm.k) for l in read_topology(f.name, scalesim=True)]
        [(16, 16, 36)]
        >>> os.unlink(f.name)
    """
    p = Path(path)
    if not p.is_file():
        raise TopologyError(f"topology file not found: {p}")
    text = read_text(p, what="topology file")
    kind = detect_input_type(p) if input_type == "auto" else input_type
    if kind not in ("conv", "gemm"):
        raise TopologyError(f"unknown topology input type {input_type!r}; use conv, gemm or auto")
    expand = scalesim if expand_dp is None else expand_dp
    out: list[TopologyLayer] = []
    rows = list(csv.reader(text.splitlines()))
    for lineno, raw in enumerate(rows[1:], start=2):
        f = [x.strip() for x in raw]
        while f and f[-1] == "":
            f.pop()
        if not f:
            continue
        where = f"{p}:{lineno}"
        name = f[0]
        if kind == "gemm":
            if len(f) < 4:
                raise TopologyError(f"{where}: a GEMM row needs name, M, N, K; got {len(f)} fields")
            m, n, k = (_int(x, where) for x in f[1:4])
            if min(m, n, k) < 1:
                raise TopologyError(f"{where}: M, N, K must be positive, got {m}, {n}, {k}")
            out.append(TopologyLayer(name, Gemm(m=m, n=n, k=k, name=name, ifmap_elems=m * k, bits_a=bits,
                                                bits_w=bits)))
            continue
        if len(f) < 8:
            raise TopologyError(f"{where}: a conv row needs name, ifmap h, ifmap w, filter h, filter w, channels, "
                                f"num filters, stride; got {len(f)} fields")
        h, w, kh, kw, c, nf, s = (_int(x, where) for x in f[1:8])
        if min(h, w, kh, kw, c, nf, s) < 1:
            raise TopologyError(f"{where}: sizes and stride must be positive")
        if kh > h or kw > w:
            raise TopologyError(f"{where}: filter {kh}x{kw} is larger than the ifmap {h}x{w}")
        geo = (h, w, kh, kw, c, nf, s)
        if "DP" in name:
            per = dp_filters_per_channel(c, nf, dp_num_filter, where=where)
            if expand:
                for ch in range(c):
                    nm = f"{name}Channel_{ch}"
                    g = conv_gemm(h=h, w=w, kh=kh, kw=kw, c_in=1, c_out=per, stride=(s, s), scalesim=scalesim,
                                  name=nm, bits_a=bits, bits_w=bits)
                    out.append(TopologyLayer(nm, g, geo, True))
            else:
                g = conv_gemm(h=h, w=w, kh=kh, kw=kw, c_in=c, c_out=per * c, stride=(s, s), groups=c,
                              scalesim=scalesim, name=name, bits_a=bits, bits_w=bits)
                out.append(TopologyLayer(name, g, geo, True))
        else:
            g = conv_gemm(h=h, w=w, kh=kh, kw=kw, c_in=c, c_out=nf, stride=(s, s), scalesim=scalesim, name=name,
                          bits_a=bits, bits_w=bits)
            out.append(TopologyLayer(name, g, geo))
    if not out:
        raise TopologyError(f"{p}: no layers (the first line is the header; rows follow it)")
    return out


def _int(x: str, where: str) -> int:
    try:
        return int(x)
    except ValueError:
        try:
            v = float(x)
        except ValueError:
            raise TopologyError(f"{where}: {x!r} is not a number") from None
        if not math.isfinite(v):
            raise TopologyError(f"{where}: {x!r} is not a finite number; sizes are whole numbers >= 1")
        if v != int(v):
            raise TopologyError(f"{where}: {x!r} is not an integer") from None
        return int(v)
