"""Choose the hardware configuration for a selected network among those that meet the budgets: the one with the
lowest score (the search loss of the pair), or the most probable one under the hardware α."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from hwnas.api import ArchSpec, UserError
from hwnas.latency_models.hwspace.space import HardwareSpace
from hwnas.latency_models.hwspace.tables import HardwareTables


@dataclass(frozen=True)
class HardwareSelection:
    """The chosen configuration, its figures with the selected network and how many configurations met the budgets."""

    arch: ArchSpec
    index: int
    probability: float
    figures: dict[str, float]
    feasible: int


def _budget_error(figs: list[dict[str, float]], area_mm2: float | None, power_w: float | None) -> UserError:
    min_area = min(f["area_mm2"] for f in figs)
    min_power = min(f["power_w"] for f in figs)
    budgets = " and ".join(b for b in (f"area <= {area_mm2} mm²" if area_mm2 is not None else "",
                                        f"power <= {power_w} W" if power_w is not None else "") if b)
    return UserError(
        f"no hardware configuration meets the budget ({budgets}) with the selected network: the smallest area on "
        f"offer is {min_area:.4g} mm², the lowest power {min_power:.4g} W; raise hardware.area_mm2 / hardware.power_w "
        "or add smaller or slower engines to the hardware space")


def select_hardware(hardware: HardwareSpace, tables: HardwareTables, arch: ArchSpec, *, area_mm2: float | None = None,
                    power_w: float | None = None, scores: Sequence[float] | None = None) -> HardwareSelection:
    """The configuration for the selected network, attached to ``arch`` as its ``hardware`` section with the pair's
    figures as metrics: among those that meet the area and power budgets with it, the lowest of ``scores`` (one per
    configuration of ``hardware.configs``; ties go to the more probable) or, without scores, the most probable
    under the learned hardware α.

    Raises:
        UserError: no configuration meets the budgets (the message gives the smallest area and power on offer).

    Example:
        >>> import torch
        >>> from hwnas.search_spaces import NB201Space
        >>> from hwnas.latency_models.hwspace import TpeHardwareSpace
        >>> space = NB201Space(C=4, N=1)
        >>> hw = TpeHardwareSpace(kinds=("systolic",), dims={"systolic": ("8x8", "16x16")}, dataflows=("ws",),
        ...                       options=())
        >>> t = HardwareTables(hw, space, torch.zeros(1, 3, 8, 8))
        >>> arch = ArchSpec(space="nb201", choices={lb: "nor_conv_3x3" for lb in t.order})
        >>> sel = select_hardware(hw, t, arch, area_mm2=t.area_mm2[0] + 1e-6)
        >>> sel.arch.hardware.choices["dims/systolic"], sel.feasible
        ('8x8', 1)
    """
    figs = tables.arch_figures(arch)
    ok = [i for i, f in enumerate(figs)
          if (area_mm2 is None or f["area_mm2"] <= area_mm2) and (power_w is None or f["power_w"] <= power_w)]
    if not ok:
        raise _budget_error(figs, area_mm2, power_w)
    with torch.no_grad():
        p = hardware.config_probabilities().detach().cpu()
    if scores is not None and len(scores) != len(figs):
        raise ValueError(f"{len(scores)} scores for {len(figs)} hardware configurations")
    if scores is None:
        best = max(ok, key=lambda i: (float(p[i]), -i))
    else:
        best = min(ok, key=lambda i: (float(scores[i]), -float(p[i]), i))
    spec = hardware.spec(hardware.configs[best])
    metrics: dict[str, Any] = {f"hw/{k}": v for k, v in figs[best].items()}
    metrics["hw/engine"] = tables.engine_names[best]
    metrics["hw/probability"] = float(p[best])
    metrics["hw/feasible_configs"] = len(ok)
    metrics["hw/selected_by"] = "probable" if scores is None else "objective"
    if scores is not None:
        metrics["hw/objective"] = float(scores[best])
    out = ArchSpec(space=arch.space, choices=arch.choices, space_kwargs=arch.space_kwargs,
                   metrics={**arch.metrics, **metrics}, space_ref=arch.space_ref, hardware=spec)
    return HardwareSelection(out, best, float(p[best]), figs[best], len(ok))
