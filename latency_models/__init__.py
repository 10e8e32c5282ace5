"""Hardware cost models: analytical tensor-processing-engine models (``tpe``) and learned latency predictors.

Importing this package registers the hardware targets of the search loss in ``hwnas.api.COST_MODELS``.
"""

from hwnas.latency_models.candidate_specs import SpaceSpecs, candidate_opspecs, space_opspecs
from hwnas.latency_models.hardware_targets import HARDWARE_TARGETS, LUTCost
from hwnas.latency_models.hwspace import CoSearchCost, HardwareSpace, HwChoice, TpeHardwareSpace
from hwnas.latency_models.lut import LatencyLUT, LUTError, lut_from_tpe
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
from hwnas.latency_models.profiling import profile_lut, time_module

__all__ = [
    "HARDWARE_TARGETS", "CoSearchCost", "HardwareSpace", "HwChoice", "LUTCost", "TpeHardwareSpace",
    "LUTError", "LatencyLUT", "SpaceSpecs", "candidate_opspecs", "lut_from_tpe",
    "profile_lut", "space_opspecs", "time_module",
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
