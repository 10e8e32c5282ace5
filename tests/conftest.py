"""Shared test settings: small thread counts so the suite behaves on a 2-core machine."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

# One thread: the test models are tiny, and OpenMP threads thrash when cores are shared.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture
def shared_data() -> Path:
    """The measured data folder beside the checkout; tests that need it skip cleanly without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
