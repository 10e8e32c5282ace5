"""The per-decision additive baseline: latency = bias + sum of one cost per chosen candidate.

Fitted by minimum-norm least squares on the given samples only (no pretraining), in ms — the
"lookup table from a few measurements" that learned predictors are compared against.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hwnas.latency_models.predictor.schema import ArchLike, PredictorError, Probs, SpaceSchema, get_schema


class AdditivePredictor:
    """``ms = b + sum_label cost[label, candidate]``, fitted on a few samples.

    Example:
        >>> from hwnas.latency_models.predictor.additive import AdditivePredictor
        >>> a = AdditivePredictor("nb201").fit(["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"], [2.0])
        >>> round(float(a.predict(["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"])[0]), 3)
        2.0
    """

    def __init__(self, schema: SpaceSchema | str | nn.Module) -> None:
        self.schema = get_schema(schema)
        self.coef = torch.zeros(self.schema.dim + 1, dtype=torch.float64)

    def fit(self, archs: Sequence[ArchLike], latencies: Sequence[float]) -> AdditivePredictor:
        x = self.schema.encode(list(archs)).double()
        y = torch.as_tensor(latencies, dtype=torch.float64).reshape(-1)
        if len(x) != len(y) or len(y) == 0:
            raise PredictorError(f"{len(x)} architectures but {len(y)} latencies")
        a = torch.cat([torch.ones(len(x), 1, dtype=torch.float64), x], 1)
        self.coef = torch.linalg.pinv(a) @ y  # minimum-norm solution when under-determined
        return self

    def predict(self, archs: ArchLike | Sequence[ArchLike] | Probs) -> torch.Tensor:
        x = self.schema.encode(archs)
        return self.coef[0].to(x.dtype) + x @ self.coef[1:].to(x.dtype)
