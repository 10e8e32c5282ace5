"""An ArchSpec says how to rebuild its space (``space_ref``) without changing any archid."""

import json

import pytest
import torch
from torch import nn

from hwnas.api import ARCHS, ArchSpec, ArchSpecError, Choice, magnitude_arch, space_ref
from hwnas.search_spaces import NB201Space

# Written by hwnas before space_ref existed: it must load unchanged and keep its archid.
OLD_FILE = (
    '{"format": "hwnas.archspec/1", "space": "nb201", "space_kwargs": {"C": 16, "N": 5, "num_classes": 10, '
    '"in_channels": 3}, "archid": "69aee01103963cab", "choices": {"1<-0": "nor_conv_3x3", "2<-0": "none", '
    '"2<-1": "skip_connect", "3<-0": "nor_conv_1x1", "3<-1": "none", "3<-2": "avg_pool_3x3"}, "metrics": {}}'
)
PUBLISHED = {"darts_v1": "b06ec07a2188560a", "darts_v2": "2fe4441890bc3270", "pc_darts": "dac7b8c8bf996140",
             "pc_darts_imagenet": "4fd5f930f55543d4", "pdarts": "08843e9c917d5692",
             "proxyless_mobile": "0933166bac4ce603"}


class _Mine(nn.Module):
    space_name = "mine"

    def __init__(self) -> None:
        super().__init__()
        self.op = Choice(["skip_connect", "nor_conv_3x3"], label="op", c_in=4, c_out=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


def test_old_file_loads_keeps_archid_and_writes_back_identically():
    a = ArchSpec.from_json(OLD_FILE)
    assert a.archid == "69aee01103963cab" and a.space_ref is None
    assert a.to_json(indent=None) == OLD_FILE


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_archids_unchanged(name):
    assert ARCHS.get(name).archid == PUBLISHED[name]


def test_space_ref_round_trips_and_is_not_identity():
    a = ArchSpec(space="tiny", choices={"b1": "skip_connect"}, space_ref="myspace:TinySpace")
    b = ArchSpec.from_json(a.to_json())
    assert b == a and b.space_ref == "myspace:TinySpace" and json.loads(a.to_json())["space_ref"] == "myspace:TinySpace"
    assert a.archid == ArchSpec(space="tiny", choices={"b1": "skip_connect"}).archid
    assert a.with_metrics(params=3).space_ref == "myspace:TinySpace"


def test_bad_space_ref_is_one_clear_error():
    with pytest.raises(ArchSpecError, match="'space_ref' must be an import path 'package.module:ClassName'"):
        ArchSpec(space="tiny", choices={}, space_ref="not a path")


def test_export_records_space_ref_only_for_unregistered_spaces():
    assert space_ref(NB201Space(C=2, N=1)) is None
    assert space_ref(_Mine()) == f"{__name__}:_Mine"
    arch = magnitude_arch(_Mine(), {"op": torch.tensor([0.2, 0.8])})
    assert arch.space == "mine" and arch.space_ref == f"{__name__}:_Mine"


def test_resolve_space_class_uses_space_ref_and_says_what_is_missing():
    from hwnas.search.builders import resolve_space_class

    arch = magnitude_arch(_Mine(), {"op": torch.tensor([0.2, 0.8])})
    assert resolve_space_class(arch) is _Mine
    assert resolve_space_class(ARCHS.get("darts_v2")).__name__ == "DartsSpace"
    with pytest.raises(Exception, match=r"unknown search space 'mine'.*add \"space_ref\""):
        resolve_space_class(ArchSpec(space="mine", choices={"op": "skip_connect"}))
    with pytest.raises(Exception, match="cannot import module 'nowhere_mod'.*PYTHONPATH"):
        resolve_space_class(ArchSpec(space="mine", choices={}, space_ref="nowhere_mod:Space"))
