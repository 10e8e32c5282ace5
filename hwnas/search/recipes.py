"""Find recipes (shipped by name, or a YAML path) and turn them into a typed SearchConfig."""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hwnas.api.config import ConfigError, apply_overrides, from_dict, load_yaml
from hwnas.search.config import SearchConfig

DEFAULT_RECIPE = "quickstart"


def list_recipes() -> list[str]:
    """Names of the recipes shipped with hwnas."""
    root = importlib.resources.files("hwnas.recipes")
    return sorted(p.name[: -len(".yaml")] for p in root.iterdir() if p.name.endswith(".yaml"))


def recipe_path(recipe: str) -> Path:
    """Resolve a shipped recipe name or a YAML file path."""
    p = Path(recipe)
    if p.suffix in (".yaml", ".yml") or p.exists() or "/" in recipe:
        if not p.is_file():
            raise ConfigError(f"recipe file {recipe!r} does not exist")
        return p
    shipped = importlib.resources.files("hwnas.recipes") / f"{recipe}.yaml"
    if not shipped.is_file():
        raise ConfigError(
            f"unknown recipe {recipe!r}; shipped recipes: {', '.join(list_recipes())} (or pass a YAML path)"
        )
    return Path(str(shipped))


def load_recipe_dict(recipe: str | None) -> dict[str, Any]:
    return load_yaml(recipe_path(recipe or DEFAULT_RECIPE))


def load_search_config(recipe: str | None = None, overrides: Sequence[str] = ()) -> SearchConfig:
    """Load a recipe (name or path; default ``quickstart``) and apply ``key=value`` overrides.

    Example:
        >>> cfg = load_search_config("quickstart", ["train.epochs=1"])
        >>> cfg.train.epochs
        1
    """
    data = apply_overrides(load_recipe_dict(recipe), overrides)
    return config_from_dict(data)


def config_from_dict(data: dict[str, Any]) -> SearchConfig:
    return from_dict(SearchConfig, data)
