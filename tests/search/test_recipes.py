import pytest

from hwnas.api import ConfigError
from hwnas.search import SearchConfig, list_recipes, load_search_config
from hwnas.search.recipes import recipe_path

EXPECTED = {
    "quickstart",
    "darts_cifar10",
    "darts_cifar10_2nd",
    "pcdarts_cifar10",
    "pcdarts_imagenet",
    "proxyless_imagenet",
    "darts_nb201",
    "darts_pt_nb201",
    "darts_pt_fixalpha_nb201",
    "darts_pt_darts",
    "gmnas_nb201",
    "gmnas_darts",
}


def test_all_recipes_ship():
    assert EXPECTED <= set(list_recipes())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recipe_loads_typed(name):
    cfg = load_search_config(name)
    assert isinstance(cfg, SearchConfig) and cfg.name == name


def test_paper_settings():
    d = load_search_config("darts_cifar10").train
    assert (d.w_lr, d.w_lr_min, d.w_momentum, d.w_weight_decay, d.grad_clip) == (0.025, 0.001, 0.9, 3e-4, 5.0)
    assert (d.arch_lr, d.arch_betas, d.arch_weight_decay, d.order) == (3e-4, (0.5, 0.999), 1e-3, "first")
    assert load_search_config("darts_cifar10_2nd").train.order == "second"
    p = load_search_config("pcdarts_cifar10")
    assert (p.train.arch_start_epoch, p.train.w_lr, p.train.arch_lr, p.supernet.name) == (15, 0.1, 6e-4, "pc_darts")
    x = load_search_config("proxyless_imagenet")
    assert x.train.arch_betas[0] == 0.0 and x.train.arch_start_epoch == 40 and x.train.arch_every == 5


def test_selection_and_split_recipes_hold_the_papers_settings():
    pt = load_search_config("darts_pt_nb201")
    assert (pt.train.epochs, pt.data.batch_size, pt.space.kwargs) == (100, 64, {"C": 16, "N": 5})
    assert pt.selection.name == "perturbation" and pt.selection.kwargs["tune_epochs"] == 25
    assert pt.selection.kwargs["proj_interval"] == 5 and pt.selection.kwargs["lr_factor"] == 0.1
    assert load_search_config("darts_pt_fixalpha_nb201").train.fix_alpha and not pt.train.fix_alpha
    d = load_search_config("darts_pt_darts")
    assert len(d.space.kwargs["candidates"]) == 7 and "none" not in d.space.kwargs["candidates"]
    assert (d.train.epochs, d.seed) == (50, 2)
    g = load_search_config("gmnas_nb201")
    assert g.splits.epochs == (15, 30) and g.train.epochs == 60 and g.train.arch_start_epoch == 30
    assert (g.splits.edge_rule, g.splits.force, g.splits.grad_scope, g.splits.repeats) == ("cross", "hard", ("cells",),
                                                                                           100)
    assert (g.data.batch_size, g.train.w_weight_decay, g.train.w_nesterov, g.train.order) == (48, 5e-4, True, "second")
    gd = load_search_config("gmnas_darts")
    assert gd.splits.epochs == (2, 4, 6) and gd.train.epochs == 21 and gd.splits.labels == ("normal/*",)
    assert (gd.splits.edge_rule, gd.splits.force, gd.supernet.kwargs["alpha_init_std"]) == ("within", "soft", 0.0)


def test_overrides_and_errors():
    cfg = load_search_config("quickstart", ["train.epochs=1", "data.batch_size=8", "space.kwargs.C=4"])
    assert cfg.space.kwargs == {"C": 4, "N": 1}
    assert cfg.train.epochs == 1 and cfg.data.batch_size == 8 and cfg.space.kwargs["C"] == 4
    with pytest.raises(ConfigError, match="unknown config key 'train.epoch'.*Did you mean 'epochs'"):
        load_search_config("quickstart", ["train.epoch=1"])
    with pytest.raises(ConfigError, match="train.epochs: expected an integer"):
        load_search_config("quickstart", ["train.epochs=two"])
    with pytest.raises(ConfigError, match="unknown recipe 'nope'; shipped recipes: .*quickstart"):
        load_search_config("nope")
    with pytest.raises(ConfigError, match="does not exist"):
        recipe_path("missing/recipe.yaml")
    with pytest.raises(ConfigError, match="train_portion must lie strictly between 0 and 1"):
        load_search_config("quickstart", ["data.train_portion=1.5"])


def test_recipe_from_file(tmp_path):
    p = tmp_path / "mine.yaml"
    p.write_text("name: mine\ntrain: {epochs: 2}\n")
    cfg = load_search_config(str(p))
    assert cfg.name == "mine" and cfg.train.epochs == 2 and cfg.space.name == "darts"
