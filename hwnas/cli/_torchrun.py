"""How a process of a torchrun job ends when another one fails: one clear line, a non-zero status."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from types import FrameType

import torch.distributed as dist

from hwnas.distributed import env_info

#: What a stopped rank can do next; its checkpoints are only ever written whole (temp file + rename) by rank 0.
_NEXT = ("the run folder keeps its last good checkpoint (written whole by rank 0); continue with "
         "--resume runs/<name>")


#: How a collective reports that a peer is gone.
_PEER_LOST = ("Connection reset by peer", "Connection closed by peer", "gloo", "NCCL")


class JobStopped(Exception):
    """torchrun stopped this process because another process of the job failed."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise JobStopped


@contextlib.contextmanager
def job_guard(command: str) -> Iterator[None]:
    """Under torchrun: turn the agent's SIGTERM and a collective broken by a dead peer into one line.

    A single process is left alone. The exit status is 1 (torchrun reports the rank that failed first).
    """
    info = env_info()
    if not info.enabled:
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    except JobStopped:
        print(f"hwnas {command}: rank {info.rank} stopped: another process of the job failed and torchrun "
              f"ended the job; {_NEXT}", file=sys.stderr)
        raise SystemExit(1) from None
    except RuntimeError as e:  # gloo reports a dead peer as a plain RuntimeError, NCCL as a DistError
        if not (isinstance(e, dist.DistError) or any(m in str(e) for m in _PEER_LOST)):
            raise
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        print(f"hwnas {command}: rank {info.rank} lost the other processes ({first}); {_NEXT}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
