"""Build the pieces of a search from its config: device, space, supernet, cost terms, selector."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hwnas.api.archspec import ArchSpec
from hwnas.api.config import ConfigError
from hwnas.api.device import resolve_device as _resolve_device
from hwnas.api.registries import COST_MODELS, SELECTORS, SPACES, SUPERNETS
from hwnas.losses import CostTerm
from hwnas.search.config import CostConfig, SearchConfig


def resolve_device(name: str) -> torch.device:
    """The config's ``device`` (``auto`` picks CUDA when present, else the CPU)."""
    return _resolve_device(name, fix="--set device=cpu")


def _call_checked(what: str, factory: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call ``factory`` after checking ``kwargs`` against its signature, so a typo names the key."""
    sig = inspect.signature(factory)
    params = sig.parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        valid = [n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and n != "self"]
        for k in kwargs:
            if k not in valid:
                raise ConfigError(f"unknown config key '{what}.kwargs.{k}'; valid keys: {', '.join(valid)}")
    try:
        return factory(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{what}: {e}") from None


def resolve_space_class(name: str | ArchSpec) -> Any:
    """The space class of a registered name, of ``package.module:ClassName``, or of an ArchSpec.

    An ArchSpec's ``space_ref`` (recorded for spaces that are not registered) wins over its name.

    Example:
        >>> from hwnas.api import ARCHS
        >>> resolve_space_class(ARCHS.get("darts_v2")).__name__
        'DartsSpace'
    """
    if isinstance(name, ArchSpec):
        return _space_class_of_arch(name)
    if ":" not in name:
        return SPACES.get(name)
    mod_name, _, attr = name.partition(":")
    # A console script does not put the working directory on sys.path; `python -m` would, so do the same.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(mod_name)
    except ImportError as e:
        raise ConfigError(
            f"space {name!r}: cannot import module {mod_name!r} ({e}); put the folder that holds it on PYTHONPATH "
            "or run from that folder"
        ) from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"space {name!r}: module {mod_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _space_class_of_arch(arch: ArchSpec) -> Any:
    if arch.space_ref:
        return resolve_space_class(arch.space_ref)
    if ":" in arch.space or arch.space in SPACES:
        return resolve_space_class(arch.space)
    raise ConfigError(
        f"unknown search space {arch.space!r} (registered: {', '.join(SPACES.names())}); the ArchSpec does not say "
        "where its class lives: add \"space_ref\": \"package.module:ClassName\" to the arch.json"
    )


def build_space(cfg: SearchConfig, *, num_classes: int, in_channels: int) -> nn.Module:
    cls = resolve_space_class(cfg.space.name)
    kwargs = dict(cfg.space.kwargs)
    params = inspect.signature(cls).parameters
    # The data decides these unless the recipe pins them.
    if "num_classes" in params:
        kwargs.setdefault("num_classes", num_classes)
    if "in_channels" in params:
        kwargs.setdefault("in_channels", in_channels)
    return _call_checked("space", cls, (), kwargs)


def build_supernet(cfg: SearchConfig, space: nn.Module) -> nn.Module:
    return _call_checked("supernet", SUPERNETS.get(cfg.supernet.name), (space,), dict(cfg.supernet.kwargs))


def build_cost_terms(
    costs: tuple[CostConfig, ...], *, supernet: nn.Module, example_input: torch.Tensor, run_dir: Path | None = None
) -> list[CostTerm]:
    """Resolve each cost entry's target name to a differentiable cost function.

    A factory that takes a ``run_dir`` keyword (or ``**kwargs``) gets the run folder, to keep what it
    builds (a measured table) with the run.
    """
    terms = []
    for c in costs:
        factory = COST_MODELS.get(c.target.split(":", 1)[0])
        extra = {"run_dir": run_dir} if run_dir is not None and _accepts(factory, "run_dir") else {}
        fn = factory(c.target, metric=c.metric, supernet=supernet, example_input=example_input, **extra)
        terms.append(CostTerm(cost_fn=fn, target=c.value, form=c.form, beta=c.beta, weight=c.weight, name=c.metric))
    return terms


def _accepts(fn: Any, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def build_selector(cfg: SearchConfig) -> Any:
    return _call_checked("selection", SELECTORS.get(cfg.selection.name), (), dict(cfg.selection.kwargs))
