"""Training recipes: shipped ``recipes/train_<name>.yaml`` files (``--recipe quick``) or a YAML path."""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hwnas.api.config import ConfigError, apply_overrides, from_dict, load_yaml
from hwnas.train.config import TrainRunConfig

DEFAULT_TRAIN_RECIPE = "quick"
PREFIX = "train_"


def list_train_recipes() -> list[str]:
    """Names of the shipped training recipes, without their ``train_`` file prefix."""
    root = importlib.resources.files("hwnas.recipes")
    return sorted(p.name[len(PREFIX): -len(".yaml")] for p in root.iterdir()
                  if p.name.startswith(PREFIX) and p.name.endswith(".yaml"))


def train_recipe_path(recipe: str) -> Path:
    """A shipped name (``quick`` or ``train_quick``) or a YAML file path."""
    p = Path(recipe)
    if p.suffix in (".yaml", ".yml") or "/" in recipe:
        if not p.is_file():
            raise ConfigError(f"recipe file {recipe!r} does not exist")
        return p
    name = recipe[len(PREFIX):] if recipe.startswith(PREFIX) else recipe
    shipped = importlib.resources.files("hwnas.recipes") / f"{PREFIX}{name}.yaml"
    if not shipped.is_file():
        raise ConfigError(f"unknown training recipe {recipe!r}; shipped: {', '.join(list_train_recipes())} "
                          "(or pass a YAML path)")
    return Path(str(shipped))


def load_train_dict(recipe: str | None) -> dict[str, Any]:
    """The recipe's mapping, with ``base:`` inheritance when the recipe loader supports it."""
    path = train_recipe_path(recipe or DEFAULT_TRAIN_RECIPE)
    try:
        from hwnas.search.recipes import resolve_recipe_file  # inheritance (``base:``), when present
    except ImportError:
        return load_yaml(path)
    return resolve_recipe_file(path)


def load_train_config(recipe: str | None = None, overrides: Sequence[str] = ()) -> TrainRunConfig:
    """Load a training recipe (name or path; default ``quick``) and apply ``key=value`` overrides.

    Example:
        >>> cfg = load_train_config("darts_cifar10", ["epochs=2"])
        >>> cfg.epochs, cfg.data.batch_size, cfg.reg.aux_weight
        (2, 96, 0.4)
    """
    return from_dict(TrainRunConfig, apply_overrides(load_train_dict(recipe), overrides))
