"""Hardware cost models, in five sub-packages:

- :mod:`~hwnas.latency_models.tpe` — analytical tensor-processing-engine models (cycles, energy, area).
- :mod:`~hwnas.latency_models.lut` — lookup tables of a space's candidates: priced by an engine or measured here.
- :mod:`~hwnas.latency_models.predictor` — learned latency predictors pretrained on measured devices.
- :mod:`~hwnas.latency_models.hwspace` — hardware spaces for network-accelerator co-search (TPE decisions as
  choices with their own architecture parameters) and the ``cosearch`` target.
- :mod:`~hwnas.latency_models.targets` — the hardware targets of the search loss, each a
  :class:`hwnas.api.CostModel` registered in ``hwnas.api.COST_MODELS`` where it is defined.

Importing this package registers the targets and the hardware spaces.
"""

from hwnas.latency_models import _moved
from hwnas.latency_models.hwspace import CoSearchCost, HardwareSpace, HwChoice, TpeHardwareSpace
from hwnas.latency_models.lut import (
    LatencyLUT,
    LUTError,
    SpaceSpecs,
    candidate_opspecs,
    lut_from_tpe,
    profile_lut,
    space_opspecs,
    time_module,
)
from hwnas.latency_models.predictor import (
    AdditivePredictor,
    LatencyPredictor,
    LatencyTable,
    PredictorError,
    SpaceSchema,
    fit_predictor,
    get_schema,
    pretrain,
    read_shared_table,
    train_direct,
)
from hwnas.latency_models.targets import LUTCost, PredictorCost

_moved.install()

__all__ = [
    "AdditivePredictor", "CoSearchCost", "HardwareSpace", "HwChoice", "LUTCost", "LUTError", "LatencyLUT",
    "LatencyPredictor", "LatencyTable", "PredictorCost", "PredictorError", "SpaceSchema", "SpaceSpecs",
    "TpeHardwareSpace", "candidate_opspecs", "fit_predictor", "get_schema", "lut_from_tpe", "pretrain", "profile_lut",
    "read_shared_table", "space_opspecs", "time_module", "train_direct",
]
