"""Every registered space: random ArchSpec -> freeze -> forward; JSON round trip; stable archid; errors."""

import pytest
import torch

from hwnas.api import SPACES, ArchSpec, ArchSpecError, Choice, ConfigError, InputChoice, UnresolvedChoiceError

from ._helpers import SIDE, TINY, random_arch


def _space(name, **kw):
    return SPACES.get(name)(**{**TINY.get(name, {}), **kw})


def test_builtin_spaces_registered():
    assert {"darts", "nb201", "proxyless"} <= set(SPACES.names())


@pytest.mark.parametrize("name", SPACES.names())
def test_space_attributes(name):
    space = _space(name)
    assert space.space_name == name
    assert isinstance(space.space_kwargs, dict) and space.space_kwargs
    c, h, w = space.default_input_size
    assert c == space.space_kwargs.get("in_channels", 3) and h == w and h >= 32
    assert isinstance(SPACES.get(name).default_input_size, tuple)
    # The recorded settings rebuild an equal space.
    again = SPACES.get(name)(**space.space_kwargs)
    assert again.space_kwargs == space.space_kwargs


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", SPACES.names())
def test_random_arch_freeze_forward_roundtrip(name, seed):
    torch.manual_seed(seed)
    space = _space(name, num_classes=7)
    arch = random_arch(space, seed)
    text = arch.to_json()
    again = ArchSpec.from_json(text)
    assert again == arch and again.archid == arch.archid
    assert ArchSpec.from_json(random_arch(space, seed).to_json()).archid == arch.archid  # stable
    net = space.freeze(again)
    assert not any(isinstance(m, (Choice, InputChoice)) for m in net.modules())
    side = SIDE.get(name, space.default_input_size[1])
    out = net.eval()(torch.randn(2, space.default_input_size[0], side, side))
    assert out.shape == (2, 7)


@pytest.mark.parametrize("name", SPACES.names())
def test_raw_space_refuses_to_run(name):
    space = _space(name)
    side = SIDE.get(name, space.default_input_size[1])
    with pytest.raises(UnresolvedChoiceError):
        space(torch.zeros(1, space.default_input_size[0], side, side))


@pytest.mark.parametrize("name", SPACES.names())
def test_malformed_arch_errors(name):
    space = _space(name)
    arch = random_arch(space, 0)
    choices = dict(arch.choices)
    label = next(k for k, v in choices.items() if isinstance(v, str))
    with pytest.raises(ArchSpecError, match="not a candidate"):
        space.freeze(ArchSpec(name, {**choices, label: "conv_9x9"}))
    with pytest.raises(ArchSpecError, match="unknown label"):
        space.freeze(ArchSpec(name, {**choices, "no_such_label": "zero"}))
    with pytest.raises(ArchSpecError, match="missing"):
        space.freeze(ArchSpec(name, {k: v for k, v in choices.items() if k != label}))
    with pytest.raises(ArchSpecError, match="space"):
        space.freeze(ArchSpec("other_space", choices))


@pytest.mark.parametrize(("name", "kwargs", "match"), [
    ("darts", {"layers": 2}, "layers must be an integer >= 3"),
    ("darts", {"multiplier": 5}, "multiplier"),
    ("darts", {"stem": "mnist"}, "stem must be one of"),
    ("darts", {"C": 4.5}, "C must be an integer"),
    ("nb201", {"N": 0}, "N must be an integer >= 1"),
    ("proxyless", {"variant": "tiny"}, "variant must be one of"),
    ("proxyless", {"width_mult": -1}, "width_mult"),
])
def test_invalid_kwargs(name, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        _space(name, **kwargs)
    with pytest.raises(TypeError):
        _space(name, no_such_option=1)
