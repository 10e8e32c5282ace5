"""A training job under torchrun for tests: ``_ddp_train.py OUT [crash]``; each rank dumps its final weights' digest.

With ``crash``, rank 1 dies (os._exit) at the start of the second epoch, after the first epoch's checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import torch

from hwnas.search_spaces.nb201 import nb201_str_to_arch
from hwnas.train import load_train_config, run_training
from hwnas.train import run as train_run
from hwnas.train.engine import Trainer, unwrap

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"


def main() -> None:
    out, crash = Path(sys.argv[1]), len(sys.argv) > 2 and sys.argv[2] == "crash"
    rank = int(os.environ["RANK"])
    digests: dict[str, str] = {}
    original, original_sync = Trainer.train_epoch, train_run.average_buffers

    def train_epoch(self, loader, epoch, **kw):
        if crash and rank == 1 and epoch == 1:
            os._exit(3)
        return original(self, loader, epoch, **kw)

    def average_buffers(net, *, info):  # the end of an epoch, once BatchNorm statistics are synced
        original_sync(net, info=info)
        state = unwrap(net).state_dict()
        digests[str(len(digests))] = hashlib.sha256(b"".join(v.numpy().tobytes() for v in state.values())).hexdigest()

    Trainer.train_epoch = train_epoch  # type: ignore[method-assign]
    train_run.average_buffers = average_buffers
    cfg = load_train_config("quick", [
        f"out_dir={out}", "epochs=2", "max_steps_per_epoch=2", "data.subset=64", "data.batch_size=16",
        "model.space_kwargs={C: 4, N: 1}", "deterministic=true", "progress=false", "threads=1",
    ])
    result = run_training(cfg, nb201_str_to_arch(ARCH), verbose=rank == 0)
    (out / f"rank{rank}.json").write_text(json.dumps({
        "digests": digests, "run_dir": str(result.run_dir), "world": int(os.environ["WORLD_SIZE"]),
        "test_acc": None if not result.report else result.report["test"]["acc"],
    }))
    torch.distributed.destroy_process_group() if torch.distributed.is_initialized() else None


if __name__ == "__main__":
    main()
