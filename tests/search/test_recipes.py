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


def test_overrides_and_errors():
    cfg = load_search_config("quickstart", ["train.epochs=1", "data.batch_size=8", "space.kwargs.C=4"])
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
