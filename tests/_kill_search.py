"""A search for crash tests: ``_kill_search.py OUT STRATEGY [--die-in-write N]``; writes OUT/final.json when done.

With ``--die-in-write N`` the process kills itself with SIGKILL in the middle of its N-th atomic file write, after
half of the bytes reached the temporary file: the moment a torn checkpoint would be made if writes were not atomic.
``--resume`` continues the run in OUT/runs/k. The final state (α, masks, weights digest, arch) goes to final.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
from pathlib import Path

ARGS = ["space.name=nb201", "space.kwargs={C: 4, N: 1}", "selection.name=magnitude", "selection.kwargs={}",
        "data.subset=64", "data.batch_size=16", "train.epochs=4", "train.max_steps_per_epoch=3",
        "train.eval_batches=1", "train.progress=false", "train.log_images_every=100", "deterministic=true",
        "threads=1", "name=k", "checkpoint.keep_last=0"]


def main() -> None:
    out, strategy = Path(sys.argv[1]), sys.argv[2]
    if "--die-in-write" in sys.argv:
        _die_in_write(int(sys.argv[sys.argv.index("--die-in-write") + 1]))
    from hwnas.search import load_run_config, load_search_config, run_search

    run_dir = out / "runs" / "k"
    if "--resume" in sys.argv:
        result = run_search(load_run_config(run_dir), resume_dir=run_dir, verbose=False)
    else:
        cfg = load_search_config("quickstart", [*ARGS, f"supernet.name={strategy}", f"out_dir={out / 'runs'}"])
        result = run_search(cfg, verbose=False)
    state = result.supernet.state_dict()
    digest = hashlib.sha256(b"".join(v.cpu().numpy().tobytes() for v in state.values())).hexdigest()
    (out / "final.json").write_text(json.dumps({"archid": result.arch.archid, "digest": digest}))


def _die_in_write(n: int) -> None:
    import hwnas.api.files as files

    original, calls = files.write_bytes_atomic, [0]

    def dying(path, data, *, what="file"):
        calls[0] += 1
        if calls[0] == n:
            tmp = Path(path).with_name(f".{Path(path).name}.dying.tmp")
            with open(tmp, "wb") as f:
                f.write(bytes(data)[: len(data) // 2])
                f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return original(path, data, what=what)

    files.write_bytes_atomic = dying
    import hwnas.search.checkpoint as ckpt

    ckpt.write_bytes_atomic = dying


if __name__ == "__main__":
    main()
