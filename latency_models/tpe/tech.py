"""The technology table: per-operation energies and areas with their sources (shipped as ``tech_45nm.json``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from hwnas.api.errors import UserError

_DEFAULT = Path(__file__).with_name("tech_45nm.json")
# Shipped tables by name: tech_<name>.json beside this file.
NAMES = ("45nm", "28nm", "saed32")


def _interp_loglog(table: dict[float, float], x: float) -> float:
    # Piecewise log-log interpolation, extrapolating with the end slopes: SRAM energy grows ~ sqrt(size).
    pts = sorted(table.items())
    if len(pts) == 1:
        return pts[0][1]
    lx = math.log(max(x, 1e-9))
    for i in range(len(pts) - 1):
        (x0, y0), (x1, y1) = pts[i], pts[i + 1]
        if lx <= math.log(x1) or i == len(pts) - 2:
            t = (lx - math.log(x0)) / (math.log(x1) - math.log(x0))
            return math.exp(math.log(y0) + t * (math.log(y1) - math.log(y0)))
    return pts[-1][1]


@dataclass(frozen=True)
class TechTable:
    """Energies (pJ), areas (um^2) and leakage (mW/mm^2) of one technology node, with their sources.

    Example:
        >>> tech = TechTable.default()
        >>> round(tech.sram_pj_per_bit(32.0), 4)   # 32 KB SRAM, Horowitz ISSCC'14: 20 pJ per 64 bits
        0.3125
    """

    name: str
    arith: dict[str, Any]
    register: dict[str, Any]
    sram: dict[str, Any]
    dram: dict[str, Any]
    leakage: dict[str, Any]
    clock_mhz: float = 1000.0
    sources: dict[str, str] = field(default_factory=dict)
    fa_delay_ps: float | None = None  # one full-adder delay, for absolute clocks (Engine.max_clock_mhz)

    @staticmethod
    def default() -> TechTable:
        """The shipped 45 nm table (Horowitz ISSCC'14 energies, Eyeriss/Accelergy hierarchy)."""
        return _load(str(_DEFAULT))

    @staticmethod
    def named(name: str) -> TechTable:
        """A shipped table by name: ``45nm`` (the default), ``28nm`` or ``saed32``.

        Example:
            >>> TechTable.named("saed32").reg_um2_per_bit   # SAED32 synthesis report of the paper's MAC PE
            6.95
        """
        key = name.lower().removeprefix("tech_").removesuffix(".json")
        if key not in NAMES:
            raise UserError(f"unknown technology table {name!r}; shipped: {', '.join(NAMES)} (or TechTable.load(path))")
        return _load(str(_DEFAULT.with_name(f"tech_{key}.json")))

    @staticmethod
    def resolve(tech: TechTable | str | None) -> TechTable:
        """``None`` (the default table), a shipped table's name, or a table."""
        if tech is None:
            return TechTable.default()
        return TechTable.named(tech) if isinstance(tech, str) else tech

    @staticmethod
    def load(path: str | Path) -> TechTable:
        """Load a table with the same keys as ``tech_45nm.json``; bad files raise a UserError."""
        return _load(str(path))

    def op(self, table: str, bits: int) -> float:
        """Look up ``arith[table][bits]`` (e.g. ``op('int_mult_pj', 8)``), interpolating log-log between widths."""
        entries = {float(k): float(v) for k, v in self.arith[table].items()}
        return _interp_loglog(entries, float(bits))

    def sram_pj_per_bit(self, size_kb: float, *, write: bool = False) -> float:
        """Energy of one bit read (or written) from an SRAM of ``size_kb`` kilobytes."""
        entries = {float(k): float(v) / 64.0 for k, v in self.sram["read_pj_per_64b"].items()}
        e = _interp_loglog(entries, max(size_kb, 0.5))
        return e * (float(self.sram.get("write_factor", 1.0)) if write else 1.0)

    def sram_area_um2(self, size_kb: float) -> float:
        return size_kb * 1024 * 8 * float(self.sram["area_um2_per_bit"])

    @property
    def dram_pj_per_bit(self) -> float:
        lo_hi = self.dram["pj_per_64b"]
        vals = lo_hi if isinstance(lo_hi, list) else [lo_hi]
        return sum(float(v) for v in vals) / len(vals) / 64.0

    @property
    def reg_pj_per_bit(self) -> float:
        return float(self.register["energy_pj_per_bit"])

    @property
    def reg_um2_per_bit(self) -> float:
        return float(self.register["area_um2_per_bit"])


@lru_cache(maxsize=8)
def _load(path: str) -> TechTable:
    try:
        raw = json.loads(Path(path).read_text())
        return TechTable(name=str(raw["name"]), arith=raw["arith"], register=raw["register"], sram=raw["sram"],
                         dram=raw["dram"], leakage=raw["leakage"], clock_mhz=float(raw.get("clock_mhz", 1000.0)),
                         sources=dict(raw.get("sources", {})),
                         fa_delay_ps=float(raw["fa_delay_ps"]["value"]) if "fa_delay_ps" in raw else None)
    except FileNotFoundError as e:
        raise UserError(f"technology table not found: {path}") from e
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"bad technology table {path}: {e!r} (see tech_45nm.json for the expected keys)") from e
