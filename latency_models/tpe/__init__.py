"""Analytical tensor-processing-engine (TPE) models: systolic arrays (SCALE-Sim compatible), 3D-Cube,
multiplier-adder tree, 2D-Matrix and bit-serial column engines, with the bit-weight dimension of the MACs."""

from hwnas.latency_models.tpe.bitweight import (
    BitWeightConfig,
    DigitStats,
    Precision,
    booth_digits,
    ent_digits,
)
from hwnas.latency_models.tpe.engine import Engine
from hwnas.latency_models.tpe.engines import AdderTree, BitSerialColumn, Cube3D, Matrix2D
from hwnas.latency_models.tpe.lowering import Gemm, conv_gemm, conv_out_size, lower_opspec
from hwnas.latency_models.tpe.mac import multiplier_cost
from hwnas.latency_models.tpe.names import EXAMPLE_NAMES, tpe_from_name
from hwnas.latency_models.tpe.result import LayerResult, NetworkResult
from hwnas.latency_models.tpe.systolic import SystolicArray
from hwnas.latency_models.tpe.tech import TechTable
from hwnas.latency_models.tpe.topology import TopologyError, TopologyLayer, read_topology

__all__ = [
    "EXAMPLE_NAMES", "AdderTree", "BitSerialColumn", "BitWeightConfig", "Cube3D", "DigitStats", "Engine", "Gemm",
    "LayerResult", "Matrix2D", "NetworkResult", "Precision", "SystolicArray", "TechTable", "TopologyError",
    "TopologyLayer", "booth_digits", "conv_gemm", "conv_out_size", "ent_digits", "lower_opspec", "multiplier_cost",
    "read_topology", "tpe_from_name",
]
