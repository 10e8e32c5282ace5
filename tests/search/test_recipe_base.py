"""``base:`` in a recipe file: start from another recipe, deep-merged, chains and cycles, never saved."""

from pathlib import Path

import pytest

from hwnas.api import ConfigError
from hwnas.api.config import dump_yaml
from hwnas.search import SearchConfig, load_search_config
from hwnas.search.recipes import list_recipes

COST = "{target: 'tpe:systolic-32x32-ws-int8', metric: latency_ms, value: %s, form: soft, beta: 0.6}"


def _write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_child_wins_mappings_merge_and_base_is_not_saved(tmp_path):
    mine = _write(tmp_path / "mine.yaml", "base: quickstart\nname: mine\ntrain: {epochs: 2}\n"
                                          "selection: {kwargs: {eval_batches: 3}}\n")
    cfg = load_search_config(mine)
    quick = load_search_config("quickstart")
    assert (cfg.name, cfg.train.epochs) == ("mine", 2)
    # everything the child does not say comes from quickstart, not from the library defaults
    assert (cfg.train.arch_lr, cfg.train.w_lr, cfg.space.kwargs) == (3e-3, 0.025, {"C": 8, "N": 1})
    assert cfg.selection.name == "perturbation" and dict(cfg.selection.kwargs) == {"proj_interval": 1,
                                                                                   "eval_batches": 3}
    assert cfg.data == quick.data
    saved = dump_yaml(cfg)
    assert "base" not in saved and "mine" in saved


def test_chain_of_relative_paths_and_lists_replace(tmp_path):
    _write(tmp_path / "a.yaml", f"base: quickstart\ncost:\n  - {COST % 1.0}\n  - {COST % 2.0}\ntrain: {{epochs: 3}}\n")
    _write(tmp_path / "sub" / "b.yaml", f"base: ../a.yaml\ncost:\n  - {COST % 5.0}\n")
    c = _write(tmp_path / "sub" / "c.yaml", "base: b.yaml\ntrain: {w_lr: 0.5}\n")
    cfg = load_search_config(c, ["train.arch_lr=0.01"])
    assert [x.value for x in cfg.cost] == [5.0]  # a list replaces, it does not append
    assert (cfg.train.epochs, cfg.train.w_lr, cfg.train.arch_lr, cfg.space.name) == (3, 0.5, 0.01, "nb201")


def test_cycle_names_the_chain(tmp_path):
    a = _write(tmp_path / "a.yaml", "base: b.yaml\n")
    _write(tmp_path / "b.yaml", "base: a.yaml\n")
    with pytest.raises(ConfigError, match=r"recipe 'base:' chain loops: .*a\.yaml -> .*b\.yaml -> .*a\.yaml"):
        load_search_config(a)


def test_unknown_base_lists_the_shipped_recipes(tmp_path):
    bad = _write(tmp_path / "bad.yaml", "base: quickstrat\n")
    with pytest.raises(ConfigError, match="unknown base recipe 'quickstrat'; shipped recipes: ") as e:
        load_search_config(bad)
    assert all(name in str(e.value) for name in list_recipes())
    missing = _write(tmp_path / "missing.yaml", "base: nothere.yaml\n")
    with pytest.raises(ConfigError, match="base recipe file 'nothere.yaml' does not exist"):
        load_search_config(missing)


def test_without_base_omitted_sections_are_library_defaults(tmp_path):
    cfg = load_search_config(_write(tmp_path / "plain.yaml", "train: {epochs: 2}\n"))
    defaults = SearchConfig()
    assert cfg.train.epochs == 2 and cfg.train.w_lr == defaults.train.w_lr
    assert (cfg.space, cfg.supernet, cfg.selection) == (defaults.space, defaults.supernet, defaults.selection)
    assert cfg.space.name == "darts"  # not the quickstart's nb201: say `base: quickstart` to start from it
