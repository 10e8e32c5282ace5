"""Fault figures: bad-input classes handled, SIGKILL trials survived, full-disk trials survived.

Every trial is a real run of the CLI or a real process killed with SIGKILL; the result is a count per kind of fault
and the command that reproduces each kind. Run from the repository root:

    python benchmarks/faults.py                  # the bad-input table, 8 random kills, 4 in-write kills, full disks
    python benchmarks/faults.py --kills 40 --strategies darts pc_darts proxyless gdas

A kill trial passes when the run folder holds a loadable checkpoint, ``--resume`` finishes, and the resumed run's
architecture and weights (deterministic mode, CPU) equal an uninterrupted run's.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.test_bad_input import CASES  # noqa: E402  (the table the test suite runs)
from tests.test_crash_safety import ENV  # noqa: E402


def bad_inputs() -> tuple[int, int, list[str]]:
    from hwnas.cli import main

    ok, failed, cwd = 0, [], os.getcwd()
    for name, argv, expected in CASES:
        with tempfile.TemporaryDirectory() as d, redirect_stderr(io.StringIO()) as err:
            os.chdir(d)
            try:
                rc = main(argv(Path(d)))
            except BaseException as e:  # noqa: BLE001  (a traceback is exactly what is being counted)
                rc = -1
                err.write(f"{type(e).__name__}: {e}")
            finally:
                os.chdir(cwd)
        lines = err.getvalue().strip().splitlines()
        good = rc == 2 and len(lines) == 1 and expected in lines[0] and "weights_only=False" not in lines[0]
        ok += good
        if not good:
            failed.append(name)
    return ok, len(CASES), failed


def _worker(out: Path, strategy: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "tests" / "_kill_search.py"), str(out), strategy, *extra],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _final(out: Path) -> dict | None:
    f = out / "final.json"
    return json.loads(f.read_text()) if f.is_file() else None


def _survived(out: Path, strategy: str, reference: dict) -> bool:
    from hwnas.search.checkpoint import CheckpointError, load_checkpoint

    ckpt = out / "runs" / "k" / "checkpoints" / "last.pt"
    if _final(out) is not None:  # the kill came after the run had finished
        return _final(out) == reference
    try:
        load_checkpoint(ckpt)
    except CheckpointError:
        return not ckpt.exists() and _worker(out, strategy).wait() == 0 and _final(out) == reference
    return _worker(out, strategy, "--resume").wait() == 0 and _final(out) == reference


def kills(strategies: list[str], n_random: int, n_write: int, seed: int) -> dict[str, list[int]]:
    rng = random.Random(seed)
    figures: dict[str, list[int]] = {"random": [0, 0], "in_write": [0, 0]}
    refs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as root:
        for s in strategies:
            d = Path(root) / f"ref-{s}"
            _worker(d, s).wait()
            refs[s] = _final(d)  # type: ignore[assignment]
        t0 = time.monotonic()
        _worker(Path(root) / "timing", strategies[0]).wait()
        span = time.monotonic() - t0
        for i in range(n_random):
            s, d = strategies[i % len(strategies)], Path(root) / f"kill-{i}"
            p = _worker(d, s)
            time.sleep(rng.uniform(0.3 * span, 1.0 * span))  # start-up, training, checkpoints, selection
            p.send_signal(signal.SIGKILL)
            p.wait()
            figures["random"][0] += _survived(d, s, refs[s])
            figures["random"][1] += 1
        for i in range(n_write):
            s, d = strategies[i % len(strategies)], Path(root) / f"write-{i}"
            _worker(d, s, "--die-in-write", str(2 + i)).wait()
            figures["in_write"][0] += _survived(d, s, refs[s])
            figures["in_write"][1] += 1
    return figures


class _Outcomes:
    """A pytest plugin that counts the outcomes of the tests it sees run."""

    def __init__(self) -> None:
        self.passed = self.total = 0

    def pytest_runtest_logreport(self, report) -> None:  # noqa: ANN001  (pytest's hook signature)
        if report.when == "call":
            self.total += 1
            self.passed += report.passed


def full_disk() -> tuple[int, int]:
    import pytest

    seen = _Outcomes()
    pytest.main(["-q", "-p", "no:cacheprovider", str(REPO / "tests" / "test_crash_safety.py"), "-k", "disk"],
                plugins=[seen])
    return seen.passed, seen.total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=8, help="SIGKILLs at random moments")
    p.add_argument("--write-kills", type=int, default=4, help="SIGKILLs inside an atomic write")
    p.add_argument("--strategies", nargs="+", default=["darts", "pc_darts", "proxyless", "gdas"])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    ok, total, failed = bad_inputs()
    k = kills(args.strategies, args.kills, args.write_kills, args.seed)
    disk_ok, disk_total = full_disk()
    missed = f" (failed: {', '.join(failed)})" if failed else ""
    print(f"bad-input classes handled in one line: {ok}/{total}{missed}")
    print("    python -m pytest tests/test_bad_input.py")
    print(f"SIGKILL at random moments survived: {k['random'][0]}/{k['random'][1]} ({', '.join(args.strategies)})")
    print(f"SIGKILL inside an atomic write survived: {k['in_write'][0]}/{k['in_write'][1]}")
    print("    python tests/_kill_search.py OUT darts --die-in-write 3")
    print("    python tests/_kill_search.py OUT darts --resume")
    print(f"full-disk trials (checkpoint, arch.json, report, a search) keeping the old file: {disk_ok}/{disk_total}")
    print("    python -m pytest tests/test_crash_safety.py -k disk")


if __name__ == "__main__":
    main()
