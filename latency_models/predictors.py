"""Learned latency predictors, the public names in one place.

- :class:`LatencyPredictor` — ``load("nb201" | "fbnet" | "SPACE:DEVICE" | path)``, ``predict(archs or
  probabilities) -> ms``, ``adapt(archs, latencies)``, ``select_device``, ``without_device``, ``save``.
- :func:`fit_predictor` — a predictor for a new device from a few (arch, latency_ms) pairs.
- :func:`pretrain` / :func:`train_direct` — train one for any space from a multi-device table or from pairs.
- :func:`sample_archs` / :func:`fit_sweep` — a predictor for any space from a sweep priced on any target, with
  the trunk (additive or MLP) chosen by held-out error (``hwnas predictor sweep`` / ``train``).
- :class:`AdditivePredictor` — the per-decision additive baseline.
- :class:`SpaceSchema`, :func:`get_schema` — encodings of ArchSpecs and of probabilities.
- :data:`TARGETS` / :class:`PredictorCost` — the ``nb201:DEVICE``, ``fbnet:DEVICE`` and ``predictor:PATH``
  hardware targets of the search loss (registered in ``COST_MODELS`` when this module is imported).

Example:
    >>> import torch
    >>> from hwnas.latency_models.predictors import LatencyPredictor
    >>> p = LatencyPredictor.load("fbnet:pixel3")
    >>> probs = {lb: torch.full((9,), 1 / 9, requires_grad=True) for lb in p.schema.labels}
    >>> p.predict(probs).sum().backward()
    >>> probs["l0"].grad.shape
    torch.Size([9])
"""

from hwnas.latency_models.predictor import LatencyPredictor, fit_predictor, pretrain, train_direct
from hwnas.latency_models.predictor_additive import AdditivePredictor
from hwnas.latency_models.predictor_cost import TARGETS, PredictorCost
from hwnas.latency_models.predictor_data import LatencyTable, read_shared_table
from hwnas.latency_models.predictor_schema import PredictorError, SpaceSchema, get_schema
from hwnas.latency_models.predictor_sweep import SweepFit, fit_sweep, sample_archs

__all__ = [
    "TARGETS", "AdditivePredictor", "LatencyPredictor", "LatencyTable", "PredictorCost", "PredictorError",
    "SpaceSchema", "SweepFit", "fit_predictor", "fit_sweep", "get_schema", "pretrain", "read_shared_table",
    "sample_archs", "train_direct",
]
