"""AppTest helpers: a fresh app per test, isolated job and upload folders, inline jobs."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
BIG = "pynapple_sub-4_ses-4_ecephys+image.nwb"


@pytest.fixture(autouse=True)
def _isolated_app_env(tmp_path, monkeypatch):
    """Jobs and uploads go to a temporary folder; jobs run inline (in the script thread)."""
    monkeypatch.setenv("NEUROTOOLS_EXECUTOR", "inline")
    monkeypatch.setenv("NEUROTOOLS_JOBS_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("NEUROTOOLS_UPLOADS_DIR", str(tmp_path / "uploads"))
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def app() -> AppTest:
    """The app, run once (Load page)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    assert not at.exception
    return at


def upload(at: AppTest, *paths: Path) -> AppTest:
    """Upload files through the Load page's uploader, as a browser would."""
    at.switch_page("pages/load.py").run()
    files = [(p.name, p.read_bytes(), "application/octet-stream") for p in paths]
    at.file_uploader[0].set_value(files)
    return at.run()


def metrics(at: AppTest) -> list[tuple[str, str]]:
    """(label, value) of every st.metric on the page."""
    return [(m.label, m.value) for m in at.metric]


def figures(at: AppTest) -> list[dict]:
    """The plotly figure specs shown on the page, in order."""
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def decode(arr) -> np.ndarray:
    """A plotly JSON array (list or base64 typed array) as numpy."""
    if isinstance(arr, dict) and "bdata" in arr:
        out = np.frombuffer(base64.b64decode(arr["bdata"]), dtype=np.dtype(arr["dtype"]))
        if "shape" in arr:
            out = out.reshape([int(s) for s in str(arr["shape"]).split(",")])
        return out
    return np.asarray(arr)
