"""Start a real multi-process job for tests: ``python -m torch.distributed.run`` on free ports, one thread each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def torchrun(nproc: int, *args: str, env: dict[str, str] | None = None, cwd: Path = REPO,
             timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``torchrun --nproc_per_node nproc ARGS`` (ARGS: a script and its arguments, or ``-m module ...``)."""
    full_env = {**os.environ, "HWNAS_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), **(env or {})}
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        full_env.pop(k, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
           "--rdzv_backend", "c10d", "--rdzv_endpoint", "localhost:0", *args]
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
