"""hwnas: hardware-aware differentiable neural architecture search for PyTorch."""

from hwnas.api import (
    ArchSpec,
    ArchSpecError,
    Choice,
    ConfigError,
    InputChoice,
    OpSpec,
    Registry,
    RegistryError,
    check_arch,
    freeze,
    freeze_module,
)

__version__ = "0.1.0"

__all__ = [
    "ArchSpec",
    "ArchSpecError",
    "Choice",
    "ConfigError",
    "InputChoice",
    "OpSpec",
    "Registry",
    "RegistryError",
    "__version__",
    "check_arch",
    "freeze",
    "freeze_module",
]
