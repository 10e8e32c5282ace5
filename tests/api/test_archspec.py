import json

import pytest

from hwnas.api import ArchSpec, ArchSpecError


def _spec(**kw):
    base = dict(space="toy", choices={"b": "conv", "a": [2, 0]}, space_kwargs={"C": 4}, metrics={"params": 10})
    base.update(kw)
    return ArchSpec(**base)


def test_json_round_trip_and_canonical_choices():
    a = _spec()
    assert a.choices == {"a": (0, 2), "b": "conv"}
    b = ArchSpec.from_json(a.to_json())
    assert b == a and b.archid == a.archid


def test_archid_depends_on_choices_only():
    a = _spec()
    assert a.archid == _spec(metrics={"params": 99}, space_kwargs={"C": 36}).archid
    assert a.archid != _spec(choices={"b": "pool", "a": [0, 2]}).archid
    assert a.archid != _spec(space="other").archid
    assert len(a.archid) == 16 and int(a.archid, 16) >= 0


def test_archid_is_stable_across_versions():
    # A fixed value: changing the hashing would silently break every saved arch.json.
    payload = '{"choices":{"1<-0":"nor_conv_3x3"},"space":"nb201"}'
    import hashlib

    assert (
        ArchSpec(space="nb201", choices={"1<-0": "nor_conv_3x3"}).archid
        == hashlib.sha256(payload.encode()).hexdigest()[:16]
    )


def test_save_load_atomic(tmp_path):
    a = _spec()
    p = a.save(tmp_path / "run" / "arch.json")
    assert not (tmp_path / "run" / "arch.json.tmp").exists()
    assert ArchSpec.load(p) == a


@pytest.mark.parametrize(
    "doc, message",
    [
        ("[1, 2]", "must be a JSON object"),
        ('{"format": "other/9", "space": "x", "choices": {}}', "unsupported ArchSpec format"),
        ('{"format": "hwnas.archspec/1", "choices": {}}', "missing the required field 'space'"),
        ('{"format": "hwnas.archspec/1", "space": "x", "choices": {}, "bogus": 1}', "unknown ArchSpec field"),
        ('{"format": "hwnas.archspec/1", "space": "x", "choices": {"a": 3}}', "choice 'a' must be"),
        ('{"format": "hwnas.archspec/1", "space": "x", "choices": {}, "archid": "0000"}', "does not match"),
        ("{not json", "not valid JSON"),
    ],
)
def test_malformed_archspec_errors(doc, message):
    with pytest.raises(ArchSpecError, match=message):
        ArchSpec.from_json(doc)


def test_load_missing_file(tmp_path):
    with pytest.raises(ArchSpecError, match="does not exist"):
        ArchSpec.load(tmp_path / "nope.json")


def test_to_dict_is_plain_json():
    d = _spec().to_dict()
    assert json.loads(json.dumps(d))["choices"]["a"] == [0, 2]
