"""Hardware cost models: analytical tensor-processing-engine models (``tpe``) and learned latency predictors.

Importing this package registers the hardware targets of the search loss in ``hwnas.api.COST_MODELS``.
"""

from hwnas.latency_models.predictors import (
    TARGETS,
    AdditivePredictor,
    LatencyPredictor,
    LatencyTable,
    PredictorCost,
    PredictorError,
    SpaceSchema,
    fit_predictor,
    get_schema,
    pretrain,
    read_shared_table,
    train_direct,
)

__all__ = [
    "TARGETS",
    "AdditivePredictor",
    "LatencyPredictor",
    "LatencyTable",
    "PredictorCost",
    "PredictorError",
    "SpaceSchema",
    "fit_predictor",
    "get_schema",
    "pretrain",
    "read_shared_table",
    "train_direct",
]
