"""Hardware spaces for network-accelerator co-search: accelerator decisions with their own α, priced together
with the network's distribution (``cosearch`` target), selected with the network into one ArchSpec.

Example:
    >>> from hwnas.latency_models.hwspace import TpeHardwareSpace
    >>> hw = TpeHardwareSpace(kinds=("systolic", "tree"), dims={"systolic": ("8x8",), "tree": ("8x8", "16x8")},
    ...                       dataflows=("ws", "os"), options=())
    >>> len(hw.configs), round(float(hw.config_probabilities().detach().sum()), 6)   # 2 dataflows + 2 shapes
    (4, 1.0)
    >>> hw.export().choices["kind"] in ("systolic", "tree")
    True
"""

from hwnas.latency_models.hwspace.cost import (
    CoSearchCost,
    CoSearchTarget,
    build_hardware_space,
    hardware_of,
    price_pair,
    tables_for,
)
from hwnas.latency_models.hwspace.select import HardwareSelection, select_hardware
from hwnas.latency_models.hwspace.space import FixedHardware, HardwareSpace, HardwareSpaceError, HwChoice
from hwnas.latency_models.hwspace.tables import HW_METRICS, HardwareTables
from hwnas.latency_models.hwspace.tpe_space import TpeHardwareSpace

__all__ = [
    "HW_METRICS", "CoSearchCost", "CoSearchTarget", "FixedHardware", "HardwareSelection", "HardwareSpace",
    "HardwareSpaceError", "HardwareTables", "HwChoice", "TpeHardwareSpace", "build_hardware_space", "hardware_of",
    "price_pair", "select_hardware", "tables_for",
]
