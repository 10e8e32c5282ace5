"""hwnas.api: the leaf package — Choice, registries, ArchSpec, OpSpec, configs and protocols."""

from hwnas.api.archspec import FORMAT, ArchSpec, ArchSpecError
from hwnas.api.choice import (
    ZERO_OPS,
    Choice,
    ChosenInputs,
    InputChoice,
    Skipped,
    UnresolvedChoiceError,
    collect_decisions,
    iter_choices,
    iter_input_choices,
)
from hwnas.api.config import (
    ConfigError,
    apply_overrides,
    dump_yaml,
    from_dict,
    load_yaml,
    parse_override,
    parse_yaml_mapping,
    to_dict,
)
from hwnas.api.connectivity import is_degenerate, output_depends_on_input
from hwnas.api.derive import fed_labels, magnitude_arch, random_arch
from hwnas.api.device import DeviceError, resolve_device
from hwnas.api.errors import UserError
from hwnas.api.freeze import check_arch, freeze, freeze_module
from hwnas.api.graph import DecisionGraph, InputDecision, InputSlot, kept_labels, label_group
from hwnas.api.hardware import HARDWARE_FORMAT, HardwareSpec, HardwareSpecError
from hwnas.api.opspec import OpSpec
from hwnas.api.protocols import CostFn, CostModel, Details, Selector, SupernetLike, space_kwargs, space_name, space_ref
from hwnas.api.registries import (
    ARCHS,
    COST_MODELS,
    DATASETS,
    HARDWARE_SPACES,
    OPS,
    SELECTORS,
    SPACES,
    SUPERNETS,
    cost_model,
)
from hwnas.api.registry import Registry, RegistryError
from hwnas.api.trace import collect_opspecs, count_macs, count_params

__all__ = [
    "ARCHS",
    "COST_MODELS",
    "cost_model",
    "DATASETS",
    "FORMAT",
    "HARDWARE_FORMAT",
    "HARDWARE_SPACES",
    "OPS",
    "SELECTORS",
    "SPACES",
    "SUPERNETS",
    "ZERO_OPS",
    "ArchSpec",
    "ArchSpecError",
    "Choice",
    "ChosenInputs",
    "ConfigError",
    "CostFn",
    "CostModel",
    "DeviceError",
    "DecisionGraph",
    "HardwareSpec",
    "HardwareSpecError",
    "Details",
    "InputChoice",
    "InputDecision",
    "InputSlot",
    "OpSpec",
    "Registry",
    "RegistryError",
    "Selector",
    "Skipped",
    "SupernetLike",
    "UnresolvedChoiceError",
    "UserError",
    "apply_overrides",
    "check_arch",
    "collect_decisions",
    "collect_opspecs",
    "count_macs",
    "count_params",
    "dump_yaml",
    "fed_labels",
    "freeze",
    "freeze_module",
    "from_dict",
    "iter_choices",
    "is_degenerate",
    "iter_input_choices",
    "kept_labels",
    "label_group",
    "load_yaml",
    "magnitude_arch",
    "output_depends_on_input",
    "parse_override",
    "parse_yaml_mapping",
    "random_arch",
    "resolve_device",
    "space_kwargs",
    "space_name",
    "space_ref",
    "to_dict",
]
