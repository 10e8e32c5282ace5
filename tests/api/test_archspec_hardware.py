"""The ArchSpec's hardware section: round trip, identity, and clear errors."""

from __future__ import annotations

import hashlib
import json

import pytest

from hwnas.api import ArchSpec, ArchSpecError, HardwareSpec

HW = {"format": "hwnas.hardware/1", "space": "tpe", "space_kwargs": {"kinds": ["systolic"]},
      "choices": {"kind": "systolic", "dims/systolic": "16x16", "dataflow": "ws", "opt1": True}}


def test_round_trip_through_a_file(tmp_path):
    a = ArchSpec(space="nb201", choices={"1<-0": "nor_conv_3x3"}, metrics={"hw/area_mm2": 0.4}, hardware=HW)
    assert isinstance(a.hardware, HardwareSpec) and a.hardware.choices["opt1"] is True
    b = ArchSpec.load(a.save(tmp_path / "arch.json"))
    assert b == a and b.archid == a.archid and b.hardware == a.hardware
    doc = json.loads((tmp_path / "arch.json").read_text())
    assert doc["hardware"]["choices"] == {"dataflow": "ws", "dims/systolic": "16x16", "kind": "systolic", "opt1": True}
    assert a.with_metrics(x=1).hardware == a.hardware


def test_network_only_specs_keep_their_file_and_archid():
    a = ArchSpec(space="nb201", choices={"1<-0": "nor_conv_3x3"})
    payload = '{"choices":{"1<-0":"nor_conv_3x3"},"space":"nb201"}'
    assert a.archid == hashlib.sha256(payload.encode()).hexdigest()[:16]
    assert "hardware" not in a.to_dict()


def test_the_hardware_configuration_is_part_of_the_identity():
    net = {"space": "nb201", "choices": {"1<-0": "nor_conv_3x3"}}
    a = ArchSpec(**net, hardware=HW)
    other = dict(HW, choices={**HW["choices"], "dims/systolic": "8x8"})
    assert a.archid != ArchSpec(**net).archid
    assert a.archid != ArchSpec(**net, hardware=other).archid
    # the kwargs describe the space, not the choice: they do not change the identity
    assert a.archid == ArchSpec(**net, hardware=dict(HW, space_kwargs={})).archid


@pytest.mark.parametrize("hardware, message", [
    ({**HW, "format": "hwnas.hardware/9"}, "unsupported hardware format"),
    ({**HW, "clock": 1}, "unknown hardware field"),
    ({k: v for k, v in HW.items() if k != "space"}, "missing the required field 'space'"),
    ({**HW, "choices": {}}, "non-empty object"),
    ({**HW, "choices": {"kind": ["a"]}}, "must be a string, number or boolean"),
    ([1], "must be a JSON object"),
])
def test_malformed_hardware_sections(hardware, message):
    doc = {"format": "hwnas.archspec/1", "space": "x", "choices": {}, "hardware": hardware}
    with pytest.raises(ArchSpecError, match=message):
        ArchSpec.from_dict(doc)
