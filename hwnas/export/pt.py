"""The hwnas model file (``model.pt``): a plain network's weights plus the ArchSpec that rebuilds it.

The file is a dict of plain values and tensors, so ``torch.load(path, weights_only=True)`` reads it
anywhere, and :func:`load_model` turns it back into the network with one call:
``{"format", "arch", "space", "space_kwargs", "freeze_kwargs", "metrics", "state_dict"}``.

Example:
    >>> import tempfile, torch
    >>> from hwnas.api import SPACES
    >>> from hwnas.export import load_model, save_model
    >>> from hwnas.search_spaces import nb201_str_to_arch
    >>> kwargs = {"C": 4, "N": 1, "num_classes": 3}
    >>> space = SPACES.get("nb201")(**kwargs)
    >>> arch = nb201_str_to_arch("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_1x1~2|")
    >>> path = save_model(f"{tempfile.mkdtemp()}/model.pt", space.freeze(arch), arch, space_kwargs=kwargs)
    >>> load_model(path)(torch.zeros(1, 3, 8, 8)).shape
    torch.Size([1, 3])
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hwnas.api.archspec import ArchSpec
from hwnas.api.errors import UserError
from hwnas.api.freeze import freeze
from hwnas.export.errors import ModelFileError
from hwnas.search.builders import resolve_space_class
from hwnas.search.checkpoint import save_checkpoint

FORMAT = "hwnas.model/1"
_KEYS = ("format", "arch", "space", "space_kwargs", "freeze_kwargs", "metrics", "state_dict")
# Wrappers whose state-dict keys gain a prefix: DDP / DataParallel (`module.`), torch.compile (`_orig_mod.`).
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says about its network, without building it."""

    arch: ArchSpec
    space_kwargs: Mapping[str, Any] = field(default_factory=dict)
    freeze_kwargs: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)


def save_model(path: str | os.PathLike[str], model: nn.Module, arch: ArchSpec, *, space_kwargs: Mapping[str, Any],
               freeze_kwargs: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None) -> Path:
    """Write ``model``'s weights and how to rebuild it to ``path`` atomically.

    Args:
        path: The file to write (conventionally ``model.pt``).
        model: The network ``freeze(space(**space_kwargs), arch, **freeze_kwargs)`` built, trained or not;
            a DDP / DataParallel / ``torch.compile`` wrapper is unwrapped.
        arch: Its architecture; ``arch.space`` is a registered name or ``module:Class``.
        space_kwargs: The space's settings the network was built with (they may differ from the search's).
        freeze_kwargs: Extra keywords of the space's ``freeze`` (DARTS: ``auxiliary``, ``drop_path_prob``).
        metrics: Plain figures to keep with the weights (accuracies, params).

    Raises:
        ModelFileError: when a setting or metric is not plain JSON-like data, or when ``model``'s weights
            do not fit the network ``arch`` and the settings describe (checked now, not at load time).
    """
    state = {k: v.detach().cpu() for k, v in _unwrapped_state_dict(model).items()}
    info = ModelInfo(arch, _plain("space_kwargs", space_kwargs), _plain("freeze_kwargs", freeze_kwargs or {}))
    _check_fits(info, state)
    doc = {
        "format": FORMAT,
        "arch": arch.to_dict(),
        "space": arch.space,
        "space_kwargs": dict(info.space_kwargs),
        "freeze_kwargs": dict(info.freeze_kwargs),
        "metrics": _plain("metrics", metrics or {}),
        "state_dict": state,
    }
    return save_checkpoint(path, doc)


def read_model_info(path: str | os.PathLike[str]) -> ModelInfo:
    """The ArchSpec, settings and metrics stored in a model file (see :func:`save_model`)."""
    return _info(_read(Path(path), "cpu"), Path(path))


def load_model(path: str | os.PathLike[str], *, map_location: Any = "cpu") -> nn.Module:
    """Rebuild the network stored by :func:`save_model` and load its weights (strict), in eval mode.

    The file is read with ``torch.load(weights_only=True)``; the network is
    ``freeze(space(**space_kwargs), arch, **freeze_kwargs)``, a plain ``nn.Module``.

    Raises:
        ModelFileError: the file is missing, is not an hwnas model file, has a newer format, or its
            weights do not fit the network its settings describe.
    """
    path = Path(path)
    doc = _read(path, map_location)
    info = _info(doc, path)
    net = build_network(info)
    result = net.load_state_dict(doc["state_dict"], strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ModelFileError(
            f"{path}: the weights do not fit the network of {info.arch.archid} built with its space_kwargs "
            f"(missing {_few(result.missing_keys)}, unexpected {_few(result.unexpected_keys)}); "
            "the file was written with other settings than it records"
        )
    if isinstance(map_location, (str, torch.device)):
        net.to(map_location)
    return net.eval()


def build_network(info: ModelInfo) -> nn.Module:
    """The untrained network of a :class:`ModelInfo`: ``freeze(space(**space_kwargs), arch, **freeze_kwargs)``."""
    space = resolve_space_class(info.arch.space)(**info.space_kwargs)
    if info.freeze_kwargs:
        return space.freeze(info.arch, **info.freeze_kwargs)
    return freeze(space, info.arch)


def _unwrapped_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    while True:  # a compiled DDP model nests both wrappers
        inner = getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module) and isinstance(
            model, (nn.parallel.DistributedDataParallel, nn.DataParallel)
        ):
            inner = model.module
        if not isinstance(inner, nn.Module):
            break
        model = inner
    out = {}
    for key, value in model.state_dict().items():
        while key.startswith(_WRAPPER_PREFIXES):  # a state dict gathered from a wrapper some other way
            key = key.split(".", 1)[1]
        out[key] = value
    return out


def _check_fits(info: ModelInfo, state: Mapping[str, torch.Tensor]) -> None:
    with torch.device("meta"):  # shapes only: no memory, no init time
        expected = {k: tuple(v.shape) for k, v in build_network(info).state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if expected != got:
        missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
        shapes = [k for k in expected.keys() & got.keys() if expected[k] != got[k]]
        raise ModelFileError(
            f"save_model: the model is not the network of {info.arch.archid} with space_kwargs "
            f"{dict(info.space_kwargs)} and freeze_kwargs {dict(info.freeze_kwargs)} (missing {_few(missing)}, "
            f"unexpected {_few(extra)}, other shapes {_few(sorted(shapes))}); pass the settings it was built with"
        )


def _plain(what: str, value: Mapping[str, Any]) -> dict[str, Any]:
    # JSON round trip: tuples become lists, and anything torch's weights-only reader would refuse is caught here.
    try:
        return json.loads(json.dumps(dict(value)))
    except (TypeError, ValueError) as e:
        raise ModelFileError(
            f"save_model: {what} must hold plain values (numbers, strings, lists, dicts): {e}"
        ) from None


def _read(path: Path, map_location: Any) -> dict[str, Any]:
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} does not exist")
    try:
        doc = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as e:
        # torch's own message suggests an unsafe load; name the problem instead.
        raise ModelFileError(
            f"{path} is not an hwnas model file: it is not a PyTorch file of tensors and plain values "
            f"({type(e).__name__}); write one with hwnas.export.save_model or 'hwnas export --format pt'"
        ) from None
    if not isinstance(doc, dict) or "format" not in doc:
        what = "a state dict or checkpoint without an architecture" if isinstance(doc, dict) else type(doc).__name__
        raise ModelFileError(
            f"{path} is not an hwnas model file: it holds {what}; write one with hwnas.export.save_model "
            "or 'hwnas export --format pt'"
        )
    fmt = doc["format"]
    if fmt != FORMAT:
        known = isinstance(fmt, str) and fmt.startswith("hwnas.model/")
        raise ModelFileError(
            f"{path} has format {fmt!r}; this hwnas reads {FORMAT!r}"
            + ("; upgrade hwnas to read it" if known else ", so it is not an hwnas model file")
        )
    missing = [k for k in _KEYS if k not in doc]
    if missing:
        raise ModelFileError(f"{path} is an incomplete hwnas model file: missing {missing}")
    return doc


def _info(doc: dict[str, Any], path: Path) -> ModelInfo:
    try:
        arch = ArchSpec.from_dict(doc["arch"])
    except UserError as e:
        raise ModelFileError(f"{path}: its architecture is invalid: {e}") from None
    return ModelInfo(arch, dict(doc["space_kwargs"]), dict(doc["freeze_kwargs"]), dict(doc["metrics"]))


def _few(keys: list[str]) -> str:
    return "none" if not keys else ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
