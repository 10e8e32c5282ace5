"""Hardware spaces for network-accelerator co-search: accelerator decisions with their own α, priced together
with the network's distribution (``cosearch`` target), selected with the network into one ArchSpec."""

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
