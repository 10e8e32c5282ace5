import pytest

from hwnas.api import Registry, RegistryError, UserError


def test_register_and_get():
    reg = Registry("widget")

    @reg.register("a")
    def a():
        return 1

    assert reg.get("a")() == 1
    assert "a" in reg and reg.names() == ["a"] and len(reg) == 1


def test_unknown_name_lists_known_and_suggests():
    reg = Registry("widget")
    reg.register("sep_conv_3x3", obj=object())
    reg.register("dil_conv_3x3", obj=object())
    with pytest.raises(RegistryError) as e:
        reg.get("sep_conv_3x4")
    msg = str(e.value)
    assert "unknown widget 'sep_conv_3x4'" in msg
    assert "Did you mean 'sep_conv_3x3'" in msg
    assert "dil_conv_3x3, sep_conv_3x3" in msg
    assert isinstance(e.value, UserError)


def test_duplicate_name_fails():
    reg = Registry("widget")
    reg.register("x", obj=object())
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("x", obj=object())


def test_registries_populate_on_first_lookup():
    from hwnas.api import OPS, SPACES, SUPERNETS

    assert "sep_conv_3x3" in OPS
    assert {"darts", "nb201", "proxyless"} <= set(SPACES.names())
    assert {"darts", "pc_darts", "proxyless"} <= set(SUPERNETS.names())
