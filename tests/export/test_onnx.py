"""ONNX export of every registered space, checked with onnxruntime; a clear error without onnxruntime."""

import sys

import pytest
import torch

from hwnas.api import SPACES, ArchSpec, collect_decisions, freeze
from hwnas.export import ExportError, export_onnx

from ._tiny import SIDE, TINY, randomize, tiny_network

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _lean(name, net, arch):
    # The exporter's time grows with the graph: MobileNet-style spaces keep each stage's first block (and
    # FBNet a grouped, shuffled block), the rest skipped, so every kind of block is still exported.
    if name not in ("proxyless", "fbnet"):
        return net, arch
    space = SPACES.get(name)(**TINY[name])
    keep = {"b01", "b05", "b09", "b13", "b17", "b21", "l0", "l1", "l5", "l9", "l13", "l17", "l21"}
    choices = {lbl: v if lbl in keep else ("zero" if "zero" in collect_decisions(space)[lbl] else "skip")
               for lbl, v in arch.choices.items()}
    if name == "fbnet":
        choices["l2"] = "k3_e1_g2"
    arch = ArchSpec(name, choices, arch.space_kwargs)
    return randomize(freeze(space, arch)), arch


@pytest.mark.parametrize("name", SPACES.names())
def test_onnxruntime_matches_pytorch(name, tmp_path):
    net, arch = _lean(name, *tiny_network(name)[:2])
    if name == "darts":  # the retraining network: its auxiliary head must stay out of the graph
        net = randomize(SPACES.get("darts")(**TINY["darts"]).freeze(arch, auxiliary=True, drop_path_prob=0.2))
    size = (3, SIDE[name], SIDE[name])
    report = export_onnx(net, tmp_path / "net.onnx", input_size=size)
    assert report.checked_batches == (1, 3) and report.max_abs_diff <= 1e-4
    with torch.no_grad():  # the check compared real, not near-zero, outputs
        assert float(net(torch.randn(1, *size)).abs().max()) > 1e-2
    model = onnx.load(str(tmp_path / "net.onnx"))
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # symbolic batch
    names = [i.name for i in model.graph.initializer] + [n.name for n in model.graph.node]
    assert not any("auxiliary" in n for n in names)


def test_missing_onnxruntime_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    net, _, _ = tiny_network("nb201")
    with pytest.raises(ExportError, match=r'pip install "hwnas\[export\]"'):
        export_onnx(net, tmp_path / "n.onnx", input_size=(3, 8, 8))
