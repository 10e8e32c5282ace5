"""Per configuration of a hardware space, the lookup table of a network space's candidates on that engine.

``C_net(hw)`` for every configuration ``hw`` is ``fixed(hw) + Σ_label keep · Σ_candidate p(candidate) ·
cost(hw, label, candidate)``, the expected cost of :class:`hwnas.latency_models.LUTCost` evaluated for all
configurations at once (one ``[configs, candidates]`` matrix per label), so it stays differentiable in the
network's α and costs one small matrix product per label and step, not one table per configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from hwnas.api import ArchSpec, space_name
from hwnas.latency_models.hwspace.space import HardwareSpace
from hwnas.latency_models.lut.candidates import network_of, space_opspecs
from hwnas.latency_models.lut.table import LatencyLUT, lut_from_specs
from hwnas.latency_models.lut.weights import CandidateWeights

#: What a co-search cost term can ask for: expectations over the hardware distribution of the per-configuration
#: figures (power_w = energy_mj / latency_ms, in W; latency_x_energy in ms·mJ; latency_us and energy_uj are the
#: same figures in units where a small network's costs exceed 1, as the ``mul_log`` form needs).
HW_METRICS: tuple[str, ...] = ("latency_ms", "energy_mj", "area_mm2", "power_w", "latency_x_energy", "latency_us",
                               "energy_uj")
_NET_METRICS = ("latency_ms", "energy_mj")


def derived_figures(latency_ms: Any, energy_mj: Any, area_mm2: Any) -> dict[str, Any]:
    """Every figure of :data:`HW_METRICS` from latency, energy and area (floats, or tensors per configuration).

    Example:
        >>> derived_figures(2.0, 6.0, 0.5)["power_w"]   # mJ / ms = W
        3.0
    """
    safe = latency_ms.clamp_min(1e-12) if isinstance(latency_ms, torch.Tensor) else max(latency_ms, 1e-12)
    return {"latency_ms": latency_ms, "energy_mj": energy_mj, "area_mm2": area_mm2, "power_w": energy_mj / safe,
            "latency_x_energy": latency_ms * energy_mj, "latency_us": latency_ms * 1e3, "energy_uj": energy_mj * 1e3}


class HardwareTables:
    """The candidate costs of a network space on every configuration of a hardware space.

    Args:
        hardware: The hardware space (its configurations are priced once, here).
        space_or_supernet: The network space (or a supernet wrapping it).
        example_input: One input batch at the search's shape (the OpSpecs are traced at it).

    Example:
        >>> import torch
        >>> from hwnas.search_spaces import NB201Space
        >>> from hwnas.latency_models.hwspace import TpeHardwareSpace
        >>> hw = TpeHardwareSpace(kinds=("systolic",), dims={"systolic": ("8x8", "16x16")}, dataflows=("ws",),
        ...                       options=())
        >>> t = HardwareTables(hw, NB201Space(C=4, N=1), torch.zeros(1, 3, 8, 8))
        >>> len(t.luts), t.area_mm2[0] < t.area_mm2[1]
        (2, True)
    """

    def __init__(self, hardware: HardwareSpace, space_or_supernet: nn.Module, example_input: torch.Tensor) -> None:
        net = network_of(space_or_supernet)
        specs = space_opspecs(net, example_input.detach())
        self.configs = hardware.configs
        self.engine_names: list[str] = []
        self.luts: list[LatencyLUT] = []
        self.area_mm2: list[float] = []
        for _, engine in hardware.engines():
            self.luts.append(lut_from_specs(specs, engine, space=space_name(net)))
            self.engine_names.append(engine.name)
            self.area_mm2.append(float(engine.area_mm2))
        self.order = self.luts[0].check_space(net)
        self._cost = {m: {lb: [lut.vectors(m, self.order)[lb] for lut in self.luts] for lb in self.order}
                      for m in _NET_METRICS}
        self._fixed = {m: [float(lut.fixed[m]) for lut in self.luts] for m in _NET_METRICS}
        self._weights = CandidateWeights(net, self.order)
        self._cache: dict[tuple[torch.device, torch.dtype], dict[str, Any]] = {}

    def _tensors(self, device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
        # Built once per device and dtype: no host-to-device copies in the arch steps.
        key = (device, dtype)
        if key not in self._cache:
            def t(x: Any) -> torch.Tensor:
                return torch.tensor(x, device=device, dtype=dtype)

            self._cache[key] = {
                "cost": {m: {lb: t(c) for lb, c in per.items()} for m, per in self._cost.items()},
                "fixed": {m: t(v) for m, v in self._fixed.items()},
                "area": t(self.area_mm2),
            }
        return self._cache[key]

    def per_config(self, probabilities: Mapping[str, torch.Tensor],
                   input_weights: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Every metric of :data:`HW_METRICS` for each configuration, under the network's distribution."""
        ref = next(iter(probabilities.values()))
        dtype = ref.dtype if ref.is_floating_point() else torch.float32
        tens = self._tensors(ref.device, dtype)
        q = self._weights(probabilities, input_weights, dtype)
        out: dict[str, torch.Tensor] = {}
        for m in _NET_METRICS:
            total = tens["fixed"][m]
            for label, c in tens["cost"][m].items():
                total = total + c @ q[label]
            out[m] = total
        return derived_figures(out["latency_ms"], out["energy_mj"], tens["area"])

    def expected(self, probabilities: Mapping[str, torch.Tensor], input_weights: Mapping[str, torch.Tensor] | None,
                 config_probabilities: torch.Tensor) -> dict[str, torch.Tensor]:
        """E_hw[metric(net, hw)] for every metric: differentiable in the network's and the hardware's α."""
        per = self.per_config(probabilities, input_weights)
        p = config_probabilities.to(per["latency_ms"].dtype)
        return {m: (p * v).sum() for m, v in per.items()}

    def arch_figures(self, arch: ArchSpec | Mapping[str, Any]) -> list[dict[str, float]]:
        """Per configuration, the figures of one fixed network (its chosen candidates only)."""
        out = []
        for lut, area in zip(self.luts, self.area_mm2):
            c = lut.cost(arch)
            out.append(derived_figures(c["latency_ms"], c["energy_mj"], area))
        return out
