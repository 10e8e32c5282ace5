"""Progress of an epoch: a tqdm bar on a terminal, a few plain lines elsewhere (logs, CI, ``nohup``)."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from tqdm.auto import tqdm


class LineProgress:
    """The tqdm calls the loop makes (``update``, ``set_postfix``, ``close``), written as sparse lines.

    A line at every ``every`` of the steps (10% by default) and at most one per ``min_seconds``, plus
    the last: a log file gets a handful of lines per epoch instead of carriage-return noise.
    """

    def __init__(self, total: int, desc: str, *, file: TextIO, every: float = 0.1, min_seconds: float = 10.0) -> None:
        self.total, self.desc, self.file = max(int(total), 1), desc, file
        self.step, self.every, self.min_seconds = 0, every, min_seconds
        self.postfix: dict[str, Any] = {}
        self._next = self.every
        self._last = time.monotonic()
        self._start = self._last

    def update(self, n: int = 1) -> None:
        self.step += n
        now = time.monotonic()
        done = self.step / self.total
        if self.step >= self.total or (done >= self._next and now - self._last >= self.min_seconds):
            self._write(now)
        while done >= self._next:
            self._next += self.every

    def set_postfix(self, **values: Any) -> None:
        self.postfix = values

    def _write(self, now: float) -> None:
        extra = " ".join(f"{k} {v}" for k, v in self.postfix.items())
        print(f"{self.desc}: {self.step}/{self.total} steps, {now - self._start:.0f} s  {extra}".rstrip(),
              file=self.file, flush=True)
        self._last = now

    def close(self) -> None:
        pass


def epoch_progress(total: int, desc: str, *, enabled: bool, file: TextIO | None = None) -> Any:
    """A tqdm bar when ``file`` (stderr) is a terminal, :class:`LineProgress` when not, or a silent bar."""
    file = file or sys.stderr
    if enabled and not _is_tty(file):
        return LineProgress(total, desc, file=file)
    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, file=file)


def _is_tty(f: TextIO) -> bool:
    try:
        return f.isatty()
    except (AttributeError, ValueError):
        return False
