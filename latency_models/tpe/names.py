"""Engines from short target names, e.g. ``systolic-32x32-ws-int8`` (used by ``tpe:`` targets).

Grammar: ``<kind>-<dims>[-<dataflow>][-<precision>][-<option>...]`` with

- kind/dims: ``systolic-RxC``, ``cube-XxYxZ``, ``tree-KtxNt``, ``matrix-RxC``, ``bitserial-RxC``
- dataflow (systolic only, default ``ws``): ``os``, ``ws``, ``is``
- precision (default ``int8``): ``int4``, ``int8``, ``int16``, ``fp16``
- digit encoding (default ``booth4``): ``booth4``, ``ent`` (EN-T), ``binary``
- options: ``opt1`` .. ``opt4`` (the bit-weight optimisations), ``scalesim`` (SCALE-Sim 3.0 compatible
  systolic arithmetic), ``sramI.F.O`` (SRAM sizes in KB, e.g. ``sram64.64.32``), ``mhzF`` (clock).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from hwnas.api.errors import UserError
from hwnas.latency_models.tpe.bitweight import OPTION_TOKENS, BitWeightConfig, Precision
from hwnas.latency_models.tpe.engine import Engine
from hwnas.latency_models.tpe.engines import AdderTree, BitSerialColumn, Cube3D, Matrix2D
from hwnas.latency_models.tpe.systolic import DATAFLOWS, SystolicArray

_KINDS: dict[str, tuple[type[Engine], int]] = {
    "systolic": (SystolicArray, 2),
    "cube": (Cube3D, 3),
    "tree": (AdderTree, 2),
    "matrix": (Matrix2D, 2),
    "bitserial": (BitSerialColumn, 2),
}
_PRECISIONS = ("int4", "int8", "int16", "fp16")
_ENCODINGS = ("booth4", "ent", "binary")
_OPTS = OPTION_TOKENS

EXAMPLE_NAMES = ("systolic-32x32-ws-int8", "systolic-16x16-os-int8-scalesim", "cube-16x16x16-fp16",
                 "tree-32x16-int8-opt1-opt2", "matrix-32x32-int4", "bitserial-32x32-int8-opt1")


def _fail(name: str, why: str) -> UserError:
    return UserError(f"bad TPE name {name!r}: {why}. Expected <kind>-<dims>[-<dataflow>][-<precision>][-opt1..4]"
                     f", kinds: {', '.join(_KINDS)}; e.g. {', '.join(EXAMPLE_NAMES[:3])}")


def tpe_from_name(name: str, **kwargs: Any) -> Engine:
    """Build an engine from a target name; ``kwargs`` (e.g. ``sram_kb``, ``bitweight``, ``tech``) override.

    Example:
        >>> e = tpe_from_name("systolic-32x32-ws-int8")
        >>> e.name, e.n_pe
        ('systolic-32x32-ws-int8', 1024)
        >>> tpe_from_name("cube-8x8x16-fp16-opt1").bitweight.opt1_carry_save
        True
        >>> tpe_from_name("bitserial-16x16-int8-ent-opt1").bitweight.encoding
        'ent'
    """
    text = name.strip().lower()
    text = text[4:] if text.startswith("tpe:") else text  # the target form "tpe:<name>" is accepted too
    tokens = [t for t in text.split("-") if t]
    if len(tokens) < 2:
        raise _fail(name, "too short")
    kind = tokens[0]
    if kind not in _KINDS:
        raise _fail(name, f"unknown kind {kind!r}")
    cls, ndims = _KINDS[kind]
    if not re.fullmatch(r"\d+(x\d+)*", tokens[1]) or len(tokens[1].split("x")) != ndims:
        raise _fail(name, f"{kind} needs {ndims} dimensions like {'x'.join(['16'] * ndims)}, got {tokens[1]!r}")
    dims = [int(d) for d in tokens[1].split("x")]
    dataflow, precision, compat, encoding = "ws", "int8", False, None
    opts: dict[str, bool] = {}
    kw: dict[str, Any] = {}
    for tok in tokens[2:]:
        if tok in DATAFLOWS:
            if cls is not SystolicArray:
                raise _fail(name, f"dataflow {tok!r} only applies to systolic arrays")
            dataflow = tok
        elif tok in _PRECISIONS:
            precision = tok
        elif tok in _ENCODINGS:
            encoding = tok
        elif tok in _OPTS:
            opts[_OPTS[tok]] = True
        elif tok in ("scalesim", "compat"):
            if cls is not SystolicArray:
                raise _fail(name, "scalesim compatibility only applies to systolic arrays")
            compat = True
        elif m := re.fullmatch(r"sram(\d+(?:\.\d+)?)\.(\d+(?:\.\d+)?)\.(\d+(?:\.\d+)?)", tok):
            kw["sram_kb"] = tuple(float(x) for x in m.groups())
        elif m := re.fullmatch(r"mhz(\d+(?:\.\d+)?)", tok):
            kw["freq_mhz"] = float(m.group(1))
        else:
            raise _fail(name, f"unknown token {tok!r}")
    kw.update(kwargs)
    bw = kw.pop("bitweight", None) or BitWeightConfig(precision=Precision.named(precision))
    if opts:
        bw = replace(bw, **opts)
    if encoding is not None:
        bw = replace(bw, encoding=encoding)
    if cls is SystolicArray:
        return SystolicArray(dims[0], dims[1], dataflow, scalesim_compat=compat, bitweight=bw, **kw)
    if cls is BitSerialColumn:
        return BitSerialColumn(dims[0], dims[1], bitweight=bw, **kw)
    return cls(*dims, bitweight=bw, **kw)  # type: ignore[call-arg]
