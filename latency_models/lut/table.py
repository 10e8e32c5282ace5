"""Lookup tables: the cost of every candidate of every Choice of a space, plus the fixed part, on one target.

A table is a JSON file (units in the field names)::

    {"format": "hwnas-lut/1", "space": "nb201", "space_kwargs": {...}, "input_size": [3, 32, 32], "batch": 1,
     "target": "tpe:systolic-32x32-ws-int8", "device": {...}, "metrics": ["latency_ms", "energy_mj", "cycles"],
     "entries": {label: {candidate: {"latency_ms": ..., ...}}}, "fixed": {"latency_ms": ..., ...},
     "input_edges": {label: {"input_choice": ..., "index": i, "n_chosen": k, "n_candidates": n}}}

``entries[label][candidate]`` sums every place of ``label`` (DARTS's normal cells share one label).
The cost of a fixed architecture is ``fixed + Σ_label entries[label][chosen]`` over the labels its
network keeps (edges an InputChoice drops cost nothing). Tables come from a TPE engine
(:func:`lut_from_tpe`), from measurements on this machine (:func:`hwnas.latency_models.lut.profiling.profile_lut`,
``hwnas profile``) or from a file (:meth:`LatencyLUT.load`).

Example:
    >>> import torch
    >>> from hwnas.search_spaces import NB201Space
    >>> from hwnas.latency_models.tpe import tpe_from_name
    >>> lut = lut_from_tpe(NB201Space(C=4, N=1), tpe_from_name("systolic-16x16-ws-int8"), torch.zeros(1, 3, 8, 8))
    >>> lut.entries["1<-0"]["none"]["cycles"], lut.metrics
    (0.0, ('latency_ms', 'energy_mj', 'cycles'))
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hwnas.api import ArchSpec, InputChoice, OpSpec, UserError, collect_decisions, kept_labels, space_kwargs, space_name
from hwnas.api.files import make_dir, read_text, write_bytes_atomic
from hwnas.latency_models.lut.candidates import InputEdge, SpaceSpecs, network_of, space_opspecs

FORMAT = "hwnas-lut/1"
TPE_METRICS = ("latency_ms", "energy_mj", "cycles")
#: Short metric names accepted by every target, and the unit-named metric they mean.
METRIC_ALIASES = {"latency": "latency_ms", "energy": "energy_mj"}


class LUTError(UserError, ValueError):
    """A lookup table is malformed or does not fit the searched space."""


def _num(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise LUTError(f"{where} must be a finite non-negative number, got {v!r}")
    return float(v)


@dataclass
class LatencyLUT:
    """Per-candidate costs of one space on one target; see the module docstring for the file format.

    Example:
        >>> lut = LatencyLUT("toy", entries={"op": {"a": {"latency_ms": 1.0}, "b": {"latency_ms": 3.0}}},
        ...                  fixed={"latency_ms": 0.5}, metrics=("latency_ms",))
        >>> lut.cost({"op": "b"})["latency_ms"]
        3.5
    """

    space: str
    entries: dict[str, dict[str, dict[str, float]]]
    fixed: dict[str, float]
    metrics: tuple[str, ...] = ("latency_ms",)
    space_kwargs: dict[str, Any] = field(default_factory=dict)
    input_size: tuple[int, ...] = ()
    batch: int = 1
    target: str = ""
    device: dict[str, Any] = field(default_factory=dict)
    input_edges: dict[str, InputEdge] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.metrics = tuple(self.metrics)
        self.input_size = tuple(int(x) for x in self.input_size)
        self._validate()

    # ------------------------------------------------------------------ validation and I/O
    def _validate(self) -> None:
        if not self.metrics:
            raise LUTError("a lookup table needs at least one metric, e.g. latency_ms")
        if not isinstance(self.entries, Mapping) or not self.entries:
            raise LUTError("lookup table 'entries' must be a non-empty mapping {label: {candidate: {metric: value}}}")
        for label, cands in self.entries.items():
            if not isinstance(cands, Mapping) or not cands:
                raise LUTError(f"lookup table entry {label!r} must map candidate names to costs, got {cands!r}")
            for cand, vals in cands.items():
                self._check_values(vals, f"entries[{label!r}][{cand!r}]")
        self._check_values(self.fixed, "fixed")
        for label, e in self.input_edges.items():
            if label not in self.entries:
                raise LUTError(f"input_edges names label {label!r} that has no entry")
            if not 0 <= e.index < e.n_candidates or not 1 <= e.n_chosen <= e.n_candidates:
                raise LUTError(f"input_edges[{label!r}] = {e} is inconsistent")

    def _check_values(self, vals: Any, where: str) -> None:
        if not isinstance(vals, Mapping):
            raise LUTError(f"{where} must be a mapping {{metric: value}}, got {vals!r}")
        for m in self.metrics:
            if m not in vals:
                raise LUTError(f"{where} lacks metric {m!r} (the table's metrics: {', '.join(self.metrics)})")
            _num(vals[m], f"{where}[{m!r}]")

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "space": self.space, "space_kwargs": dict(self.space_kwargs),
            "input_size": list(self.input_size), "batch": self.batch, "target": self.target,
            "device": dict(self.device), "metrics": list(self.metrics),
            "entries": {lb: {c: dict(v) for c, v in cands.items()} for lb, cands in self.entries.items()},
            "fixed": dict(self.fixed),
            "input_edges": {lb: {"input_choice": e.input_choice, "index": e.index, "n_chosen": e.n_chosen,
                                 "n_candidates": e.n_candidates} for lb, e in self.input_edges.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the table atomically (a temp file renamed into place)."""
        path = Path(path)
        make_dir(path.parent, what="output folder", fix="pass another --out")
        return write_bytes_atomic(path, self.to_json().encode("utf-8"), what="lookup table")

    @classmethod
    def from_dict(cls, d: Any, *, source: str = "lookup table") -> LatencyLUT:
        if not isinstance(d, Mapping):
            raise LUTError(f"{source}: expected a JSON object, got {type(d).__name__}")
        if d.get("format") != FORMAT:
            raise LUTError(f"{source}: format must be {FORMAT!r}, got {d.get('format')!r}")
        missing = [k for k in ("space", "entries", "fixed", "metrics") if k not in d]
        if missing:
            raise LUTError(f"{source}: missing field(s) {', '.join(missing)}")
        metrics = d["metrics"]
        if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
            raise LUTError(f"{source}: 'metrics' must be a list of names like latency_ms, got {metrics!r}")
        size = d.get("input_size", [])
        if not isinstance(size, list) or not all(isinstance(x, int) and x > 0 for x in size):
            raise LUTError(f"{source}: 'input_size' must be a list of positive ints, got {size!r}")
        edges: dict[str, InputEdge] = {}
        raw_edges = d.get("input_edges", {}) or {}
        if not isinstance(raw_edges, Mapping):
            raise LUTError(f"{source}: 'input_edges' must be a mapping")
        for lb, e in raw_edges.items():
            try:
                edges[lb] = InputEdge(str(e["input_choice"]), int(e["index"]), int(e["n_chosen"]),
                                      int(e["n_candidates"]))
            except (KeyError, TypeError, ValueError):
                raise LUTError(f"{source}: input_edges[{lb!r}] needs input_choice, index, n_chosen, n_candidates")
        try:
            return cls(space=str(d["space"]), entries=d["entries"], fixed=d["fixed"], metrics=tuple(metrics),
                       space_kwargs=dict(d.get("space_kwargs") or {}), input_size=tuple(size),
                       batch=int(d.get("batch", 1)), target=str(d.get("target", "")),
                       device=dict(d.get("device") or {}), input_edges=edges)
        except LUTError as e:
            raise LUTError(f"{source}: {e}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LatencyLUT:
        """Read and validate a table; a malformed file raises :class:`LUTError` naming what is wrong."""
        p = Path(path)
        if not p.is_file():
            raise LUTError(f"lookup table {str(p)!r} does not exist (build one with: hwnas profile --space NAME "
                           "--out lut.json)")
        try:
            d = json.loads(read_text(p, what="lookup table"))
        except json.JSONDecodeError as e:
            raise LUTError(f"lookup table {str(p)!r} is not valid JSON: {e}") from None
        return cls.from_dict(d, source=f"lookup table {str(p)!r}")

    # ------------------------------------------------------------------ pricing
    def _kept(self, choices: Mapping[str, Any]) -> list[str]:
        kept = kept_labels(self.entries, {lb: (e,) for lb, e in self.input_edges.items()}, choices)
        return [label for label in self.entries if label in kept]

    def cost(self, arch: ArchSpec | Mapping[str, Any]) -> dict[str, float]:
        """Every metric of a fixed architecture: fixed + the chosen candidate of each kept label."""
        if isinstance(arch, ArchSpec):
            if arch.space != self.space:
                raise LUTError(f"this lookup table is for space {self.space!r}, not {arch.space!r}")
            choices = dict(arch.choices)
        else:
            choices = dict(arch)
        out = {m: float(self.fixed[m]) for m in self.metrics}
        for label in self._kept(choices):
            name = choices.get(label)
            if name not in self.entries[label]:
                raise LUTError(f"choice {label!r} = {name!r} is not in the lookup table; candidates: "
                               f"{', '.join(self.entries[label])}")
            for m in self.metrics:
                out[m] += float(self.entries[label][name][m])
        return out

    def check_space(self, space: nn.Module) -> dict[str, tuple[str, ...]]:
        """The space's Choice labels and candidate orders, after checking the table covers all of them."""
        decisions = {k: v for k, v in collect_decisions(network_of(space)).items() if not isinstance(v, InputChoice)}
        missing = sorted(set(decisions) - set(self.entries))
        if missing:
            raise LUTError(f"the lookup table (space {self.space!r}) has no entry for label(s) {missing[:5]}; "
                           f"it has {', '.join(list(self.entries)[:5])}...; build it for this space")
        extra = sorted(set(self.entries) - set(decisions))
        if extra:
            raise LUTError(f"the lookup table has label(s) {extra[:5]} that the searched space lacks")
        for label, names in decisions.items():
            lacking = [n for n in names if n not in self.entries[label]]
            if lacking:
                raise LUTError(f"the lookup table lacks candidate(s) {lacking} of label {label!r}")
        return decisions

    def vectors(self, metric: str, order: Mapping[str, Sequence[str]]) -> dict[str, list[float]]:
        """Per label, the metric of each candidate in ``order``'s candidate order."""
        if metric not in self.metrics:
            raise LUTError(f"the lookup table has no metric {metric!r}; it has {', '.join(self.metrics)}")
        return {label: [float(self.entries[label][n][metric]) for n in names] for label, names in order.items()}


def _sum_metrics(results: Sequence[Any]) -> dict[str, float]:
    return {"latency_ms": float(sum(r.latency_ms for r in results)),
            "energy_mj": float(sum(r.energy_mj for r in results)),
            "cycles": float(sum(r.total_cycles or r.compute_cycles for r in results))}


def tpe_metrics(engine: Any, specs: Sequence[OpSpec]) -> dict[str, float]:
    """latency_ms, energy_mj and cycles of ``specs`` on a TPE engine (ops without MACs cost nothing there)."""
    results = [r for r in (engine.evaluate(s) for s in specs) if r is not None]
    return _sum_metrics(results)


def lut_from_specs(specs: SpaceSpecs, engine: Any, *, space: str, kwargs: Mapping[str, Any] | None = None,
                   target: str = "") -> LatencyLUT:
    """Price every candidate's OpSpecs (and the fixed part) on a TPE engine."""
    entries = {label: {name: tpe_metrics(engine, s) for name, s in cands.items()}
               for label, cands in specs.candidates.items()}
    shape = specs.input_shape
    return LatencyLUT(space=space, entries=entries, fixed=tpe_metrics(engine, specs.fixed), metrics=TPE_METRICS,
                      space_kwargs=dict(kwargs or {}), input_size=tuple(shape[1:]), batch=int(shape[0]) if shape else 1,
                      target=target or f"tpe:{engine.name}", device={"kind": "tpe", **_engine_info(engine)},
                      input_edges=dict(specs.input_edges))


def _engine_info(engine: Any) -> dict[str, Any]:
    info = engine.summary()
    return {k: v for k, v in info.items() if isinstance(v, (str, int, float, list))}


def lut_from_tpe(space_or_supernet: nn.Module, engine: Any, example_input: torch.Tensor) -> LatencyLUT:
    """A table priced by a TPE engine (:func:`hwnas.latency_models.tpe.tpe_from_name`) at ``example_input``'s shape.

    Example:
        >>> import torch
        >>> from hwnas.search_spaces import NB201Space
        >>> from hwnas.latency_models.tpe import tpe_from_name
        >>> lut = lut_from_tpe(NB201Space(C=4, N=1), tpe_from_name("systolic-16x16-ws-int8"), torch.zeros(1, 3, 8, 8))
        >>> lut.entries["1<-0"]["nor_conv_3x3"]["cycles"] > lut.entries["1<-0"]["nor_conv_1x1"]["cycles"]
        True
    """
    net = network_of(space_or_supernet)
    specs = space_opspecs(net, example_input)
    return lut_from_specs(specs, engine, space=space_name(net), kwargs=space_kwargs(net))


__all__ = ["FORMAT", "METRIC_ALIASES", "TPE_METRICS", "LUTError", "LatencyLUT", "lut_from_specs", "lut_from_tpe",
           "tpe_metrics"]
