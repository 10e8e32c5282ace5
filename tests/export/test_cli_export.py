"""hwnas export: pt, onnx and timm from an arch.json and from a model.pt, and its one-line errors."""

import json

import pytest
import timm
import torch

from hwnas.api import ArchSpec
from hwnas.cli import main
from hwnas.export import load_model, read_model_info, register_timm_model, save_model

from ._tiny import tiny_network


@pytest.fixture()
def trained(tmp_path):
    net, arch, kwargs = tiny_network("proxyless", seed=1)
    arch.save(tmp_path / "arch.json")
    return save_model(tmp_path / "model.pt", net, arch, space_kwargs=kwargs), net, arch


def test_pt_and_timm_from_weights(trained, tmp_path, capsys):
    path, net, arch = trained
    assert main(["export", str(tmp_path / "arch.json"), "--weights", str(path), "--format", "pt",
                 "--out", str(tmp_path / "again.pt")]) == 0
    assert read_model_info(tmp_path / "again.pt").arch == arch
    assert main(["export", "-", "--weights", str(path), "--format", "timm", "--out", str(tmp_path / "t.pth")]) == 0
    assert "computes the same outputs" in capsys.readouterr().out
    side = json.loads((tmp_path / "t.json").read_text())
    name = register_timm_model(ArchSpec.from_dict(side["arch"]), space_kwargs=side["space_kwargs"])
    model = timm.create_model(name).eval()
    model.load_state_dict(torch.load(tmp_path / "t.pth", weights_only=True))
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(model(x), net.eval()(x), rtol=1e-4, atol=1e-5)


def test_without_weights_says_so_and_writes_a_loadable_file(tmp_path, capsys):
    _, arch, _ = tiny_network("nb201")
    arch.save(tmp_path / "a.json")
    assert main(["export", str(tmp_path / "a.json"), "--format", "pt", "--out", str(tmp_path / "m.pt")]) == 0
    assert "fresh, untrained weights" in capsys.readouterr().out
    net = load_model(tmp_path / "m.pt")
    assert read_model_info(tmp_path / "m.pt").space_kwargs["C"] == 16  # the report setting (NB201 C=16, N=5)
    assert net(torch.zeros(1, 3, 32, 32)).shape[0] == 1


def test_onnx_from_weights(tmp_path, capsys):
    net, arch, kwargs = tiny_network("nb201")  # the smallest graph: the exporter's time grows with it
    path = save_model(tmp_path / "model.pt", net, arch, space_kwargs=kwargs)
    assert main(["export", "-", "--weights", str(path), "--format", "onnx", "--out", str(tmp_path / "n.onnx"),
                 "--input-size", "3", "8", "8"]) == 0
    assert "max abs diff" in capsys.readouterr().out and (tmp_path / "n.onnx").is_file()


def test_errors_are_one_line(trained, tmp_path, capsys):
    path, _, _ = trained
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x80\x02not a torch file" * 10)
    cases = [
        (["export", "-", "--weights", str(junk), "--format", "pt", "--out", str(tmp_path / "o.pt")],
         "is not an hwnas model file"),
        (["export", "fbnet_c", "--weights", str(path), "--format", "pt", "--out", str(tmp_path / "o.pt")],
         "not 86666322eb0392af (fbnet_c); pass the ARCH it was trained for, or '-'"),
        (["export", "-", "--format", "pt", "--out", str(tmp_path / "o.pt")], "pass --weights MODEL_PT"),
    ]
    darts, darts_arch, darts_kwargs = tiny_network("darts")
    dpath = save_model(tmp_path / "d.pt", darts, darts_arch, space_kwargs=darts_kwargs)
    cases.append((["export", "-", "--weights", str(dpath), "--format", "timm", "--out", str(tmp_path / "d.pth")],
                  "timm export is for MobileNet-style spaces"))
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("hwnas export: error: ") and message in err and err.count("\n") == 1, err
        assert "weights_only=False" not in err
