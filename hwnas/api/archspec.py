"""ArchSpec: the one exchange format for a chosen architecture."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hwnas.api.errors import UserError
from hwnas.api.files import make_dir, read_text, write_bytes_atomic
from hwnas.api.hardware import HardwareSpec, HardwareSpecError, check_json_object

FORMAT = "hwnas.archspec/1"

ChoiceValue = str | tuple[int, ...]

#: ``package.module:ClassName``: how to import a space class that is not registered by name.
_SPACE_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class ArchSpecError(UserError, ValueError):
    """A malformed or inapplicable ArchSpec; the message names the field and the fix."""


def _freeze_value(label: str, v: Any) -> ChoiceValue:
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple)) and all(isinstance(i, int) and not isinstance(i, bool) for i in v):
        return tuple(sorted(int(i) for i in v))
    raise ArchSpecError(f"choice {label!r} must be a candidate name (string) or a list of input indices, got {v!r}")


@dataclass(frozen=True)
class ArchSpec:
    """A chosen architecture: ``{label: candidate name | sorted input indices}`` in a named space.

    Args:
        space: Registered search-space name (``darts``, ``nb201``, ``proxyless`` or a user's).
        choices: Decision label -> candidate name (Choice) or tuple of input indices (InputChoice).
        space_kwargs: Settings the space was built with (width, depth, classes...).
        metrics: Measured or predicted figures; not part of the identity.
        format: The file format version.
        space_ref: ``package.module:ClassName`` of the space class when ``space`` is not a registered
            name (a user's own space), so a reader can rebuild the space; not part of the identity.
        hardware: The accelerator configuration searched with the network (network-accelerator co-search),
            a :class:`~hwnas.api.HardwareSpec` or its dict; part of the identity when present, absent from the
            file (and from the archid) when None, so network-only specs are unchanged.

    Example:
        >>> from hwnas.api import ArchSpec
        >>> a = ArchSpec(space="nb201", choices={"e0": "skip_connect"})
        >>> ArchSpec.from_json(a.to_json()) == a
        True
    """

    space: str
    choices: Mapping[str, ChoiceValue]
    space_kwargs: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    format: str = FORMAT
    space_ref: str | None = None
    hardware: HardwareSpec | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.space, str) or not self.space:
            raise ArchSpecError(f"'space' must be a non-empty string, got {self.space!r}")
        if self.space_ref is not None and not (isinstance(self.space_ref, str) and _SPACE_REF.match(self.space_ref)):
            raise ArchSpecError(
                f"'space_ref' must be an import path 'package.module:ClassName', got {self.space_ref!r}"
            )
        if not isinstance(self.choices, Mapping):
            raise ArchSpecError(
                f"'choices' must be an object mapping labels to candidates, got {type(self.choices).__name__}"
            )
        frozen = {str(k): _freeze_value(str(k), v) for k, v in sorted(self.choices.items())}
        object.__setattr__(self, "choices", frozen)
        object.__setattr__(self, "space_kwargs", dict(self.space_kwargs))
        object.__setattr__(self, "metrics", dict(self.metrics))
        if self.hardware is not None:
            try:
                object.__setattr__(self, "hardware", HardwareSpec.from_dict(self.hardware))
            except HardwareSpecError as e:
                raise ArchSpecError(str(e)) from None

    @property
    def archid(self) -> str:
        """A stable 16-hex-digit hash of the space name and the choices (not of metrics, widths or space_ref),
        and of the hardware configuration when there is one."""
        ident: dict[str, Any] = {"space": self.space, "choices": _jsonable(self.choices)}
        if self.hardware is not None:
            ident["hardware"] = self.hardware.identity()
        payload = json.dumps(ident, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def with_metrics(self, **metrics: Any) -> ArchSpec:
        return replace(self, metrics={**self.metrics, **metrics})

    def to_dict(self) -> dict[str, Any]:
        # space_ref only when set, so the files of registered spaces stay byte-identical to older ones.
        ref = {"space_ref": self.space_ref} if self.space_ref else {}
        return {
            "format": self.format,
            "space": self.space,
            **ref,
            "space_kwargs": _jsonable(self.space_kwargs),
            "archid": self.archid,
            "choices": _jsonable(self.choices),
            "metrics": _jsonable(self.metrics),
            **({"hardware": self.hardware.to_dict()} if self.hardware is not None else {}),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_dict(cls, d: Any) -> ArchSpec:
        check_json_object(d, fmt=FORMAT, known={"format", "space", "space_ref", "space_kwargs", "archid", "choices",
                                                "metrics", "hardware"},
                          required=("space", "choices"), noun="ArchSpec", subject="an ArchSpec", error=ArchSpecError)
        spec = cls(
            space=d["space"],
            choices=d["choices"],
            space_kwargs=d.get("space_kwargs") or {},
            metrics=d.get("metrics") or {},
            space_ref=d.get("space_ref"),
            hardware=d.get("hardware"),
        )
        if "archid" in d and d["archid"] != spec.archid:
            raise ArchSpecError(
                f"archid {d['archid']!r} does not match the choices (expected {spec.archid!r}); "
                "the file was edited or corrupted: delete the 'archid' field to accept the choices as they are"
            )
        return spec

    @classmethod
    def from_json(cls, text: str) -> ArchSpec:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ArchSpecError(f"not valid JSON: {e}") from None
        return cls.from_dict(d)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically (temp file + rename)."""
        path = Path(path)
        make_dir(path.parent, what="folder of the ArchSpec file")
        return write_bytes_atomic(path, (self.to_json() + "\n").encode("utf-8"), what="ArchSpec file")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ArchSpec:
        path = Path(path)
        if path.is_dir():
            hint = f"; did you mean {str(path / 'arch.json')!r}?" if (path / "arch.json").is_file() else ""
            raise ArchSpecError(f"ArchSpec file {str(path)!r} is a folder, not a file{hint}")
        if not path.is_file():
            raise ArchSpecError(f"ArchSpec file {str(path)!r} does not exist")
        try:
            return cls.from_json(read_text(path, what="ArchSpec file"))
        except ArchSpecError as e:
            raise ArchSpecError(f"{path}: {e}") from None


def _jsonable(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "item") and callable(x.item):  # numpy / torch scalars
        return x.item()
    return x
