"""The hwnas command as a user runs it: exit codes, one-line errors, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hwnas.cli import main

TINY = [
    "--set",
    "space.name=darts",
    "--set",
    "space.kwargs={C: 4, layers: 3}",
    "--set",
    "selection.name=magnitude",
    "--set",
    "selection.kwargs={}",
    "--set",
    "data.subset=32",
    "--set",
    "data.batch_size=8",
    "--set",
    "train.max_steps_per_epoch=1",
    "--set",
    "train.epochs=1",
    "--set",
    "train.eval_batches=1",
    "--quiet",
]


def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_search_prints_archspec_and_figures(tmp_path, capsys):
    code, out, err = _run(["search", *TINY, "--set", f"out_dir={tmp_path}"], capsys)
    assert code == 0
    arch = json.loads(out)
    assert arch["format"] == "hwnas.archspec/1" and arch["space"] == "darts"
    assert "params:" in err and "flops" in err
    code, out, err = _run(["search", "--resume", str(tmp_path / "quickstart"), "--quiet"], capsys)
    assert code == 0 and json.loads(out)["archid"] == arch["archid"]
    # the searched cell is reported at the DARTS CIFAR-10 evaluation setting, like the published ones
    code, out, _ = _run(["report", str(tmp_path / "quickstart" / "arch.json"), "--json"], capsys)
    rep = json.loads(out)
    assert code == 0 and rep["archid"] == arch["archid"] and rep["setting"] == "paper"
    assert "C=36" in rep["network"] and "layers=20" in rep["network"] and "published" in rep["rule"]
    assert 1e6 < rep["params"] < 5e6


@pytest.mark.parametrize(
    "argv, message",
    [
        (["search", "--set", "train.epoch=1"], "unknown config key 'train.epoch'"),
        (["search", "--set", "train.epochs=abc"], "train.epochs: expected an integer"),
        (["search", "--recipe", "nope"], "unknown recipe 'nope'"),
        (["search", "--recipe", "missing/file.yaml"], "does not exist"),
        (["search", "--set", "space.name=dartz"], "unknown search space 'dartz'"),
        (["search", "--set", "data.name=cifar10", "--set", "data.root=/nonexistent/cifar"], "/nonexistent/cifar"),
        (["search", "--resume", "/nonexistent/run"], "/nonexistent/run"),
        (["report", "darts_v9"], "is not a published architecture"),
        (["report", "|nor_conv_3x3~0|+|bogus~0|"], "bogus"),
    ],
)
def test_bad_input_is_one_clear_line(argv, message, capsys, tmp_path):
    code, out, err = _run(
        [*argv, *(["--set", f"out_dir={tmp_path}"] if argv[0] == "search" and "--resume" not in argv else [])], capsys
    )
    assert code == 2
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_malformed_arch_file(tmp_path, capsys):
    bad = tmp_path / "arch.json"
    bad.write_text('{"format": "hwnas.archspec/1", "space": "darts", "choices": {"normal/n2": "x"}}')
    code, _, err = _run(["report", str(bad)], capsys)
    assert code == 2 and "normal/n2" in err
    bad.write_text("{oops")
    code, _, err = _run(["report", str(bad)], capsys)
    assert code == 2 and "not valid JSON" in err


def test_report_json_nb201(capsys):
    code, out, _ = _run(
        [
            "report",
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
            "--json",
        ],
        capsys,
    )
    d = json.loads(out)
    assert code == 0 and d["space"] == "nb201"
    # NAS-Bench-201's largest cell, which the benchmark lists as 220.11M (its figure is truncated)
    assert d["flops"] == 220_119_680


def test_console_script_report_darts_v2():
    exe = os.path.join(os.path.dirname(sys.executable), "hwnas")
    proc = subprocess.run([exe, "report", "darts_v2", "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert round(d["params"] / 1e6, 1) == 3.3  # DARTS-V2 on CIFAR-10 at C=36, 20 cells, auxiliary head excluded
    assert d["flops"] > 0


@pytest.mark.parametrize("strategy", ["darts", "pc_darts", "proxyless", "gdas"])
def test_search_a_user_space_by_import_path(strategy, tmp_path, monkeypatch, capsys):
    from pathlib import Path

    text = Path(__file__).resolve().parents[1].joinpath("test_custom_space.py").read_text()
    readme_example = text.split("# --- exactly as in the README (15 lines) ---\n")[1].split("# --- end")[0]
    (tmp_path / "myspace.py").write_text(
        "import torch\nfrom torch import nn\nfrom hwnas import Choice\n\n\n" + readme_example
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    code, out, err = _run(
        [
            "search",
            "--set",
            "space.name=myspace:TinySpace",
            "--set",
            "space.kwargs={}",
            "--set",
            f"supernet.name={strategy}",
            "--set",
            "data.subset=32",
            "--set",
            "data.batch_size=8",
            "--set",
            "train.max_steps_per_epoch=2",
            "--set",
            "train.epochs=1",
            "--quiet",
        ],
        capsys,
    )
    assert code == 0, err
    arch = json.loads(out)
    assert arch["space"] == "tiny" and set(arch["choices"]) == {"b1", "b2"}
    assert arch["metrics"]["params"] > 0
