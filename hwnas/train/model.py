"""The network ``hwnas train`` trains: an ArchSpec frozen in its space at the recipe's setting."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from torch import nn

from hwnas.api.archspec import ArchSpec
from hwnas.api.config import ConfigError
from hwnas.api.freeze import freeze
from hwnas.search.builders import resolve_space_class


@dataclass(frozen=True)
class BuiltModel:
    """The network and how to rebuild it (what ``model.pt`` records)."""

    net: nn.Module
    arch: ArchSpec
    space_kwargs: dict[str, Any]
    freeze_kwargs: dict[str, Any]
    input_size: tuple[int, ...]


def build_train_model(arch: ArchSpec, *, space_kwargs: dict[str, Any], freeze_kwargs: dict[str, Any],
                      num_classes: int, in_channels: int, image_size: int, aux_weight: float = 0.0,
                      drop_path: float = 0.0) -> BuiltModel:
    """``space(**kwargs).freeze(arch, **freeze_kwargs)`` with the data's classes and channels.

    ``kwargs`` = the arch's ``space_kwargs`` updated with ``space_kwargs``; ``num_classes`` and
    ``in_channels`` follow the data unless ``space_kwargs`` pins them. ``aux_weight > 0`` asks the space's
    ``freeze`` for its auxiliary head, ``drop_path > 0`` needs a network with a ``drop_path_prob``
    attribute (DARTS's); either on a space without them is an error naming the key to change.

    Example:
        >>> from hwnas.api import ARCHS
        >>> m = build_train_model(ARCHS.get("darts_v2"), space_kwargs={"C": 8, "layers": 5}, freeze_kwargs={},
        ...                       num_classes=10, in_channels=1, image_size=16, aux_weight=0.4)
        >>> m.freeze_kwargs, m.space_kwargs["in_channels"]
        ({'auxiliary': True}, 1)
    """
    cls = resolve_space_class(arch.space)
    params = inspect.signature(cls).parameters
    kwargs = {**dict(arch.space_kwargs), **dict(space_kwargs)}
    for key, value in (("num_classes", num_classes), ("in_channels", in_channels)):
        if key in params and key not in space_kwargs:
            kwargs[key] = value
    unknown = [k for k in kwargs if k not in params] if not _has_var_kw(params) else []
    if unknown:
        raise ConfigError(f"model.space_kwargs: {arch.space!r} takes no {', '.join(map(repr, unknown))}; "
                          f"its keys: {', '.join(n for n in params if n != 'self')}")
    try:
        space = cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"model.space_kwargs: {e}") from None
    fk = dict(freeze_kwargs)
    freeze_params = inspect.signature(space.freeze).parameters if hasattr(space, "freeze") else {}
    if aux_weight > 0:
        if "auxiliary" not in freeze_params:
            raise ConfigError(f"reg.aux_weight={aux_weight} needs an auxiliary head, which the {arch.space!r} space "
                              "does not build; set reg.aux_weight=0")
        fk.setdefault("auxiliary", True)
    net = space.freeze(arch, **fk) if fk else freeze(space, arch)
    if drop_path > 0 and not hasattr(net, "drop_path_prob"):
        raise ConfigError(f"reg.drop_path={drop_path} needs a network with drop-path (the DARTS evaluation network); "
                          f"the {arch.space!r} network has none: set reg.drop_path=0")
    return BuiltModel(net, arch, getattr(space, "space_kwargs", kwargs), fk, (in_channels, image_size, image_size))


def _has_var_kw(params: Any) -> bool:
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
