"""Learned latency predictors, the public names in one place.

- :class:`LatencyPredictor` — ``load("nb201" | "fbnet" | "SPACE:DEVICE" | path)``, ``predict(archs or
  probabilities) -> ms``, ``adapt(archs, latencies)``, ``select_device``, ``without_device``, ``save``.
- :func:`fit_predictor` — a predictor for a new device from a few (arch, latency_ms) pairs;
  :func:`suggest_archs` — which archs to measure for it (``hwnas predictor suggest``);
  :func:`leave_one_out` — how well those few samples will predict (what ``hwnas predictor fit`` prints).
- :func:`pretrain` / :func:`train_direct` — train one for any space from a multi-device table or from pairs.
- :func:`sample_archs` / :func:`fit_sweep` — a predictor for any space from a sweep priced on any target, with
  the trunk (additive or MLP) chosen by held-out error (``hwnas predictor sweep`` / ``train``).
- :class:`AdditivePredictor` — the per-decision additive baseline.
- :class:`SpaceSchema`, :func:`get_schema` — encodings of ArchSpecs and of probabilities.

Their hardware targets in the search loss (``nb201:DEVICE``, ``fbnet:DEVICE``, ``predictor:PATH``) live in
:mod:`hwnas.latency_models.targets.predictors`.

Example:
    >>> import torch
    >>> from hwnas.latency_models.predictor import LatencyPredictor
    >>> p = LatencyPredictor.load("fbnet:pixel3")
    >>> probs = {lb: torch.full((9,), 1 / 9, requires_grad=True) for lb in p.schema.labels}
    >>> p.predict(probs).sum().backward()
    >>> probs["l0"].grad.shape
    torch.Size([9])
"""

from hwnas.latency_models.predictor.additive import AdditivePredictor
from hwnas.latency_models.predictor.check import LooCheck, leave_one_out
from hwnas.latency_models.predictor.data import LatencyTable, read_shared_table
from hwnas.latency_models.predictor.design import suggest_archs
from hwnas.latency_models.predictor.model import LatencyPredictor, fit_predictor, pretrain, train_direct
from hwnas.latency_models.predictor.schema import PredictorError, SpaceSchema, get_schema
from hwnas.latency_models.predictor.sweep import SweepFit, fit_sweep, sample_archs

__all__ = [
    "AdditivePredictor", "LatencyPredictor", "LatencyTable", "LooCheck", "PredictorError",
    "SpaceSchema", "SweepFit", "fit_predictor", "fit_sweep", "get_schema", "leave_one_out", "pretrain",
    "read_shared_table", "sample_archs", "suggest_archs", "train_direct",
]
