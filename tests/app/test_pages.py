"""Every page of the navigation renders with a recording loaded (analysis pages included)."""

from __future__ import annotations

import pytest

from tests.app.conftest import ROOT, upload

ANALYSIS = ["connectome", "biclustering", "hmmglm", "neuroformer"]


def test_navigation_lists_the_data_pages_then_the_analyses(app):
    assert app.title[0].value == "Load recordings"  # Load is the default page
    text = (ROOT / "app.py").read_text()
    assert text.index("pages/load.py") < text.index("pages/explore.py") < text.index("pages/jobs.py")
    stems = [s for s, _, _ in _analysis_pages()]
    assert stems == ANALYSIS


def _analysis_pages():
    ns: dict = {}
    src = (ROOT / "app.py").read_text()
    start = src.index("ANALYSIS_PAGES = (")
    end = src.index(")\n\n", start) + 1
    exec(src[start:end], ns)  # only the constant, not the Streamlit calls
    return ns["ANALYSIS_PAGES"]


@pytest.mark.parametrize("stem", ANALYSIS)
def test_analysis_page_renders_with_a_recording(app, nwb_dir, stem):
    if not (ROOT / "pages" / f"{stem}.py").exists():
        pytest.skip(f"pages/{stem}.py is not written yet")
    upload(app, nwb_dir / "pynapple_A8604-211122.nwb")
    app.switch_page(f"pages/{stem}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.title and not app.error


def test_worker_processes_that_import_the_main_script_build_no_ui(monkeypatch):
    # spawned job processes re-import Streamlit's main script under the name __mp_main__
    import runpy

    import streamlit as st

    def fail(*args, **kwargs):
        raise AssertionError("app.py built its UI in a worker process")

    monkeypatch.setattr(st, "navigation", fail)
    monkeypatch.setattr(st, "set_page_config", fail)
    names = runpy.run_path(str(ROOT / "app.py"), run_name="__mp_main__")
    assert "main" in names and names["ANALYSIS_PAGES"]
