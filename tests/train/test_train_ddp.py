"""hwnas train under torchrun with 2 real gloo processes: ranks stay equal, rank 0 writes, a dead rank stops the job."""

from __future__ import annotations

import json

import torch

from hwnas.export.pt import load_model
from tests._torchrun import REPO, torchrun


def test_two_ranks_train_the_same_weights_and_only_rank_0_writes(tmp_path):
    proc = torchrun(2, str(REPO / "tests" / "_ddp_train.py"), str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == 2 and r0["digests"] == r1["digests"] and len(r0["digests"]) == 2
    assert r0["run_dir"] == r1["run_dir"] == str(tmp_path / "quick")
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["quick"]  # one folder, picked by rank 0
    assert r0["test_acc"] is not None and r1["test_acc"] is None  # only rank 0 reports
    report = json.loads((tmp_path / "quick" / "report.json").read_text())
    # the test split is sharded without padding: every image counted once over both ranks
    assert report["test"]["images"] == 64
    assert "x 2 processes (gloo)" in proc.stderr
    load_model(tmp_path / "quick" / "model.pt")


def test_a_dead_rank_stops_the_job_and_the_last_checkpoint_stays(tmp_path):
    proc = torchrun(2, str(REPO / "tests" / "_ddp_train.py"), str(tmp_path), "crash", timeout=120)
    assert proc.returncode != 0
    state = torch.load(tmp_path / "quick" / "checkpoints" / "last.pt", weights_only=True)
    assert (state["epoch"], state["stage"]) == (0, "train")
    assert not (tmp_path / "quick" / "model.pt").exists()
