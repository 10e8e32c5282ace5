"""Crash safety: SIGKILL at any moment (inside a checkpoint write too) and a full disk never lose the last good files.

Kills use real processes (``tests/_kill_search.py``); after each, the run folder must hold a loadable checkpoint,
``--resume`` must finish, and in deterministic mode the result must equal an uninterrupted run.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hwnas.api import ArchSpec
from hwnas.api.files import FileError
from hwnas.search.checkpoint import load_checkpoint, save_checkpoint, write_text_atomic

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL trials and /proc/self/fd are Linux")
ENV = {**os.environ, "HWNAS_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def _run(out: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "tests" / "_kill_search.py"), str(out), *args], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    proc = _run(out, "darts")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads((out / "final.json").read_text())


def _resume_and_compare(out: Path, reference: dict) -> None:
    ckpt = out / "runs" / "k" / "checkpoints" / "last.pt"
    assert ckpt.is_file(), "the run folder lost its checkpoint"
    load_checkpoint(ckpt)  # loadable: never torn
    proc = _run(out, "darts", "--resume")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((out / "final.json").read_text()) == reference


@pytest.mark.parametrize("write", [3, 5])
def test_killed_inside_a_checkpoint_write(tmp_path, uninterrupted, write):
    proc = _run(tmp_path, "darts", "--die-in-write", str(write))
    assert proc.returncode == -signal.SIGKILL
    assert list((tmp_path / "runs" / "k" / "checkpoints").glob(".*dying.tmp"))  # the torn temp file is there...
    _resume_and_compare(tmp_path, uninterrupted)  # ...and never read


def test_killed_at_a_random_moment(tmp_path, uninterrupted):
    rng = random.Random(7)
    p = subprocess.Popen([sys.executable, str(REPO / "tests" / "_kill_search.py"), str(tmp_path), "darts"], env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    ckpt = tmp_path / "runs" / "k" / "checkpoints" / "last.pt"
    while not ckpt.exists() and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 1.5))  # somewhere in training, between or inside checkpoint writes
    p.send_signal(signal.SIGKILL)
    p.wait()
    _resume_and_compare(tmp_path, uninterrupted)


def _disk_full_after(monkeypatch, n_ok: int, name: str = "") -> None:
    """Every fsync of a file (whose name holds ``name``) after the first ``n_ok`` fails as a full disk would."""
    real, calls = os.fsync, [0]

    def fsync(fd):
        target = os.readlink(f"/proc/self/fd/{fd}")
        if os.path.isfile(target) and name in os.path.basename(target):
            calls[0] += 1
            if calls[0] > n_ok:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.parametrize("what", ["checkpoint", "arch.json", "report"])
def test_a_full_disk_keeps_the_previous_file_and_says_so(tmp_path, monkeypatch, what):
    path = tmp_path / {"checkpoint": "last.pt", "arch.json": "arch.json", "report": "report.md"}[what]
    write = {
        "checkpoint": lambda v: save_checkpoint(path, {"epoch": v}),
        "arch.json": lambda v: ArchSpec("nb201", {"e": f"op{v}"}).save(path),
        "report": lambda v: write_text_atomic(path, f"epoch {v}\n"),
    }[what]
    write(1)
    before = path.read_bytes()
    _disk_full_after(monkeypatch, 0)
    with pytest.raises(FileError, match="the disk is full \\(the previous file is unchanged\\)"):
        write(2)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file left behind


def test_a_search_that_fills_the_disk_stops_in_one_line_and_keeps_its_checkpoint(tmp_path, monkeypatch, capsys):
    from hwnas.cli import main

    args = ["search", "--quiet", "--set", f"out_dir={tmp_path}"]
    args += [a for s in ("space.name=nb201", "space.kwargs={C: 4, N: 1}", "selection.name=magnitude",
                         "selection.kwargs={}", "data.subset=32", "data.batch_size=16", "train.epochs=3",
                         "train.max_steps_per_epoch=1", "train.eval_batches=1") for a in ("--set", s)]
    _disk_full_after(monkeypatch, 1, name=".last.pt.")  # the first checkpoint fits, the next one does not
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the disk is full" in err[0], err
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "quickstart" / "checkpoints" / "last.pt")["epoch"] == 1


def test_readers_of_a_file_being_rewritten_never_see_a_torn_one(tmp_path):
    """Two writers replace one shared file (a measured-latency cache) while readers parse it: every read is whole."""
    import threading

    from hwnas.api.files import write_bytes_atomic

    path = tmp_path / "lut.json"
    bodies = [json.dumps({"writer": w, "rows": list(range(20000))}).encode() for w in (0, 1)]
    write_bytes_atomic(path, bodies[0])
    stop, torn, reads = threading.Event(), [], [0]

    def writer(w: int) -> None:
        while not stop.is_set():
            write_bytes_atomic(path, bodies[w], what="lookup table")

    def reader() -> None:
        while not stop.is_set():
            try:
                json.loads(path.read_bytes())
                reads[0] += 1
            except json.JSONDecodeError as e:
                torn.append(str(e))

    threads = [threading.Thread(target=writer, args=(w,)) for w in (0, 1)] + [threading.Thread(target=reader)
                                                                             for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join()
    assert not torn and reads[0] > 10
    assert not [p for p in tmp_path.iterdir() if p.name != "lut.json"]  # no temp file left behind
