"""The threads setting (config, environment, default) and line-based progress when stderr is not a terminal."""

from __future__ import annotations

import io

import pytest
import torch

from hwnas.api import ConfigError
from hwnas.search import load_search_config
from hwnas.search.progress import LineProgress, epoch_progress
from hwnas.search.threads import apply_threads, default_threads, resolve_threads


def test_threads_come_from_config_then_environment_then_default(monkeypatch):
    monkeypatch.setenv("HWNAS_THREADS", "3")
    assert resolve_threads(2) == (2, "config")
    assert resolve_threads(None) == (3, "$HWNAS_THREADS")
    monkeypatch.delenv("HWNAS_THREADS")
    assert resolve_threads(None) == (default_threads(), "default")
    assert 1 <= default_threads() <= 4
    monkeypatch.setenv("HWNAS_THREADS", "many")
    with pytest.raises(ConfigError, match="HWNAS_THREADS='many' is not a whole number"):
        resolve_threads(None)


def test_apply_threads_sets_torch_and_says_how_to_change_it():
    before = torch.get_num_threads()
    try:
        line = apply_threads(1)
        assert torch.get_num_threads() == 1
        assert line == "threads: 1 (config; change with --set threads=N or HWNAS_THREADS=N)"
    finally:
        torch.set_num_threads(before)
    assert load_search_config("quickstart", ["threads=2"]).threads == 2
    with pytest.raises(ConfigError, match="threads must be >= 1"):
        load_search_config("quickstart", ["threads=0"])


def test_progress_is_a_few_lines_when_not_a_terminal():
    out = io.StringIO()
    bar = epoch_progress(50, "epoch 1/3", enabled=True, file=out)
    assert isinstance(bar, LineProgress)
    bar.min_seconds = 0.0
    for i in range(50):
        bar.update(1)
        bar.set_postfix(loss=f"{1 / (i + 1):.3f}")
    bar.close()
    lines = out.getvalue().splitlines()
    assert 5 <= len(lines) <= 11  # every 10%, and the last
    assert lines[-1].startswith("epoch 1/3: 50/50 steps") and "loss 0.020" in lines[-1]
    quiet = io.StringIO()
    epoch_progress(50, "x", enabled=False, file=quiet).update(50)
    assert quiet.getvalue() == ""
