"""Training recipes: shipped ``recipes/train_<name>.yaml`` files (``--recipe quick``) or a YAML path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hwnas.api.config import ConfigError, apply_overrides, from_dict
from hwnas.search.recipes import TRAIN_PREFIX, ShippedRecipes, resolve_bases
from hwnas.train.config import TrainRunConfig

DEFAULT_TRAIN_RECIPE = "quick"


TRAIN_RECIPES = ShippedRecipes(TRAIN_PREFIX)


def list_train_recipes() -> list[str]:
    """Names of the shipped training recipes, without their ``train_`` file prefix."""
    return TRAIN_RECIPES.names()


def train_recipe_path(recipe: str) -> Path:
    """A shipped name (``quick`` or ``train_quick``) or a YAML file path."""
    p = Path(recipe)
    if p.suffix in (".yaml", ".yml") or "/" in recipe:
        if p.is_dir():
            raise ConfigError(f"recipe {recipe!r} is a folder, not a YAML file; give the recipe file's path")
        if not p.is_file():
            raise ConfigError(f"recipe file {recipe!r} does not exist")
        return p
    shipped = TRAIN_RECIPES(recipe.removeprefix(TRAIN_PREFIX))
    if shipped is None:
        raise ConfigError(f"unknown training recipe {recipe!r}; shipped: {', '.join(list_train_recipes())} "
                          "(or pass a YAML path)")
    return shipped


def load_train_dict(recipe: str | None) -> dict[str, Any]:
    """The recipe's mapping with its ``base:`` chain merged in (``base: darts_cifar10`` names a training recipe)."""
    return resolve_bases(train_recipe_path(recipe or DEFAULT_TRAIN_RECIPE), shipped=TRAIN_RECIPES)


def load_train_config(recipe: str | None = None, overrides: Sequence[str] = ()) -> TrainRunConfig:
    """Load a training recipe (name or path; default ``quick``) and apply ``key=value`` overrides.

    Example:
        >>> cfg = load_train_config("darts_cifar10", ["epochs=2"])
        >>> cfg.epochs, cfg.data.batch_size, cfg.reg.aux_weight
        (2, 96, 0.4)
    """
    return from_dict(TrainRunConfig, apply_overrides(load_train_dict(recipe), overrides))
