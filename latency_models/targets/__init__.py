"""The hardware targets of the search loss, each a :class:`hwnas.api.CostModel` registered in ``COST_MODELS``.

- ``tpe:ENGINE``, ``lut:PATH``, ``measured:cpu|cuda[:N]`` — lookup tables (:mod:`.tables`): priced by an analytical
  engine, read from a file, or measured on this machine when the search starts.
- ``nb201:DEVICE``, ``fbnet:DEVICE``, ``predictor:PATH`` — learned predictors (:mod:`.predictors`).

Example:
    >>> from hwnas.api import COST_MODELS
    >>> import hwnas.latency_models.targets  # noqa: F401 - registers the kinds (a COST_MODELS lookup does too)
    >>> [k for k in COST_MODELS.names() if k in ("tpe", "lut", "measured", "nb201", "fbnet", "predictor")]
    ['fbnet', 'lut', 'measured', 'nb201', 'predictor', 'tpe']
"""

from hwnas.latency_models.targets.predictors import PredictorCost, PredictorTarget
from hwnas.latency_models.targets.tables import LUTCost, LutTarget, MeasuredTarget, TpeTarget

__all__ = ["LUTCost", "LutTarget", "MeasuredTarget", "PredictorCost", "PredictorTarget", "TpeTarget"]
