"""A user's space searched by import path: its arch.json reports from any folder once the module is importable."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hwnas.cli import main

MODULE = "tiny_space_for_report"  # unique: sys.modules must not already hold it from another test
SPACE = '''
import torch
from torch import nn
from hwnas import Choice


class TinySpace(nn.Module):
    space_name = "tiny"

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        self.b1 = Choice(["sep_conv_3x3", "skip_connect"], label="b1", c_in=8, c_out=8)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.b1(self.stem(x)))
'''
SEARCH = ["search", "--set", f"space.name={MODULE}:TinySpace", "--set", "space.kwargs={}", "--set",
          "selection.name=magnitude", "--set", "selection.kwargs={}", "--set", "data.subset=32", "--set",
          "data.batch_size=8", "--set", "train.max_steps_per_epoch=1", "--set", "train.epochs=1", "--set",
          "train.eval_batches=1", "--quiet"]


def test_custom_space_arch_json_reports_from_another_folder(tmp_path, monkeypatch, capsys):
    code_dir, work, elsewhere = tmp_path / "code", tmp_path / "work", tmp_path / "elsewhere"
    for d in (code_dir, work, elsewhere):
        d.mkdir()
    (code_dir / f"{MODULE}.py").write_text(SPACE)
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(str(code_dir))
    try:
        assert main([*SEARCH, "--set", "name=x", "--set", f"out_dir={work / 'runs'}"]) == 0
    finally:
        sys.modules.pop(MODULE, None)
    searched = json.loads(capsys.readouterr().out)
    arch_json = work / "runs" / "x" / "arch.json"
    saved = json.loads(arch_json.read_text())
    assert saved["space"] == "tiny" and saved["space_ref"] == f"{MODULE}:TinySpace"
    assert saved["archid"] == searched["archid"]

    # From another folder, with the module's folder on PYTHONPATH, as a user runs it.
    exe = os.path.join(os.path.dirname(sys.executable), "hwnas")
    env = {**os.environ, "PYTHONPATH": str(code_dir), "HWNAS_THREADS": "1"}
    proc = subprocess.run([exe, "report", str(arch_json), "--json"], cwd=elsewhere, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert rep["archid"] == saved["archid"] and rep["setting"] == "paper"
    assert rep["network"].startswith("search setting (the space defines no published evaluation network)")
    # the figures of the searched network: the same as the search recorded
    assert rep["params"] == saved["metrics"]["params"] and rep["flops"] == saved["metrics"]["flops"]

    # Without the module importable: one line naming the module and PYTHONPATH.
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(code_dir), str(work))])
    assert main(["report", str(arch_json)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("hwnas report: error: space") and f"cannot import module '{MODULE}'" in err
    assert "PYTHONPATH" in err
