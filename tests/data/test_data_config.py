"""DataConfig: defaults, typed loading, validation, and building from it."""

import pytest

from hwnas.api import ConfigError, apply_overrides, from_dict
from hwnas.data import Cutout, DataConfig, eval_data_from_config, search_data_from_config
from hwnas.data.transforms import Fit


def test_defaults_and_overrides():
    cfg = DataConfig()
    assert (cfg.name, cfg.root, cfg.download, cfg.train_portion, cfg.image_size, cfg.subset) == (
        "embedded", None, False, 0.5, None, None)
    assert (cfg.batch_size, cfg.num_workers, cfg.cutout) == (64, 0, 0)
    raw = apply_overrides({}, ["name=cifar10", "root=/data", "download=true", "subset=128"])
    cfg = from_dict(DataConfig, raw)
    assert (cfg.name, cfg.root, cfg.download, cfg.subset) == ("cifar10", "/data", True, 128)


@pytest.mark.parametrize("bad", [{"train_portion": 1.0}, {"subset": 0}, {"batch_size": 0}, {"cutout": -1},
                                 {"image_size": 0}, {"num_workers": -2}, {"downlaod": True}, {"subset": "many"}])
def test_bad_values_are_config_errors(bad):
    with pytest.raises(ConfigError):
        from_dict(DataConfig, bad, prefix="data")


def test_build_from_config():
    cfg = DataConfig(subset=32, train_portion=0.6, image_size=32)
    data = search_data_from_config(cfg, seed=1)
    assert (len(data.train), len(data.valid), data.image_size) == (32, 32, 32)
    ev = eval_data_from_config(cfg, seed=1)
    assert (len(ev.train), len(ev.test)) == (32, 32)


def test_cutout_square_and_fit():
    import torch

    torch.manual_seed(0)
    out = Cutout(4)(torch.ones(3, 10, 10))
    zeroed = (out == 0).all(0)
    assert 4 <= int(zeroed.sum()) <= 16 and torch.equal(out == 0, zeroed.expand(3, -1, -1))
    assert Fit(28, 32).pad == 2 and Fit(28, 20).pad == 0 and Fit(28, 64).pad == 0
