"""timm export: published parameter counts, timm's fbnetc_100, same function via the key map, registration."""

import random

import pytest
import timm
import torch

from hwnas.api import ARCHS, SPACES, ArchSpec, ArchSpecError, collect_decisions, count_params
from hwnas.export import (
    ExportError,
    build_timm_model,
    from_timm_state_dict,
    register_timm_model,
    timm_spec,
    to_timm_state_dict,
)

from ._tiny import TINY, randomize

#: Parameters of the published networks as this repository builds them (the papers round them:
#: ProxylessNAS mobile 4.1M, GPU 7.1M, CPU 4.4M; FBNet A 4.3M, B 4.5M, C 5.5M).
PUBLISHED = {
    "proxyless_mobile": 4_080_512, "proxyless_gpu": 7_119_848, "proxyless_cpu": 4_361_648,
    "fbnet_a": 4_321_464, "fbnet_b": 4_813_048, "fbnet_c": 5_572_200,
}


def _frozen(arch: ArchSpec) -> torch.nn.Module:
    return SPACES.get(arch.space)(**arch.space_kwargs).freeze(arch)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_parameter_counts(name):
    arch = ARCHS.get(name)
    assert count_params(_frozen(arch)) == PUBLISHED[name]
    if name != "fbnet_a":  # FBNet-A's grouped blocks have no timm form (see test_grouped_fbnet_blocks_are_refused)
        assert count_params(build_timm_model(arch)) == PUBLISHED[name]


def test_fbnet_c_is_timms_fbnetc_100_to_the_parameter_and_the_output():
    ours = randomize(_frozen(ARCHS.get("fbnet_c"))).eval()
    theirs = timm.create_model("fbnetc_100", pretrained=False).eval()
    assert count_params(theirs) == count_params(ours) == 5_572_200
    theirs.load_state_dict(to_timm_state_dict(ours.state_dict(), ARCHS.get("fbnet_c")))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(theirs(x), ours(x), rtol=1e-4, atol=1e-5)


def _tiny_arch(name: str, seed: int) -> ArchSpec:
    space = SPACES.get(name)(**TINY[name])
    rng = random.Random(seed)
    choices = {lbl: rng.choice([c for c in cands if not c.endswith("_g2")])
               for lbl, cands in collect_decisions(space).items()}
    if name == "fbnet":  # both forms of skip: the identity (l0: 8 -> 8) and a 1x1 conv-BN-ReLU (l9: 8 -> 16, s2)
        choices.update(l0="skip", l9="skip")
    return ArchSpec(name, choices, space.space_kwargs)


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("name", ["proxyless", "fbnet"])
def test_same_parameters_and_function_with_mapped_weights(name, seed):
    arch = _tiny_arch(name, seed)
    ours = randomize(_frozen(arch), seed).eval()
    theirs = build_timm_model(arch).eval()
    assert count_params(theirs) == count_params(ours)
    state = to_timm_state_dict(ours.state_dict(), arch)
    theirs.load_state_dict(state)  # strict: every key mapped
    back = from_timm_state_dict(theirs.state_dict(), arch)
    assert list(back) == list(ours.state_dict()) and all(torch.equal(back[k], v) for k, v in ours.state_dict().items())
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(theirs(x), ours(x), rtol=1e-4, atol=1e-5)


def test_fbnet_skip_is_left_out_or_a_conv_bn_relu():
    arch = ARCHS.get("fbnet_c")
    choices = dict(arch.choices, l0="skip", l1="skip")  # l0 keeps 16 channels (identity), l1 goes to 24, stride 2
    arch_def = timm_spec(ArchSpec("fbnet", choices, arch.space_kwargs))["arch_def"]
    assert arch_def[0] == ["cn_r1_k1_s2_c24", "ir_r1_k3_s1_e1_c24", "ir_r1_k3_s1_e1_c24"]
    assert arch_def[-1] == ["ir_r1_k3_s1_e6_c352"] and len(arch_def) == 6


def test_registered_name_works_with_create_model():
    arch = _tiny_arch("proxyless", 3)
    name = register_timm_model(arch)
    assert name == f"hwnas_{arch.archid}" and name in timm.list_models("hwnas_*")
    model = timm.create_model(name, pretrained=False, num_classes=7)
    assert model.classifier.out_features == 7 and count_params(model) == count_params(build_timm_model(arch,
                                                                                                      num_classes=7))
    with pytest.raises(ExportError, match="no pretrained weights"):
        timm.create_model(name, pretrained=True)


def test_darts_and_nb201_are_refused_with_the_way_out():
    for name in ("darts_v2",):
        with pytest.raises(ExportError, match="MobileNet-style spaces .* --format pt or onnx"):
            timm_spec(ARCHS.get(name))
    with pytest.raises(ExportError, match="space 'nb201'"):
        register_timm_model(ArchSpec("nb201", {f"e{i}": "skip_connect" for i in range(6)}))


def test_grouped_fbnet_blocks_are_refused():
    with pytest.raises(ArchSpecError, match=r"layer l11 is 'k5_e1_g2': grouped 1x1 .* --format pt or onnx"):
        build_timm_model(ARCHS.get("fbnet_a"))
