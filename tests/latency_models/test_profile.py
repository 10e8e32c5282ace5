"""Measured lookup tables: profile_lut on a tiny space and the ``hwnas profile`` command."""

from __future__ import annotations

import json

import pytest
import torch

from hwnas.api import SUPERNETS
from hwnas.cli import main
from hwnas.latency_models import LatencyLUT, profile_lut, time_module
from hwnas.search_spaces import NB201Space


def test_profile_lut_tiny_nb201():
    space = NB201Space(C=4, N=1)
    lut = profile_lut(space, torch.zeros(1, 3, 8, 8), warmup=0, repeats=1)
    assert lut.space == "nb201" and lut.metrics == ("latency_ms",) and lut.input_size == (3, 8, 8)
    assert set(lut.entries) == {"1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"}
    assert all(v["latency_ms"] >= 0 for c in lut.entries.values() for v in c.values())
    assert lut.entries["1<-0"]["nor_conv_3x3"]["latency_ms"] > 0 and lut.fixed["latency_ms"] > 0
    info = lut.device
    assert info["type"] == "cpu" and info["threads"] == torch.get_num_threads() and info["repeats"] == 1
    assert info["statistic"] == "median" and info["torch"] == torch.__version__
    # Equal candidates at equal shapes are timed once: 5 ops x 3 cell widths.
    assert info["distinct_modules"] == 15


def test_profile_restores_a_supernet():
    net = SUPERNETS.get("darts")(NB201Space(C=4, N=1))
    before = [(n, type(m)) for n, m in net.named_modules()]
    lut = profile_lut(net, torch.zeros(1, 3, 8, 8), warmup=0, repeats=1)
    assert [(n, type(m)) for n, m in net.named_modules()] == before
    assert net.training
    lut.check_space(net.space)


def test_time_module_median():
    ms = time_module(torch.nn.Conv2d(3, 8, 3), torch.zeros(1, 3, 16, 16), warmup=1, repeats=3)
    assert 0 < ms < 1000


def test_cli_profile_writes_valid_lut(tmp_path, capsys):
    out = tmp_path / "lut.json"
    rc = main(["profile", "--space", "nb201", "--space-kwargs", "{C: 4, N: 1}", "--input-size", "3x8x8",
               "--repeats", "1", "--warmup", "0", "--out", str(out)])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["labels"] == 6 and summary["candidates"] == 30 and summary["target"] == "measured:cpu"
    lut = LatencyLUT.load(out)
    assert lut.space_kwargs["C"] == 4 and lut.input_size == (3, 8, 8) and lut.batch == 1
    assert json.loads(out.read_text())["device"]["repeats"] == 1


def test_cli_profile_tpe_table(tmp_path, capsys):
    out = tmp_path / "tpe.json"
    rc = main(["profile", "--space", "nb201", "--space-kwargs", '{"C": 4, "N": 1}', "--input-size", "3x8x8",
               "--tpe", "systolic-16x16-ws-int8", "--out", str(out)])
    assert rc == 0
    assert LatencyLUT.load(out).metrics == ("latency_ms", "energy_mj", "cycles")


@pytest.mark.parametrize("argv, message", [
    (["--input-size", "3xbig"], "--input-size"),
    (["--space-kwargs", "[1, 2]"], "--space-kwargs: expected a mapping"),
    (["--space-kwargs", "{C: [}"], "--space-kwargs:1:6: not valid YAML"),
    (["--batch", "0"], "--batch"),
    (["--repeats", "0"], "repeats >= 1"),
    (["--space", "nope"], "nope"),
])
def test_cli_profile_errors(tmp_path, capsys, argv, message):
    base = ["profile", "--space", "nb201", "--space-kwargs", "{C: 4, N: 1}", "--input-size", "3x8x8",
            "--repeats", "1", "--warmup", "0", "--out", str(tmp_path / "x.json")]
    rc = main(base + argv)
    assert rc == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where CUDA is absent")
def test_cli_profile_cuda_absent(tmp_path, capsys):
    rc = main(["profile", "--space", "nb201", "--space-kwargs", "{C: 4, N: 1}", "--device", "cuda",
               "--out", str(tmp_path / "x.json")])
    assert rc == 2 and "CUDA is not available" in capsys.readouterr().err
