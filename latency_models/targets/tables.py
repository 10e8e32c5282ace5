"""Hardware targets of the search loss from lookup tables: ``tpe:<engine>``, ``lut:PATH``, ``measured:cpu|cuda``.

Each target kind is registered in :data:`hwnas.api.COST_MODELS` where its class is defined and follows
:class:`hwnas.api.CostModel`: ``model(target, metric=..., supernet=..., example_input=...) -> cost_fn`` and
``model.report(target, arch=..., network=..., input_size=...) -> dict``.

- ``tpe:<engine name>`` (e.g. ``tpe:systolic-32x32-ws-int8``): a table priced by the analytical engine over
  the space's per-candidate OpSpecs at the search's input shape; metrics ``latency_ms``, ``energy_mj``,
  ``cycles``. ``report`` prices the frozen network's OpSpecs directly (cycles, utilization, energy breakdown).
- ``lut:PATH``: a table from a file (``hwnas profile``); its metrics.
- ``measured:cpu`` / ``measured:cuda[:N]``: the space is profiled on this machine when the search starts
  (cached as JSON in ``$HWNAS_LUT_CACHE`` or ``<tmp>/hwnas-luts``, and kept with the run in
  ``<run>/luts/`` so the run records the table it searched with and a resume reuses it); ``latency_ms``.
  ``report`` times the network.

The expected cost under the supernet's distribution (differentiable in α, and in PC-DARTS's β) is

    C = fixed + Σ_label keep(label) · Σ_candidate p(candidate) · cost(label, candidate)

with ``p = supernet.probabilities()[label]`` (softmax(α) for DARTS, PC-DARTS, GDAS and ProxylessNAS;
for ProxylessNAS this is the paper's expected-latency term, not the binary gates). ``keep`` and the
renormalisation of ``p`` on DARTS edges (``w = supernet.input_weights()``: all ones for DARTS, softmax(β) for
PC-DARTS) are :mod:`hwnas.latency_models.lut.weights`'s rule, shared with co-search's tables.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hwnas.api import ArchSpec, UserError, collect_opspecs, cost_model
from hwnas.latency_models.lut.candidates import network_of, require_pricing_inputs, trace_places
from hwnas.latency_models.lut.profiling import device_info, profile_lut, profiling_device, time_module
from hwnas.latency_models.lut.table import METRIC_ALIASES, TPE_METRICS, LatencyLUT, LUTError, lut_from_tpe
from hwnas.latency_models.lut.weights import CandidateWeights
from hwnas.latency_models.tpe import EXAMPLE_NAMES, tpe_from_name


def _metric(target: str, metric: str, allowed: tuple[str, ...]) -> str:
    m = METRIC_ALIASES.get(metric, metric)
    if m not in allowed:
        raise UserError(f"target {target!r} gives {', '.join(allowed)}, not {metric!r}")
    return m


class LUTCost:
    """``cost_fn(supernet) -> (expected cost, details)`` from a lookup table; see the module docstring.

    Example:
        >>> import torch
        >>> from hwnas.api import SUPERNETS
        >>> from hwnas.search_spaces import NB201Space
        >>> from hwnas.latency_models.tpe import tpe_from_name
        >>> from hwnas.latency_models.lut.table import lut_from_tpe
        >>> net = SUPERNETS.get("darts")(NB201Space(C=4, N=1))
        >>> lut = lut_from_tpe(net, tpe_from_name("systolic-16x16-ws-int8"), torch.zeros(1, 3, 8, 8))
        >>> cost, details = LUTCost(lut, metric="cycles", supernet=net)(net)
        >>> cost.backward(); net.alpha_of("1<-0").grad.abs().sum() > 0
        tensor(True)
    """

    def __init__(self, lut: LatencyLUT, *, metric: str = "latency_ms", target: str = "",
                 supernet: Any | None = None) -> None:
        self.lut = lut
        self.metric = _metric(target or "lut", metric, lut.metrics)
        self.target = target or lut.target
        self._bound = False
        if supernet is not None:
            self._bind(supernet)

    def _bind(self, supernet: Any) -> None:
        space = network_of(supernet)
        order = self.lut.check_space(space)
        self._costs = self.lut.vectors(self.metric, order)
        self._weights = CandidateWeights(space, order)
        self._cache: dict[tuple[torch.device, torch.dtype], dict[str, torch.Tensor]] = {}
        self._bound = True

    def _tensors(self, device: torch.device, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        # Built once per device and dtype: no host-to-device copies in the search's arch steps.
        key = (device, dtype)
        if key not in self._cache:
            self._cache[key] = {lb: torch.tensor(c, device=device, dtype=dtype) for lb, c in self._costs.items()}
        return self._cache[key]

    def expected(self, probabilities: Mapping[str, torch.Tensor],
                 input_weights: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        """The expected cost (see the module docstring) for given probabilities; differentiable in them."""
        if not self._bound:
            raise RuntimeError("LUTCost.expected needs a bound space: build it with supernet=... or call it once")
        ref = next(iter(probabilities.values()))
        dtype = ref.dtype if ref.is_floating_point() else torch.float32
        costs = self._tensors(ref.device, dtype)
        total = torch.tensor(float(self.lut.fixed[self.metric]), device=ref.device, dtype=dtype)
        q = self._weights(probabilities, input_weights, dtype)
        for label, c in costs.items():
            total = total + (q[label] * c).sum()
        return total

    def __call__(self, supernet: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        if not self._bound:
            self._bind(supernet)
        iw = supernet.input_weights() if callable(getattr(supernet, "input_weights", None)) else {}
        cost = self.expected(supernet.probabilities(), iw)
        return cost, {self.metric: float(cost.detach()), "target": self.target}


class _Target:
    """Base of the table-backed target kinds (what ``hwnas targets`` lists comes from these attributes)."""

    form = ""
    metrics: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    description = ""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.__name__ = f"{kind}_target"


@cost_model("tpe")
class TpeTarget(_Target):
    """``tpe:<engine name>``: an analytical tensor-processing-engine model (``hwnas tpe``)."""

    form = "tpe:ENGINE"
    metrics = TPE_METRICS
    examples = tuple(f"tpe:{n}" for n in EXAMPLE_NAMES)
    description = ("analytical tensor-processing engine (systolic os/ws/is, 3D-Cube, adder tree, 2D-matrix, "
                   "bit-serial; bit widths and the bit-weight options in the name)")

    @staticmethod
    def engine(target: str) -> Any:
        name = target.partition(":")[2]
        if not name:
            raise UserError(f"target {target!r} needs an engine name, e.g. {', '.join(TpeTarget.examples[:2])}")
        return tpe_from_name(name)

    def __call__(self, target: str, *, metric: str = "latency_ms", supernet: Any | None = None,
                 example_input: torch.Tensor | None = None, **_: Any) -> LUTCost:
        metric = _metric(target, metric, self.metrics)
        require_pricing_inputs(target, supernet, example_input)
        lut = lut_from_tpe(supernet, self.engine(target), example_input)
        lut.target = target
        return LUTCost(lut, metric=metric, target=target, supernet=supernet)

    def report(self, target: str, *, arch: ArchSpec, network: nn.Module | None = None,
               input_size: tuple[int, ...] | None = None) -> dict[str, Any]:
        if network is None or input_size is None:
            raise UserError(f"target {target!r} prices a built network: give the network and its input size")
        engine = self.engine(target)
        specs = collect_opspecs(network, torch.zeros(1, *input_size, device=_device_of(network)))
        res = engine.evaluate_network(specs)
        return {"target": target, "engine": engine.name, "latency_ms": res.latency_ms, "energy_mj": res.energy_mj,
                "cycles": res.total_cycles, "compute_cycles": res.compute_cycles,
                "utilization_pct": res.overall_util_pct, "energy_breakdown_pj": res.energy_pj,
                "macs": res.macs, "layers": len(res.layers), "area_mm2": res.area_mm2,
                "freq_mhz": engine.freq_mhz, "batch": 1}


@cost_model("lut")
class LutTarget(_Target):
    """``lut:PATH``: a lookup table from a file (``hwnas profile ... --out PATH``)."""

    form = "lut:PATH"
    metrics = ("latency_ms", "energy_mj", "cycles")
    examples = ("lut:runs/nb201_cpu_lut.json",)
    description = "lookup table file written by `hwnas profile` (metrics: those the file has)"

    @staticmethod
    def load(target: str) -> LatencyLUT:
        path = target.partition(":")[2]
        if not path:
            raise UserError(f"target {target!r} needs a path: lut:PATH (build one with hwnas profile)")
        return LatencyLUT.load(path)

    def __call__(self, target: str, *, metric: str = "latency_ms", supernet: Any | None = None,
                 example_input: torch.Tensor | None = None, **_: Any) -> LUTCost:
        lut = self.load(target)
        if supernet is None:
            raise UserError(f"target {target!r} needs the supernet to align its candidates")
        if example_input is not None and lut.input_size and tuple(example_input.shape[1:]) != lut.input_size:
            warnings.warn(f"lookup table {target!r} was built for input {list(lut.input_size)} but the search runs "
                          f"at {list(example_input.shape[1:])}: its costs are those of the table's input size",
                          stacklevel=2)
        return LUTCost(lut, metric=metric, target=target, supernet=supernet)

    def report(self, target: str, *, arch: ArchSpec, network: nn.Module | None = None,
               input_size: tuple[int, ...] | None = None) -> dict[str, Any]:
        lut = self.load(target)
        out: dict[str, Any] = {"target": target}
        out.update(lut.cost(arch))
        out.update({"lut_space_kwargs": lut.space_kwargs, "lut_input_size": list(lut.input_size),
                    "lut_target": lut.target})
        return out


def _device_of(module: nn.Module) -> torch.device:
    p = next(iter(module.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def cache_dir() -> Path:
    """Where ``measured:`` targets keep their tables: ``$HWNAS_LUT_CACHE`` or ``<tmp>/hwnas-luts``."""
    return Path(os.environ.get("HWNAS_LUT_CACHE") or Path(tempfile.gettempdir()) / "hwnas-luts")


@cost_model("measured")
class MeasuredTarget(_Target):
    """``measured:cpu`` / ``measured:cuda[:N]``: profile the searched space on this machine at search start."""

    form = "measured:cpu|cuda[:N]"
    metrics = ("latency_ms",)
    examples = ("measured:cpu", "measured:cuda")
    description = "latency measured on this machine when the search starts (cached in $HWNAS_LUT_CACHE)"
    warmup = 3
    repeats = 10

    @staticmethod
    def device(target: str) -> torch.device:
        return profiling_device(target.partition(":")[2] or "cpu")

    def __call__(self, target: str, *, metric: str = "latency_ms", supernet: Any | None = None,
                 example_input: torch.Tensor | None = None, run_dir: str | os.PathLike[str] | None = None,
                 **_: Any) -> LUTCost:
        metric = _metric(target, metric, self.metrics)
        require_pricing_inputs(target, supernet, example_input)
        dev = self.device(target)
        net = network_of(supernet)
        places = trace_places(net, example_input.detach())
        info = device_info(dev)
        key_src = json.dumps({"space": type(net).__qualname__, "kw": repr(getattr(net, "space_kwargs", {})),
                              "places": [(p.name, p.label, p.candidates, p.input_shape) for p in places],
                              "input": list(example_input.shape), "device": info,
                              "timing": [self.warmup, self.repeats]}, sort_keys=True, default=str)
        name = f"lut-{hashlib.sha256(key_src.encode()).hexdigest()[:16]}.json"
        kept = Path(run_dir) / "luts" / name if run_dir is not None else None
        # The run's own copy first (a resume searches with the table it started with), then the shared cache.
        lut = next((t for t in (_try_load(kept), _try_load(cache_dir() / name)) if t is not None), None)
        if lut is None:
            lut = profile_lut(net, example_input, device=dev, warmup=self.warmup, repeats=self.repeats, target=target)
            _try_save(lut, cache_dir() / name)  # caching is an optimisation only
        if kept is not None and not kept.is_file():
            lut.save(kept)  # the run's record: an error here is an error of the run
        return LUTCost(lut, metric=metric, target=target, supernet=supernet)

    def report(self, target: str, *, arch: ArchSpec, network: nn.Module | None = None,
               input_size: tuple[int, ...] | None = None) -> dict[str, Any]:
        if network is None or input_size is None:
            raise UserError(f"target {target!r} times a built network: give the network and its input size")
        dev = self.device(target)
        home = _device_of(network)
        try:
            network.to(dev)
            ms = time_module(network, torch.zeros(1, *input_size, device=dev), warmup=self.warmup,
                             repeats=self.repeats)
        finally:
            network.to(home)
        info = device_info(dev)
        return {"target": target, "latency_ms": ms, "device": info.get("name", dev.type),
                "threads": info["threads"], "batch": 1}


def _try_load(path: Path | None) -> LatencyLUT | None:
    if path is None or not path.is_file():
        return None
    try:
        return LatencyLUT.load(path)
    except LUTError:
        return None  # a torn or stale cache file: measure again


def _try_save(lut: LatencyLUT, path: Path) -> None:
    try:
        lut.save(path)
    except OSError:
        pass
