"""How well will a few-shot adaptation predict this device? The leave-one-out check of its own samples.

Ten samples of a GPU pin its head down; ten of a noisy phone do not, and the user cannot tell which case they
are in from the fit alone. :func:`leave_one_out` adapts the predictor once per sample without it and predicts
that sample: the share of those predictions within ±10% is an estimate, from the samples alone, of the share
on archs never measured. It is model-agnostic (the head, the tied-cost blend and the outlier model are all
inside the refits) and needs nothing but the samples.

Measured on NB201's 27 devices, each left out of pretraining, 10 shots, seeds 0-2
(``python benchmarks/predictor_loo.py --space nb201 --seeds 3 --check [--design]``): per draw, the check's share
against the share on all other archs of the table has correlation 0.89 and mean absolute difference 0.057 with
random samples, 0.84 and 0.068 with designed ones (:mod:`~hwnas.latency_models.predictor.design`, whose archs
sit at the ends of the latency range, so each left-out one is an extrapolation); averaged per device the
difference is 0.025 (random) and 0.038 (designed). Where the share is low, time more archs (``hwnas predictor
suggest --given``). Doing so, 10 at a time while the check is below 0.8 and up to 30 (``predictor_loo.py --seeds
10 --design --more-below 0.8``), brings 23 of NB201's 27 devices to 95% of their bound with 15.1 archs per
device on average (a fixed 10: 19 devices; a fixed 30: 23): GPUs stop at 10 or 11, phones take 18-30. On FBNet
(seeds 0-2, ``--space fbnet``) the check tracks the share with correlation 0.85 and mean absolute difference
0.039 (random samples), and the advice followed brings 24 of 27 devices to 95% of their bound with 12.0 designed
archs on average (a fixed 10: 23).

Example:
    >>> from hwnas.latency_models.predictor.check import leave_one_out
    >>> from hwnas.latency_models.predictor.model import LatencyPredictor
    >>> ref = LatencyPredictor.load("fbnet:raspi4")
    >>> archs = ["-".join([op] * 22) for op in ("k3_e1", "k3_e3", "k3_e6", "k5_e1", "k5_e3", "k5_e6", "skip")]
    >>> pairs = list(zip(archs, (2 * ref.predict(archs)).tolist()))
    >>> check = leave_one_out("fbnet", pairs, exclude_device="raspi4")
    >>> len(check.errors), check.within10 > 0.5
    (7, True)
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from hwnas.latency_models.predictor.ceiling import TOL
from hwnas.latency_models.predictor.model import LatencyPredictor, _split_pairs, fit_predictor, prepare_pretrained
from hwnas.latency_models.predictor.schema import ArchLike, PredictorError, SpaceSchema, get_schema


@dataclass(frozen=True)
class LooCheck:
    """``errors[i]``: log(predicted / measured) of sample ``i`` by the predictor adapted without it."""

    errors: np.ndarray

    @property
    def within10(self) -> float:
        """Share of the samples predicted within ±10% without them."""
        return float(np.mean(np.abs(np.expm1(self.errors)) <= TOL))

    @property
    def median_error(self) -> float:
        """Median of ``|predicted / measured - 1|`` over the samples."""
        return float(np.median(np.abs(np.expm1(self.errors))))


def leave_one_out(space: SpaceSchema | str | nn.Module, train_pairs: Sequence[tuple[ArchLike, float]], *,
                  exclude_device: str | None = None, pretrained: LatencyPredictor | str | None = "shipped",
                  **adapt_kwargs: Any) -> LooCheck:
    """Fit :func:`~hwnas.latency_models.predictor.model.fit_predictor` without each sample and predict it.

    Takes the arguments of ``fit_predictor``; ``pretrained`` is loaded (and ``exclude_device`` removed from it)
    once and copied for every refit, so a passed predictor is left as it was.
    """
    schema = get_schema(space)
    archs, lats = _split_pairs(train_pairs)
    if len(archs) < 3:
        raise PredictorError(f"a leave-one-out check needs at least 3 samples, got {len(archs)}")
    base = prepare_pretrained(schema, pretrained, exclude_device)
    errors = []
    for i in range(len(archs)):
        rest = [(a, v) for k, (a, v) in enumerate(zip(archs, lats)) if k != i]
        pred = fit_predictor(schema, rest, pretrained=copy.deepcopy(base), **adapt_kwargs)
        with torch.no_grad():
            errors.append(float(torch.log(pred.predict([archs[i]]))[0]) - float(np.log(lats[i])))
    return LooCheck(np.asarray(errors))
