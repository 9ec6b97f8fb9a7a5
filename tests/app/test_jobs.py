"""Jobs page (AppTest): a real background job, its progress, cancel, and ?job= after a reload."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import BIG, ROOT, figures, upload
from tests.conftest import wait_until


def _jobs_page(at: AppTest) -> AppTest:
    at.switch_page("pages/jobs.py").run()
    assert not at.exception
    return at


def test_rate_sweep_runs_and_is_found_again_after_reload(app, nwb_dir):
    upload(app, nwb_dir / BIG)
    _jobs_page(app)
    app.number_input(key="jobs_n_widths").set_value(4)
    app.button(key="jobs_start").click().run()
    assert not app.exception and not app.error
    job_id = app.query_params["job"]
    assert isinstance(job_id, str) and job_id
    assert any(job_id in s.value and "finished" in s.value for s in app.success)
    fig = figures(app)[0]
    unit_lines = [t for t in fig["data"] if t["name"].startswith("unit ")]
    assert len(unit_lines) == 35
    assert fig["layout"]["xaxis"]["title"]["text"] == "bin width (s)"
    # a reload (a fresh session, nothing loaded) finds the job from the URL alone
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    again.query_params["job"] = job_id
    _jobs_page(again.run())
    assert any(job_id in s.value and "finished" in s.value for s in again.success)
    assert len(figures(again)) == 1
    assert any(job_id in m.value for m in again.markdown)  # listed under All jobs


def test_unknown_job_id_is_one_clear_error(app):
    app.query_params["job"] = "nope-123"
    _jobs_page(app.run())
    assert len(app.error) == 1 and "No job 'nope-123'" in app.error[0].value


def test_progress_cancel_and_second_tab_with_local_processes(app, nwb_dir, monkeypatch):
    """The default executor (local processes): progress is polled, cancel stops the worker."""
    monkeypatch.setenv("NEUROTOOLS_EXECUTOR", "process")
    from pages import _shared

    upload(app, nwb_dir / BIG)
    _jobs_page(app)
    app.number_input(key="jobs_n_widths").set_value(2000)  # minutes of work if not cancelled
    app.button(key="jobs_start").click().run()
    assert not app.exception
    job_id = app.query_params["job"]
    store = _shared.job_store()
    try:
        wait_until(lambda: store.status(job_id).progress > 0)
        app.run()
        bars = app.get("progress")
        assert len(bars) == 1 and 0 <= bars[0].proto.value <= 100
        assert bars[0].proto.text.startswith("running: ") and "/2000)" in bars[0].proto.text
        # a second tab (or a reload) with ?job= shows the same running job
        tab = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
        tab.query_params["job"] = job_id
        _jobs_page(tab.run())
        assert len(tab.get("progress")) == 1
        app.button(key=f"job_cancel_{job_id}").click().run()
        assert not app.exception
        wait_until(lambda: store.status(job_id).state == "cancelled", 30)
        app.run()
        assert any("was cancelled" in w.value for w in app.warning)
        assert store.result(job_id) is None
    finally:
        store.cancel(job_id)
        _shared.executor().shutdown(wait=True, cancel_futures=True)
        _shared._executor.clear()


@pytest.mark.parametrize("page", ["pages/load.py", "pages/explore.py", "pages/jobs.py"])
def test_switching_pages_keeps_loaded_files(app, nwb_dir, page):
    upload(app, nwb_dir / "pynapple_A8604-211122.nwb")
    app.switch_page(page).run()
    assert not app.exception
    app.switch_page("pages/load.py").run()
    assert [e["name"] for e in app.session_state["nt_files"]] == ["pynapple_A8604-211122.nwb"]


@pytest.mark.parametrize("stem", ["biclustering", "connectome", "hmmglm"])
def test_an_analysis_page_without_files_still_shows_the_job_in_its_address(app, nwb_dir, stem):
    # a refresh on an analysis page: nothing is loaded, but the page's job is found from ?job=
    upload(app, nwb_dir / BIG)
    _jobs_page(app)
    app.number_input(key="jobs_n_widths").set_value(3)
    app.button(key="jobs_start").click().run()
    job_id = app.query_params["job"]
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    again.query_params["job"] = job_id
    again.run().switch_page(f"pages/{stem}.py").run()
    assert not again.exception
    assert any("Load a recording" in i.value for i in again.info)
    assert any(job_id in s.value and "finished" in s.value for s in again.success)
    assert any("load its recording again" in i.value for i in again.info)
