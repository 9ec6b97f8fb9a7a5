"""Shared fixtures: where the real recordings are, and small helpers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _data_dir() -> Path:
    return Path(os.environ.get("NEUROTOOLS_TEST_DATA", ROOT.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real recordings (``nwb/`` and ``bad/``).

    In CI (``CI=true``) a missing folder fails the test; elsewhere it skips with the reason.
    """
    d = _data_dir()
    if not (d / "nwb").is_dir():
        msg = f"real recordings not found at {d}; set NEUROTOOLS_TEST_DATA"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return d


@pytest.fixture(scope="session")
def nwb_dir(shared_data: Path) -> Path:
    """``shared_data / "nwb"``."""
    return shared_data / "nwb"


@pytest.fixture(scope="session")
def bad_dir(shared_data: Path) -> Path:
    """``shared_data / "bad"``."""
    return shared_data / "bad"


def wait_until(cond: Callable[[], bool], timeout_s: float = 60.0, poll_s: float = 0.1) -> None:
    """Poll ``cond`` until it holds; fail the test after ``timeout_s`` seconds."""
    t_end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > t_end:
            raise AssertionError(f"timed out after {timeout_s} s")
        time.sleep(poll_s)
