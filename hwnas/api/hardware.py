"""HardwareSpec: the accelerator configuration chosen with a network (the ``hardware`` section of an ArchSpec)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hwnas.api.errors import UserError

HARDWARE_FORMAT = "hwnas.hardware/1"

HardwareValue = str | int | float | bool

_LABEL = re.compile(r"^[A-Za-z_][\w./@-]*$")


class HardwareSpecError(UserError, ValueError):
    """A malformed hardware section; the message names the field and the fix."""


def _check_value(label: str, v: Any) -> HardwareValue:
    if isinstance(v, (str, bool, int, float)):
        return v
    raise HardwareSpecError(f"hardware choice {label!r} must be a string, number or boolean, got {v!r}")


@dataclass(frozen=True)
class HardwareSpec:
    """One configuration of a hardware space: ``{decision label: value}`` in a named hardware space.

    Args:
        space: Registered hardware-space name (``tpe``), see :data:`hwnas.api.HARDWARE_SPACES`.
        choices: Decision label -> value, for the decisions that apply to this configuration only (a
            systolic array's dataflow is absent from a 3D-Cube's configuration).
        space_kwargs: Settings the hardware space was built with (its candidate lists, SRAM sizes...).
        format: The section's format version.

    Example:
        >>> from hwnas.api import HardwareSpec
        >>> h = HardwareSpec(space="tpe", choices={"kind": "systolic", "dims/systolic": "16x16"})
        >>> HardwareSpec.from_dict(h.to_dict()) == h
        True
    """

    space: str
    choices: Mapping[str, HardwareValue]
    space_kwargs: Mapping[str, Any] = field(default_factory=dict)
    format: str = HARDWARE_FORMAT

    def __post_init__(self) -> None:
        if not isinstance(self.space, str) or not self.space:
            raise HardwareSpecError(f"hardware 'space' must be a non-empty string, got {self.space!r}")
        if not isinstance(self.choices, Mapping) or not self.choices:
            raise HardwareSpecError(f"hardware 'choices' must be a non-empty object, got {self.choices!r}")
        for k in self.choices:
            if not isinstance(k, str) or not _LABEL.match(k):
                raise HardwareSpecError(f"hardware choice label {k!r} is not a valid label")
        object.__setattr__(self, "choices", {k: _check_value(k, v) for k, v in sorted(self.choices.items())})
        if not isinstance(self.space_kwargs, Mapping):
            raise HardwareSpecError("hardware 'space_kwargs' must be an object")
        object.__setattr__(self, "space_kwargs", dict(self.space_kwargs))

    def identity(self) -> dict[str, Any]:
        """What the pair's archid hashes: the space name and the choices (not the kwargs)."""
        return {"space": self.space, "choices": dict(self.choices)}

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "space": self.space, "space_kwargs": _jsonable(self.space_kwargs),
                "choices": dict(self.choices)}

    @classmethod
    def from_dict(cls, d: Any) -> HardwareSpec:
        if isinstance(d, HardwareSpec):
            return d
        check_json_object(d, fmt=HARDWARE_FORMAT, known={"format", "space", "space_kwargs", "choices"},
                          required=("space", "choices"), noun="hardware", subject="the hardware section",
                          error=HardwareSpecError)
        return cls(space=d["space"], choices=d["choices"], space_kwargs=d.get("space_kwargs") or {})


def check_json_object(d: Any, *, fmt: str, known: set[str], required: tuple[str, ...], noun: str, subject: str,
                      error: type[Exception]) -> None:
    """Raise ``error`` unless ``d`` is a JSON object of format ``fmt`` with only ``known`` and every ``required`` field.

    ``noun`` names the format in messages (``ArchSpec``), ``subject`` the object (``an ArchSpec``).
    """
    if not isinstance(d, Mapping):
        raise error(f"{subject} must be a JSON object, got {type(d).__name__}")
    if d.get("format") != fmt:
        raise error(f"unsupported {noun} format {d.get('format')!r}; expected {fmt!r}")
    extra = set(d) - known
    if extra:
        raise error(f"unknown {noun} field(s) {sorted(extra)}; valid fields: {sorted(known)}")
    for req in required:
        if req not in d:
            raise error(f"{subject} is missing the required field {req!r}")


def _jsonable(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x
