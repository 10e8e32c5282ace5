"""model.pt: round trip for every registered space, wrappers, freeze keywords, custom spaces, clear errors."""

import pytest
import torch
from torch import nn

from hwnas.api import SPACES, ArchSpec, Choice, InputChoice, freeze
from hwnas.export import FORMAT, ModelFileError, load_model, read_model_info, save_model

from ._tiny import SIDE, TINY, randomize, tiny_network


def test_every_space_has_tiny_settings():
    assert set(SPACES.names()) <= set(TINY), f"add tiny settings for {set(SPACES.names()) - set(TINY)}"


def _is_search_class(m: nn.Module) -> bool:
    return isinstance(m, (Choice, InputChoice)) or type(m).__module__.startswith("hwnas.supernets")


@pytest.mark.parametrize("name", SPACES.names())
def test_round_trip_every_space(name, tmp_path):
    net, arch, kwargs = tiny_network(name)
    path = save_model(tmp_path / "model.pt", net, arch, space_kwargs=kwargs, metrics={"top1": 0.5})
    raw = torch.load(path, weights_only=True)  # plain values and tensors only
    assert raw["format"] == FORMAT and raw["space"] == name and raw["arch"]["archid"] == arch.archid
    assert set(raw) == {"format", "arch", "space", "space_kwargs", "freeze_kwargs", "metrics", "state_dict"}
    loaded = load_model(path)
    assert not loaded.training and not any(_is_search_class(m) for m in loaded.modules())
    x = torch.randn(2, 3, SIDE[name], SIDE[name])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), net.eval()(x), rtol=0, atol=0)
    info = read_model_info(path)
    assert info.arch == arch and info.space_kwargs == kwargs and info.metrics == {"top1": 0.5}


def test_wrappers_are_unwrapped(tmp_path):
    net, arch, kwargs = tiny_network("nb201")
    wrapped = nn.DataParallel(torch.compile(net))  # keys `module._orig_mod.*`; compile is lazy, nothing runs
    assert all(k.startswith("module._orig_mod.") for k in wrapped.state_dict())
    path = save_model(tmp_path / "m.pt", wrapped, arch, space_kwargs=kwargs)
    assert set(torch.load(path, weights_only=True)["state_dict"]) == set(net.state_dict())
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(load_model(path)(x), net.eval()(x))


def test_freeze_kwargs_rebuild_the_darts_auxiliary_head(tmp_path):
    space = SPACES.get("darts")(**TINY["darts"])
    net, arch, _ = tiny_network("darts")
    net = randomize(space.freeze(arch, auxiliary=True, drop_path_prob=0.1))
    path = save_model(tmp_path / "m.pt", net, arch, space_kwargs=TINY["darts"],
                      freeze_kwargs={"auxiliary": True, "drop_path_prob": 0.1})
    loaded = load_model(path)
    assert loaded.auxiliary_head is not None and loaded.drop_path_prob == 0.1
    assert read_model_info(path).freeze_kwargs == {"auxiliary": True, "drop_path_prob": 0.1}


def test_custom_space_by_import_path(tmp_path):
    from export._custom import TinyUserSpace

    space = TinyUserSpace(num_classes=3)
    arch = ArchSpec(TinyUserSpace.space_name, {"b1": "sep_conv_3x3"})
    net = randomize(freeze(space, arch))
    path = save_model(tmp_path / "m.pt", net, arch, space_kwargs={"num_classes": 3})
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(load_model(path)(x), net.eval()(x))


def test_save_refuses_a_model_its_settings_do_not_describe(tmp_path):
    net, arch, kwargs = tiny_network("nb201")
    with pytest.raises(ModelFileError, match=r"not the network of .* pass the settings it was built with"):
        save_model(tmp_path / "m.pt", net, arch, space_kwargs={**kwargs, "C": 8})
    assert not (tmp_path / "m.pt").exists()
    with pytest.raises(ModelFileError, match="plain values"):
        save_model(tmp_path / "m.pt", net, arch, space_kwargs=kwargs, metrics={"x": object()})


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "nope.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ModelFileError, match="is not an hwnas model file") as e:
        load_model(junk)
    assert "weights_only=False" not in str(e.value)
    plain = tmp_path / "plain.pt"
    torch.save({"w": torch.zeros(2)}, plain)
    with pytest.raises(ModelFileError, match="state dict or checkpoint without an architecture"):
        read_model_info(plain)
    pickled = tmp_path / "obj.pt"
    torch.save({"format": FORMAT, "x": nn.Linear(1, 1)}, pickled)  # a pickled module: refused, never run
    with pytest.raises(ModelFileError, match="is not an hwnas model file") as e:
        load_model(pickled)
    assert "weights_only=False" not in str(e.value)
    net, arch, kwargs = tiny_network("nb201")
    path = save_model(tmp_path / "m.pt", net, arch, space_kwargs=kwargs)
    doc = torch.load(path, weights_only=True)
    torch.save({**doc, "format": "hwnas.model/2"}, path)
    with pytest.raises(ModelFileError, match=r"format 'hwnas.model/2'; this hwnas reads 'hwnas.model/1'; upgrade"):
        load_model(path)
