"""Find recipes (shipped by name, or a YAML path) and turn them into a typed SearchConfig."""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hwnas.api.config import ConfigError, apply_overrides, from_dict, load_yaml
from hwnas.search.config import SearchConfig

DEFAULT_RECIPE = "quickstart"
#: Shipped training recipes (``hwnas train``) are ``train_<name>.yaml``; they are not search recipes.
TRAIN_PREFIX = "train_"


def list_recipes() -> list[str]:
    """Names of the recipes shipped with hwnas."""
    return SEARCH_RECIPES.names()


def recipe_path(recipe: str) -> Path:
    """Resolve a shipped recipe name or a YAML file path."""
    p = Path(recipe)
    if p.suffix in (".yaml", ".yml") or p.exists() or "/" in recipe:
        if p.is_dir():
            raise ConfigError(f"recipe {recipe!r} is a folder, not a YAML file; give the recipe file's path")
        if not p.is_file():
            raise ConfigError(f"recipe file {recipe!r} does not exist")
        return p
    shipped = SEARCH_RECIPES(recipe)
    if shipped is None:
        if ShippedRecipes(TRAIN_PREFIX)(recipe.removeprefix(TRAIN_PREFIX)) is not None:
            raise ConfigError(f"{recipe!r} is a training recipe: hwnas train ARCH --recipe "
                              f"{recipe.removeprefix(TRAIN_PREFIX)}")
        raise ConfigError(
            f"unknown recipe {recipe!r}; shipped recipes: {', '.join(list_recipes())} (or pass a YAML path)"
        )
    return shipped


def load_recipe_dict(recipe: str | None) -> dict[str, Any]:
    """The recipe's mapping with its ``base:`` chain merged in (see :func:`resolve_bases`)."""
    return resolve_bases(recipe_path(recipe or DEFAULT_RECIPE))


def resolve_bases(path: Path, *, shipped: ShippedRecipes | None = None) -> dict[str, Any]:
    r"""Read a recipe file and merge it over the recipe its ``base:`` names, recursively.

    ``base`` is a shipped recipe name or a YAML path relative to the file. Mappings merge key by key
    (the file wins), any other value (lists included) replaces the base's. ``base`` itself is dropped.
    A file without ``base`` is taken as it is: sections it omits get the library defaults. ``shipped`` maps a
    shipped recipe name to its file (default: the search recipes; ``hwnas train`` passes its own).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "mine.yaml").write_text("base: quickstart\ntrain: {epochs: 2}\n")
        >>> data = resolve_bases(d / "mine.yaml")
        >>> data["train"]["epochs"], data["space"]["name"], "base" in data
        (2, 'nb201', False)
    """
    return _resolve(Path(path), (), shipped or SEARCH_RECIPES)


def _resolve(path: Path, chain: tuple[Path, ...], shipped: ShippedRecipes) -> dict[str, Any]:
    key = path.resolve()
    if key in chain:
        names = " -> ".join(str(p) for p in (*chain[chain.index(key):], key))
        raise ConfigError(f"recipe 'base:' chain loops: {names}; remove one of these 'base:' lines")
    data = load_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: 'base' must be a recipe name or a YAML path, got {base!r}")
    return _deep_merge(_resolve(_base_path(base, path, shipped), (*chain, key), shipped), data)


def _base_path(base: str, child: Path, shipped: ShippedRecipes) -> Path:
    if base.endswith((".yaml", ".yml")) or "/" in base:
        p = Path(base) if Path(base).is_absolute() else child.parent / base
        if not p.is_file():
            raise ConfigError(f"{child}: base recipe file {base!r} does not exist (looked for {p})")
        return p
    found = shipped(base)
    if found is None:
        raise ConfigError(f"{child}: unknown base recipe {base!r}; shipped recipes: {', '.join(shipped.names())} "
                          "(or a YAML path relative to the file)")
    return found


class ShippedRecipes:
    """Shipped recipe files of one kind: search recipes (``<name>.yaml``) or training ones (``train_<name>.yaml``)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def names(self) -> list[str]:
        root = importlib.resources.files("hwnas.recipes")
        files = [p.name for p in root.iterdir() if p.name.endswith(".yaml")]
        if self.prefix:
            return sorted(f[len(self.prefix): -len(".yaml")] for f in files if f.startswith(self.prefix))
        return sorted(f[: -len(".yaml")] for f in files if not f.startswith(TRAIN_PREFIX))

    def __call__(self, name: str) -> Path | None:
        """The file of a shipped recipe name, or None."""
        if "/" in name or (not self.prefix and name.startswith(TRAIN_PREFIX)):
            return None
        path = importlib.resources.files("hwnas.recipes") / f"{self.prefix}{name}.yaml"
        return Path(str(path)) if path.is_file() else None


SEARCH_RECIPES = ShippedRecipes()


def _deep_merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in child.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_run_config(run_dir: str | Path, *, kind: str) -> dict[str, Any]:
    """The resolved config a run folder saved (``config.yaml``), checked to be a ``search`` or ``train`` run.

    Resuming a folder that does not exist, holds no config, or is the other kind of run is a ConfigError that
    names the folder and the command to use.
    """
    run_dir = Path(run_dir)
    path = run_dir / "config.yaml"
    if not run_dir.exists():
        raise ConfigError(f"cannot resume: run folder {str(run_dir)!r} does not exist")
    if not path.is_file():
        raise ConfigError(f"{run_dir} is not a run folder: it has no config.yaml (resume takes runs/<name>)")
    data = load_yaml(path)
    saved = "search" if "supernet" in data or "space" in data else "train" if "optim" in data else kind
    if saved != kind:
        raise ConfigError(f"{str(run_dir)!r} is a {'training' if saved == 'train' else saved} run: continue it "
                          f"with hwnas {saved} --resume {run_dir}")
    return data


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
