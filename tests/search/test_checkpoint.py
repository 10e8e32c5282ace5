"""Atomic checkpoints, weights_only round trips of a realistic search state, and RNG capture/restore."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from hwnas.api import UserError
from hwnas.search.checkpoint import (
    CheckpointError,
    check_weights_only_safe,
    find_resume_checkpoint,
    load_checkpoint,
    save_checkpoint,
    save_run_checkpoint,
    to_weights_only_safe,
)
from hwnas.search.reproducibility import capture_rng_state, restore_rng_state, seed_everything, set_deterministic


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)
        self.alpha = nn.Parameter(1e-3 * torch.randn(3, 5))  # stands in for α

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bn(self.conv(x)).mean((2, 3))
        return self.fc(h) + self.alpha.softmax(-1).sum()


def _realistic_state() -> tuple[dict, nn.Module]:
    torch.manual_seed(0)
    net = _Net()
    w_opt = torch.optim.SGD(
        [p for n, p in net.named_parameters() if n != "alpha"], lr=0.025, momentum=0.9, weight_decay=3e-4
    )
    a_opt = torch.optim.Adam([net.alpha], lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, T_max=10, eta_min=1e-3)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    gen = torch.Generator().manual_seed(7)
    for _ in range(3):
        loss = net(torch.randn(2, 3, 6, 6)).pow(2).mean()
        w_opt.zero_grad()
        a_opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(w_opt)
        scaler.step(a_opt)
        scaler.update()
        sched.step()
    scaler.update(512.0)  # as after an overflow backoff
    state = {
        "model": net.state_dict(),
        "optimizers": {"w": w_opt.state_dict(), "arch": a_opt.state_dict()},
        "schedulers": {"w": sched.state_dict()},
        "scaler": scaler.state_dict(),
        "rng": capture_rng_state({"loader": gen}),
        "epoch": 3,
        "global_step": 42,
        "config": {"train": {"epochs": 50, "arch_betas": [0.5, 0.999], "order": "first"}, "seed": 2, "tag": None},
        "history": [{"epoch": 0, "loss": 1.5}, {"epoch": 1, "loss": float("nan")}],
    }
    return state, net


def _assert_same(a, b, where="state"):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and a != a:
        assert b != b, where
    else:
        assert a == b, where


def test_realistic_state_round_trips_under_weights_only(tmp_path: Path) -> None:
    state, net = _realistic_state()
    p = save_checkpoint(tmp_path / "ck" / "last.pt", state)
    # the raw torch call the loop's users would make must accept it too
    raw = torch.load(p, map_location="cpu", weights_only=True)
    _assert_same(state, raw)
    back = load_checkpoint(p)
    _assert_same(state, back)
    # and it restores into fresh objects
    net2 = _Net()
    net2.load_state_dict(back["model"])
    assert torch.equal(net2.alpha, net.alpha)
    opt = torch.optim.Adam([net2.alpha], lr=1.0)
    opt.load_state_dict(back["optimizers"]["arch"])
    assert opt.param_groups[0]["betas"] == (0.5, 0.999)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(torch.optim.SGD(net2.parameters(), lr=1.0), T_max=10)
    sched.load_state_dict(back["schedulers"]["w"])
    assert sched.last_epoch == 3
    scaler = torch.amp.GradScaler("cpu")
    scaler.load_state_dict(back["scaler"])
    assert scaler.get_scale() == 512.0


def test_crash_mid_write_leaves_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = save_checkpoint(tmp_path / "last.pt", {"epoch": 1, "w": torch.arange(4)})

    def boom(*args, **kwargs):
        raise OSError("simulated crash during rename")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated crash"):
        save_checkpoint(p, {"epoch": 2, "w": torch.zeros(4)})
    monkeypatch.undo()
    assert load_checkpoint(p)["epoch"] == 1
    assert [f.name for f in tmp_path.iterdir()] == ["last.pt"]  # the temp file was cleaned up


def test_crash_while_writing_bytes_leaves_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = save_checkpoint(tmp_path / "last.pt", {"epoch": 1})
    real_fsync = os.fsync
    calls = []

    def dying_fsync(fd):  # the temp file is half written when the "power fails"
        calls.append(fd)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", dying_fsync)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(p, {"epoch": 2, "big": torch.zeros(10_000)})
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert calls and load_checkpoint(p)["epoch"] == 1
    # a temp file left by a killed process is swept by the next save
    (tmp_path / ".last.pt.abc123.tmp").write_bytes(b"partial")
    save_checkpoint(p, {"epoch": 3})
    assert sorted(f.name for f in tmp_path.iterdir()) == ["last.pt"]
    assert load_checkpoint(p)["epoch"] == 3


def test_run_checkpoints_keep_last_and_resume(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "r1"
    with pytest.raises(CheckpointError, match="has no checkpoint"):
        run.mkdir(parents=True)
        find_resume_checkpoint(run)
    for epoch in range(5):
        save_run_checkpoint(run / "checkpoints", {"epoch": epoch}, epoch=epoch, keep_last=2)
    names = sorted(f.name for f in (run / "checkpoints").iterdir())
    assert names == ["epoch_3.pt", "epoch_4.pt", "last.pt"]
    assert load_checkpoint(run / "checkpoints" / "epoch_3.pt")["epoch"] == 3  # the hard link kept its content
    assert find_resume_checkpoint(run) == run / "checkpoints" / "last.pt"
    assert load_checkpoint(find_resume_checkpoint(run))["epoch"] == 4
    (run / "checkpoints" / "last.pt").unlink()
    assert find_resume_checkpoint(run).name == "epoch_4.pt"
    assert find_resume_checkpoint(run / "checkpoints" / "epoch_3.pt").name == "epoch_3.pt"
    with pytest.raises(CheckpointError, match="does not exist"):
        find_resume_checkpoint(tmp_path / "nope")


def test_load_errors_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pt"
    with pytest.raises(CheckpointError, match="missing.pt.*does not exist"):
        load_checkpoint(missing)
    good = save_checkpoint(tmp_path / "good.pt", {"w": torch.randn(100)})
    torn = tmp_path / "torn.pt"
    torn.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="torn.pt.*corrupt, truncated or not a checkpoint"):
        load_checkpoint(torn)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="garbage.pt"):
        load_checkpoint(garbage)
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"path": Path("/tmp")}, unsafe)  # pickles a class weights_only refuses
    with pytest.raises(CheckpointError, match="unsafe.pt.*not a valid hwnas checkpoint.*nothing in it ran") as e:
        load_checkpoint(unsafe)
    assert "weights_only=False" not in str(e.value)  # never the advice to switch the safety check off
    assert issubclass(CheckpointError, UserError)


def test_save_rejects_unsafe_values_early_and_converter_fixes_them(tmp_path: Path) -> None:
    bad = {"config": {"data": {"root": Path("/data")}}, "np": np.float32(1.5)}
    with pytest.raises(TypeError, match=r"state\['config'\]\['data'\]\['root'\]"):
        save_checkpoint(tmp_path / "x.pt", bad)
    assert not (tmp_path / "x.pt").exists()
    from collections import defaultdict

    with pytest.raises(TypeError, match="defaultdict"):
        check_weights_only_safe({"d": defaultdict(list)})
    safe = to_weights_only_safe({**bad, "arr": np.arange(3), "s": {"b", "a"}, "dd": defaultdict(int, a=1)})
    check_weights_only_safe(safe)
    back = load_checkpoint(save_checkpoint(tmp_path / "x.pt", safe))
    assert back["config"]["data"]["root"] == "/data" and back["np"] == 1.5 and back["s"] == ["a", "b"]
    assert torch.equal(back["arr"], torch.arange(3)) and back["dd"] == {"a": 1}


def test_rng_restore_reproduces_every_stream_through_a_checkpoint(tmp_path: Path) -> None:
    seed_everything(123)
    gen = torch.Generator().manual_seed(5)
    random.random()
    np.random.normal()  # leaves a cached gaussian in NumPy's legacy state
    torch.randn(3)
    state = capture_rng_state({"loader": gen})

    def draw():
        return (
            [random.random() for _ in range(3)] + [random.gauss(0, 1)],
            np.random.rand(4).tolist() + [float(np.random.normal())],
            torch.rand(5),
            torch.randperm(10, generator=gen),
        )

    first = draw()
    p = save_checkpoint(tmp_path / "rng.pt", {"rng": state})
    seed_everything(999)  # scramble everything
    gen.manual_seed(999)
    draw()
    restore_rng_state(load_checkpoint(p)["rng"], {"loader": gen})
    second = draw()
    assert first[0] == second[0] and first[1] == second[1]
    assert torch.equal(first[2], second[2]) and torch.equal(first[3], second[3])
    with pytest.raises(KeyError, match="no generator 'other'"):
        restore_rng_state(state, {"other": torch.Generator()})


def test_seed_everything_and_deterministic_mode() -> None:
    seed_everything(3)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(3)
    assert a == (random.random(), np.random.rand(), torch.rand(1).item())
    with pytest.raises(ValueError):
        seed_everything(-1)
    env_before = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    try:
        set_deterministic(True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    finally:
        set_deterministic(False)
        if env_before is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    assert not torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.deterministic
