"""Hostile uploads (AppTest): fuzz cases one after another, then a good file; oversized uploads.

Each damaged upload gives exactly one clear error, leaves nothing loaded and nothing spooled, and
the app keeps serving: the good file uploaded afterwards loads and shows its exact counts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.conftest import BIG, metrics, upload
from tests.data.fuzz_corpus import build_corpus, clear_message

SMALL = "pynapple_A8604-211122.nwb"  # 0.4 MB: 3 units, 21,354 spikes

#: Damaged cases uploaded in a row: (case name, words of its error).
HOSTILE = (
    ("truncate/units/at 5000 of 442304 bytes", "truncated"),
    ("flip/units/superblock byte 9", "cannot be opened"),
    ("huge/units/spike_times declared 1e12", "declares shape"),
    ("dtype/units/spike_times 2-D", "not a 1-D list"),
    ("nonfinite/stack/nan in timestamps", "not finite"),
    ("remove/units/root nwb_version", "not an NWB file"),
)


@pytest.fixture(scope="module")
def corpus(nwb_dir, tmp_path_factory) -> dict[str, Path]:
    return {c.name: c.path for c in build_corpus(nwb_dir, tmp_path_factory.mktemp("fuzz"))}


def _spooled(tmp_path: Path) -> list[Path]:
    root = tmp_path / "uploads"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_hostile_uploads_in_a_row_then_a_good_file(app, nwb_dir, corpus, tmp_path):
    for name, words in HOSTILE:
        upload(app, corpus[name])
        assert not app.exception, name
        errors = [e.value for e in app.error]
        assert len(errors) == 1, (name, errors)
        assert words in errors[0] and corpus[name].name in errors[0], (name, errors[0])
        assert clear_message(errors[0]), errors[0]
        assert app.session_state["nt_files"] == [], name
        assert _spooled(tmp_path) == [], name  # refused uploads are not kept on the server
    upload(app, nwb_dir / SMALL)
    assert not app.exception and not app.error
    assert [s.value for s in app.success] == [f"Loaded {SMALL}."]
    m = dict(metrics(app))
    assert m["units"] == "3" and m["spikes"] == "21,354"


def test_repairable_upload_loads_with_its_warning(app, corpus):
    upload(app, corpus["nonfinite/units/8 nan/inf spike times"])
    assert not app.exception and not app.error
    assert any("were not finite" in w.value and "dropped" in w.value for w in app.warning)
    m = dict(metrics(app))
    assert m["units"] == "3" and m["spikes"] == "21,346"  # 21,354 less the 8 dropped


def test_oversized_upload_is_refused_on_the_server(monkeypatch, nwb_dir, tmp_path):
    monkeypatch.setenv("NEUROTOOLS_MAX_UPLOAD_MB", "1")
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    upload(at, nwb_dir / BIG)  # 2.1 MB > 1 MB
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"{BIG} is 2.0 MB, over the upload limit of 1 MB; load it by its path on the server instead "
        "(Server path tab), or ask the administrator to raise the limit."
    ]
    assert at.session_state["nt_files"] == []
    assert _spooled(tmp_path) == []
    # a file under the limit still loads
    upload(at, nwb_dir / SMALL)
    assert not at.error and [e["name"] for e in at.session_state["nt_files"]] == [SMALL]


def test_spool_upload_refuses_more_bytes_than_declared(monkeypatch, tmp_path):
    """A client that declares a small size but sends more is stopped while spooling."""
    import io

    from neurotools.errors import UserError
    from pages._shared import spool_upload

    monkeypatch.setenv("NEUROTOOLS_MAX_UPLOAD_MB", "1")

    class Lying(io.BytesIO):
        name = "lie.nwb"
        size = 10

    with pytest.raises(UserError, match="over the upload limit of 1 MB"):
        spool_upload(Lying(b"\0" * (2**20 + 1)))
    assert _spooled(tmp_path) == []
    ok = spool_upload(Lying(b"\0" * 2**20))  # exactly the limit is allowed
    assert ok.stat().st_size == 2**20
