"""Shared fixtures: where the real recordings are, and small helpers."""

from __future__ import annotations

import os
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
