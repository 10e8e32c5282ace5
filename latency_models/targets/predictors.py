"""Learned predictors as hardware targets of the search loss: ``nb201:DEVICE``, ``fbnet:DEVICE``, ``predictor:PATH``.

Each kind follows :class:`hwnas.api.CostModel`:
``model(target, metric=..., supernet=..., example_input=...)`` returns ``cost_fn(supernet) ->
(latency_ms, details)``, the predicted latency under the supernet's current probabilities
(differentiable in α), and ``model.report(target, arch=..., network=..., input_size=...)`` prices
one fixed architecture. The predictors price the benchmark's own network (NB201 at C=16, N=5; FBNet
at HW-NAS-Bench's widths) whatever width the searched space was built with.

Example:
    >>> from hwnas.api import COST_MODELS
    >>> COST_MODELS.get("nb201").form, COST_MODELS.get("predictor").metrics
    ('nb201:DEVICE', ('latency_ms', 'energy_mj', 'cycles'))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from hwnas.api import ArchSpec, InputChoice, UserError, collect_decisions, cost_model
from hwnas.latency_models.lut.table import METRIC_ALIASES
from hwnas.latency_models.predictor.model import LatencyPredictor
from hwnas.latency_models.predictor.schema import SpaceSchema


def _load(target: str) -> LatencyPredictor:
    kind, _, rest = target.partition(":")
    if kind == "predictor":
        if not rest:
            raise UserError("target 'predictor:PATH' needs the path of a fitted predictor (hwnas predictor fit)")
        pred = LatencyPredictor.load(rest)
    else:
        if not rest:
            devices = ", ".join(LatencyPredictor.load(kind).devices)
            raise UserError(f"target {target!r} needs a device, e.g. {kind}:pixel3; devices: {devices}")
        pred = LatencyPredictor.load(target)
    if pred.target is None:
        raise UserError(f"predictor of target {target!r} has no target device: fit it first (hwnas predictor fit)")
    return pred


def _check_metric(target: str, metric: str, pred: LatencyPredictor) -> None:
    if METRIC_ALIASES.get(metric, metric) != pred.metric:
        raise UserError(f"target {target!r} predicts {pred.metric} only, not {metric!r}")


def _reorder(schema: SpaceSchema, space: nn.Module) -> dict[str, list[int]]:
    """Per label, the indices that put the space's candidate order into the schema's."""
    decisions = collect_decisions(space)
    perms: dict[str, list[int]] = {}
    for label, cands in zip(schema.labels, schema.candidates):
        d = decisions.get(label)
        if d is None or isinstance(d, InputChoice) or set(d) != set(cands):
            have = "missing" if d is None else ("an input choice" if isinstance(d, InputChoice) else ", ".join(d))
            raise UserError(f"the {schema.space!r} predictor needs decision {label!r} over {', '.join(cands)}; "
                            f"the searched space has {have}")
        perms[label] = [list(d).index(c) for c in cands]
    return perms


class PredictorCost:
    """``cost_fn(supernet) -> (cost, details)`` from a learned predictor (in its metric's unit); differentiable in α."""

    def __init__(self, predictor: LatencyPredictor, *, target: str, supernet: Any | None = None) -> None:
        self.predictor = predictor.eval()
        self.target = target
        self._perms = _reorder(predictor.schema, supernet.space) if supernet is not None else None

    def _probs(self, supernet: Any) -> Mapping[str, torch.Tensor]:
        if self._perms is None:
            self._perms = _reorder(self.predictor.schema, supernet.space)
        probs = supernet.probabilities()
        return {lb: probs[lb][..., idx] for lb, idx in self._perms.items()}

    def __call__(self, supernet: Any) -> tuple[torch.Tensor, dict[str, Any]]:
        probs = self._probs(supernet)
        ref = next(iter(probs.values()))
        self.predictor.to(device=ref.device)
        value = self.predictor.predict({k: v.to(torch.float32) for k, v in probs.items()})[0]
        return value, {self.predictor.metric: float(value.detach()), "target": self.target}


_BENCHMARKS = {"nb201": "NAS-Bench-201", "fbnet": "FBNet"}


@cost_model("nb201", "fbnet", "predictor")
class PredictorTarget:
    """``nb201:DEVICE`` / ``fbnet:DEVICE`` (shipped predictors) and ``predictor:PATH`` (one fitted to yours)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.__name__ = f"{kind}_predictor_target"
        if kind == "predictor":
            self.form = "predictor:PATH"
            self.metrics: tuple[str, ...] = ("latency_ms", "energy_mj", "cycles")
            self.examples: tuple[str, ...] = ("predictor:my_device.pt",)
            self.description = ("a predictor fitted to your own device (hwnas predictor fit), or to any space on "
                                "any target (hwnas predictor sweep / train); its metric is the one it was fitted to")
        else:
            self.form = f"{kind}:DEVICE"
            self.metrics = ("latency_ms",)
            self.examples = ()
            self.description = f"learned predictor pretrained on HW-NAS-Bench's measured {_BENCHMARKS[kind]} data"

    @property
    def devices(self) -> list[str]:
        """The devices a shipped predictor knows (none for ``predictor:PATH``); loads the shipped file."""
        return [] if self.kind == "predictor" else list(LatencyPredictor.load(self.kind).devices)

    def __call__(self, target: str, *, metric: str = "latency_ms", supernet: Any | None = None,
                 example_input: torch.Tensor | None = None, **_: Any) -> PredictorCost:
        pred = _load(target)
        _check_metric(target, metric, pred)
        return PredictorCost(pred, target=target, supernet=supernet)

    def report(self, target: str, *, arch: ArchSpec, network: nn.Module | None = None,
               input_size: tuple[int, ...] | None = None) -> dict[str, Any]:
        pred = _load(target)
        if arch.space != pred.schema.space:
            raise UserError(f"target {target!r} predicts {pred.schema.space!r} architectures, not {arch.space!r}")
        with torch.no_grad():
            value = float(pred.predict([arch])[0])
        return {"target": target, pred.metric: value, "predictor_device": pred.target}


def __getattr__(name: str) -> Any:
    # The old module (``predictor_cost``) exported the kinds as a dict; they now live in COST_MODELS.
    if name == "TARGETS":
        from hwnas.api import COST_MODELS

        return {k: COST_MODELS.get(k) for k in ("nb201", "fbnet", "predictor")}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
