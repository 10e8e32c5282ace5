"""Search under torchrun with 2 real processes (gloo, CPU): ranks agree on α, sampled paths and the architecture;
rank 0 alone writes the run folder; a killed rank stops the job and the last checkpoint resumes under 2 processes."""

from __future__ import annotations

import json

import pytest
import torch

from hwnas.search.checkpoint import load_checkpoint
from tests._torchrun import torchrun

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")


@pytest.fixture(scope="module")
def sync_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp_sync")
    proc = torchrun(2, "tests/_ddp_search.py", "sync", str(out))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out, [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]


@pytest.mark.parametrize("strategy", ["darts", "darts_second", "proxyless", "gdas"])
def test_ranks_hold_the_same_alpha_paths_and_architecture(sync_run, strategy):
    _, (r0, r1) = sync_run
    a, b = r0[strategy], r1[strategy]
    assert a["losses"] != b["losses"]  # each rank trained on its own shard...
    assert a["alpha"] == b["alpha"]  # ...and α is bitwise the same on both
    assert any(abs(v) > 1e-2 for row in a["alpha"] for v in row)  # α moved from its ~1e-3 init
    assert a["arch"] == b["arch"] and a["valid_acc"] == b["valid_acc"] and a["run_dir"] == b["run_dir"]
    if strategy == "darts":  # perturbation selection: every decision measured on both shards, summed
        assert a["selection_log"] == b["selection_log"] == 6
    if strategy in ("proxyless", "gdas"):  # sampling strategies: the same path on both ranks at every forward
        assert len(a["draws"]) > 20 and a["draws"] == b["draws"]
        assert len({tuple(d) for d in a["draws"]}) > 6  # and the paths do vary


def test_cosearch_ranks_agree_on_the_hardware_decisions(sync_run):
    _, (r0, r1) = sync_run
    a, b = r0["cosearch"], r1["cosearch"]
    assert a["losses"] != b["losses"]
    assert a["hw_alpha"] is not None and set(a["hw_alpha"]) >= {"h_kind", "h_opt1"}
    assert a["hw_alpha"] == b["hw_alpha"]  # the hardware α are arch parameters: reduced like the network's
    assert any(abs(v) > 1e-2 for row in a["hw_alpha"].values() for v in row)  # and the cost terms moved them
    assert a["alpha"] == b["alpha"]
    assert a["hardware"] is not None and a["hardware"] == b["hardware"] and a["arch"] == b["arch"]


def test_only_rank_0_writes_the_run_folders(sync_run):
    out, _ = sync_run
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == ["cosearch", "darts", "darts_second", "gdas", "proxyless"]  # no "-2"
    files = sorted(p.name for p in (out / "runs" / "darts").iterdir())
    assert [f for f in files if f.startswith("events.out")].__len__() == 1  # one TensorBoard writer
    assert {"arch.json", "config.yaml", "report.md", "checkpoints"} <= set(files)


def test_killed_rank_stops_the_job_and_the_cli_resumes_under_two_processes(tmp_path):
    # rank 1 dies at the start of epoch 2: the job fails, rank 0 says why, the epoch-1 checkpoint is whole
    proc = torchrun(2, "tests/_ddp_search.py", "kill", str(tmp_path))
    assert proc.returncode != 0
    assert "exitcode  : 3" in proc.stderr
    assert "rank 0" in proc.stderr and ("stopped: another process" in proc.stderr or "lost the other" in proc.stderr)
    assert "--resume runs/<name>" in proc.stderr
    run = tmp_path / "killed"
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["stage"] == "train" and state["epoch"] == 1
    assert not list((run / "checkpoints").glob(".*.tmp"))

    # the hwnas command under torchrun: both ranks resume from that one file and finish; rank 0 prints once
    proc = torchrun(2, "-m", "hwnas", "search", "--resume", str(run), "--set", "train.progress=false")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "2 processes (gloo), batch per process" in proc.stderr and "resuming" in proc.stderr
    done = load_checkpoint(run / "checkpoints" / "last.pt")
    assert done["stage"] == "done" and done["epoch"] == 3
    assert proc.stdout.count('"archid"') == 1
    assert json.loads((run / "arch.json").read_text())["archid"] in proc.stdout
