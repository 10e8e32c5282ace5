"""Results of pricing one layer or a whole network on a TPE. Units are in the field names."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ENERGY_KEYS = ("mac", "register", "sram", "dram", "leakage")


@dataclass(slots=True)
class LayerResult:
    """One layer (a possibly repeated GEMM) on one engine.

    Utilizations follow SCALE-Sim's definitions: ``overall_util_pct`` = useful MACs / (PEs x cycles);
    ``mapping_eff_pct`` = mean over folds of the PEs a fold maps; ``compute_util_pct`` = mean over folds of
    useful MACs / (PEs x fold cycles, fill and drain included).
    """

    name: str
    engine: str
    m: int
    n: int
    k: int
    repeat: int
    macs: int
    compute_cycles: int
    overall_util_pct: float
    mapping_eff_pct: float
    compute_util_pct: float
    sram_ifmap_reads: int
    sram_filter_reads: int
    sram_ofmap_writes: int
    sram_ofmap_reads: int = 0
    dram_ifmap_reads: int = 0
    dram_filter_reads: int = 0
    dram_ofmap_writes: int = 0
    dram_ofmap_reads: int = 0
    stall_cycles: int = 0
    total_cycles: int = 0
    freq_mhz: float = 1000.0
    energy_pj: dict[str, float] = field(default_factory=dict)
    folds: int = 0

    @property
    def energy_total_pj(self) -> float:
        return float(sum(self.energy_pj.values()))

    @property
    def latency_ms(self) -> float:
        return (self.total_cycles or self.compute_cycles) / (self.freq_mhz * 1e3)

    @property
    def energy_mj(self) -> float:
        return self.energy_total_pj * 1e-9

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["energy_pj"] = dict(self.energy_pj)
        d["energy_total_pj"] = self.energy_total_pj
        d["latency_ms"] = self.latency_ms
        d["energy_mj"] = self.energy_mj
        return d


@dataclass
class NetworkResult:
    """A network: the layers plus totals (cycles add up; layers run one after another)."""

    engine: str
    layers: list[LayerResult]
    area_mm2: float
    area_breakdown_mm2: dict[str, float]
    n_pe: int = 1

    @property
    def compute_cycles(self) -> int:
        return sum(r.compute_cycles for r in self.layers)

    @property
    def total_cycles(self) -> int:
        return sum(r.total_cycles or r.compute_cycles for r in self.layers)

    @property
    def latency_ms(self) -> float:
        return sum(r.latency_ms for r in self.layers)

    @property
    def macs(self) -> int:
        return sum(r.macs for r in self.layers)

    @property
    def energy_pj(self) -> dict[str, float]:
        out = dict.fromkeys(ENERGY_KEYS, 0.0)
        for r in self.layers:
            for k, v in r.energy_pj.items():
                out[k] = out.get(k, 0.0) + v
        return out

    @property
    def energy_mj(self) -> float:
        return sum(self.energy_pj.values()) * 1e-9

    @property
    def overall_util_pct(self) -> float:
        """Useful MACs / (PEs x all compute cycles) over the whole network."""
        return 100.0 * self.macs / (self.n_pe * self.compute_cycles) if self.compute_cycles else 0.0

    def summary(self) -> dict[str, Any]:
        """Totals as a flat dict: cycles, latency (ms), energy (mJ) and its breakdown (pJ), area (mm^2)."""
        return {"engine": self.engine, "layers": len(self.layers), "macs": self.macs,
                "compute_cycles": self.compute_cycles, "total_cycles": self.total_cycles,
                "overall_util_pct": self.overall_util_pct, "latency_ms": self.latency_ms,
                "energy_mj": self.energy_mj, "energy_pj": self.energy_pj,
                "area_mm2": self.area_mm2, "area_breakdown_mm2": dict(self.area_breakdown_mm2)}
