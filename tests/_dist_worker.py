"""Run under torchrun by tests/test_distributed.py: each rank exercises the collectives and writes what it saw."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from hwnas.data.sampler import EpochSampler
from hwnas.distributed import (
    DistInfo,
    all_reduce_grads,
    all_reduce_mean,
    barrier,
    broadcast_object,
    destroy_distributed,
    init_distributed,
    shard_sampler_kwargs,
)


def main(out: Path) -> None:
    info, device = init_distributed("cpu", timeout_s=60)
    again, _ = init_distributed("cpu")  # idempotent: the same group
    r = info.rank
    seen: dict[str, object] = {"info": [info.rank, info.world_size, info.local_rank, info.backend],
                               "again": again == info, "device": str(device)}
    # rank r saw (r + 1) * 10 samples with mean accuracy r: the weighted mean is (10*0 + 20*1) / 30
    seen["mean"] = all_reduce_mean({"acc": float(r), "loss": 1.0}, weight=(r + 1) * 10, info=info)
    seen["object"] = broadcast_object({"run_dir": f"runs/from-rank-{r}", "n": [r, 2]}, info=info)
    seen["object_src1"] = broadcast_object(f"rank-{r}", info=info, src=1)
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.full((3,), float(r + 1))
    q = torch.nn.Parameter(torch.zeros(2))  # a gradient on rank 1 only: rank 0 counts as zero
    q.grad = torch.ones(2) if r == 1 else None
    u = torch.nn.Parameter(torch.zeros(2))  # no gradient on any rank: stays None, as the optimizer expects
    all_reduce_grads([p, q, u], info=info)
    seen["grad"] = p.grad.tolist()
    seen["grad_one_rank"] = q.grad.tolist()
    seen["grad_none"] = u.grad is None
    seen["shard"] = list(EpochSampler(5, seed=0, **shard_sampler_kwargs(info)))
    try:
        all_reduce_mean({f"key{r}": 1.0}, info=info)
    except RuntimeError as e:
        seen["bad_keys"] = str(e)
    barrier(info)
    (out / f"rank{r}.json").write_text(json.dumps(seen))
    destroy_distributed()
    assert DistInfo().world_size == 1


if __name__ == "__main__":
    main(Path(sys.argv[1]))
