"""A small name -> object registry that fails loudly."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from hwnas.api.errors import UserError

T = TypeVar("T")


class RegistryError(UserError, KeyError):
    """Raised for an unknown or duplicate registry name; the message lists the known names."""

    def __str__(self) -> str:  # KeyError would repr() the message and add quotes.
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Maps names to objects (classes, factories, configs).

    Args:
        kind: What is registered, used in error messages ("op", "search space", ...).
        populate: Modules imported the first time a lookup misses, so that registering
            happens on import without this leaf package importing its plug-ins directly.

    Example:
        >>> reg = Registry("widget")
        >>> @reg.register("blue")
        ... def blue():
        ...     return "blue"
        >>> reg.get("blue")()
        'blue'
    """

    def __init__(self, kind: str, *, populate: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._populate = populate
        self._populated = not populate

    def register(self, name: str | None = None, obj: T | None = None) -> Any:
        """Register ``obj`` under ``name``; usable as a decorator when ``obj`` is omitted."""

        def _do(o: T) -> T:
            key = name or getattr(o, "__name__", None)
            if not key:
                raise ValueError(f"cannot infer a {self.kind} name for {o!r}; pass name=")
            if key in self._items and self._items[key] is not o:
                raise RegistryError(f"{self.kind} {key!r} is already registered; pick another name")
            self._items[key] = o
            return o

        return _do(obj) if obj is not None else _do

    def _ensure_populated(self) -> None:
        if not self._populated:
            self._populated = True
            for mod in self._populate:
                importlib.import_module(mod)

    def get(self, name: str) -> T:
        """Return the object registered as ``name``; unknown names raise with the known ones listed."""
        self._ensure_populated()
        try:
            return self._items[name]
        except KeyError:
            hint = difflib.get_close_matches(str(name), self._items, n=1)
            did = f" Did you mean {hint[0]!r}?" if hint else ""
            raise RegistryError(
                f"unknown {self.kind} {name!r}.{did} Known: {', '.join(sorted(self._items)) or '(none)'}"
            ) from None

    def names(self) -> list[str]:
        self._ensure_populated()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._ensure_populated()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._ensure_populated()
        return len(self._items)

    def items(self) -> list[tuple[str, T]]:
        self._ensure_populated()
        return sorted(self._items.items())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._items)} entries)"


OpFactory = Callable[..., Any]
