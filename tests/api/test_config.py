from dataclasses import dataclass, field
from typing import Literal

import pytest

from hwnas.api import ConfigError, apply_overrides, from_dict, load_yaml, parse_override, to_dict


@dataclass(frozen=True)
class Inner:
    lr: float = 0.1
    betas: tuple[float, float] = (0.5, 0.999)
    mode: Literal["a", "b"] = "a"


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    epochs: int = 3
    limit: int | None = None
    flag: bool = False
    inner: Inner = field(default_factory=Inner)
    kwargs: dict[str, object] = field(default_factory=dict)


def test_nested_load_and_types():
    cfg = from_dict(Outer, {"epochs": 5, "inner": {"lr": 1, "betas": [0, 0.9], "mode": "b"}, "kwargs": {"C": 4}})
    assert cfg.epochs == 5 and cfg.inner.lr == 1.0 and isinstance(cfg.inner.lr, float)
    assert cfg.inner.betas == (0.0, 0.9) and cfg.inner.mode == "b" and cfg.kwargs == {"C": 4}
    assert from_dict(Outer, to_dict(cfg)) == cfg


def test_scientific_notation_string_is_a_float():
    assert from_dict(Inner, {"lr": "3e-4"}).lr == pytest.approx(3e-4)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"epoch": 3}, "unknown config key 'epoch'. Did you mean 'epochs'"),
        ({"inner": {"lrr": 1}}, "unknown config key 'inner.lrr'.*Valid keys here: lr, betas, mode"),
        ({"epochs": "many"}, "epochs: expected an integer"),
        ({"flag": "yes"}, "flag: expected true or false"),
        ({"inner": {"mode": "c"}}, "inner.mode: 'c' is not one of 'a', 'b'"),
        ({"inner": {"betas": [1, 2, 3]}}, "inner.betas: expected 2 items"),
        ({"limit": "x"}, "limit"),
        ({"inner": 3}, "inner: expected a mapping"),
    ],
)
def test_config_errors_name_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(Outer, data)


def test_overrides():
    data = apply_overrides({"inner": {"lr": 0.1}}, ["inner.lr=0.5", "epochs=7", "kwargs.C=8", "name=run a"])
    cfg = from_dict(Outer, data)
    assert cfg.inner.lr == 0.5 and cfg.epochs == 7 and cfg.kwargs == {"C": 8} and cfg.name == "run a"
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])
    with pytest.raises(ConfigError, match="expects key=value"):
        apply_overrides({}, ["epochs"])
    with pytest.raises(ConfigError, match="not a section"):
        apply_overrides({"epochs": 3}, ["epochs.x=1"])


def test_load_yaml_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_yaml(lst)
    evil = tmp_path / "evil.yaml"
    evil.write_text("a: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(evil)
