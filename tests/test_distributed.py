"""hwnas.distributed: collectives between 2 real processes (torchrun, gloo), and the single-process identities."""

from __future__ import annotations

import json

import pytest
import torch

from hwnas.data.sampler import EpochSampler
from hwnas.distributed import (
    DistInfo,
    DistributedError,
    all_reduce_grads,
    all_reduce_mean,
    barrier,
    broadcast_object,
    env_info,
    init_distributed,
    shard_sampler_kwargs,
)
from tests._torchrun import REPO, torchrun


def test_two_processes_share_means_objects_gradients_and_shards(tmp_path):
    proc = torchrun(2, str(REPO / "tests" / "_dist_worker.py"), str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["info"] == [0, 2, 0, "gloo"] and r1["info"] == [1, 2, 1, "gloo"]
    assert r0["again"] and r1["again"] and r0["device"] == "cpu"
    for r in (r0, r1):
        assert r["mean"] == pytest.approx({"acc": 20 / 30, "loss": 1.0})
        assert r["object"] == {"run_dir": "runs/from-rank-0", "n": [0, 2]}
        assert r["object_src1"] == "rank-1"
        assert r["grad"] == [1.5, 1.5, 1.5] and r["grad_one_rank"] == [0.5, 0.5] and r["grad_none"]
        assert "different keys" in r["bad_keys"]
    # the two shards cover the permutation of 5 items, padded by wrap-around to 3 each
    perm = list(EpochSampler(5, seed=0))
    assert r0["shard"] == perm[0::2] and r1["shard"] == (perm + perm)[1:6:2]


def test_single_process_is_identity(monkeypatch):
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    info, device = init_distributed("cpu")
    assert info == DistInfo() and not info.enabled and info.is_main and device == torch.device("cpu")
    assert all_reduce_mean({"a": 1.5}, weight=3, info=info) == {"a": 1.5}
    assert broadcast_object([1, "x"], info=info) == [1, "x"]
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.full((2,), 3.0)
    all_reduce_grads([p], info=info)
    assert p.grad.tolist() == [3.0, 3.0]
    barrier(info)
    assert shard_sampler_kwargs(info) == {"num_replicas": 1, "rank": 0}


@pytest.mark.parametrize(("env", "message"), [
    ({"WORLD_SIZE": "2", "RANK": "2"}, "do not fit together"),
    ({"WORLD_SIZE": "two"}, "must be integers"),
])
def test_bad_torchrun_variables_are_one_clear_error(monkeypatch, env, message):
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(DistributedError, match=message):
        env_info()


def test_missing_master_address_names_torchrun(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(DistributedError, match="MASTER_ADDR.*torchrun"):
        init_distributed("cpu")


def test_cuda_index_is_refused_under_torchrun(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("MASTER_ADDR", "localhost")
    monkeypatch.setenv("MASTER_PORT", "1")
    with pytest.raises(DistributedError, match="cuda:LOCAL_RANK"):
        init_distributed("cuda:1")
