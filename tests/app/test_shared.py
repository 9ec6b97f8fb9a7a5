"""pages/_shared.py helpers through AppTest: params_form, figure_downloads, spooling uploads."""

from __future__ import annotations

import hashlib
import io

import pytest
from streamlit.testing.v1 import AppTest


def _form_app():
    import streamlit as st

    from neurotools.params import Params
    from pages._shared import params_form

    p = params_form(Params, "f", exclude=("units",))
    if p is not None:
        st.success(f"bin_size={p.bin_size} source={p.source} t_start={p.t_start}")


def test_params_form_validates_with_the_common_message():
    at = AppTest.from_function(_form_app, default_timeout=30).run()
    assert not at.exception
    assert at.success[0].value == "bin_size=0.05 source=auto t_start=None"
    assert at.text_input(key="f_t_start").value == ""
    assert not [w for w in at.text_input if w.key == "f_units"]  # excluded
    at.number_input(key="f_bin_size").set_value(-1.0).run()
    assert [e.value for e in at.error] == [
        "The 'bin_size' parameter of analysis must be a float in (0, 60] s. Got -1.0 instead."
    ]
    assert not at.success
    at.number_input(key="f_bin_size").set_value(0.2)
    at.selectbox(key="f_source").set_value("units")
    at.text_input(key="f_t_start").input("12.5").run()
    assert at.success[0].value == "bin_size=0.2 source=units t_start=12.5"


def _downloads_app():
    import plotly.graph_objects as go

    from pages._shared import figure_downloads

    figure_downloads(go.Figure(go.Scatter(x=[0, 1], y=[1, 2])), "my fig/1", key="k")


def test_without_a_browser_only_html_is_offered(monkeypatch):
    monkeypatch.setenv("NEUROTOOLS_BROWSER", "")
    at = AppTest.from_function(_downloads_app, default_timeout=30).run()
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == ["Download HTML"]
    assert len(at.info) == 1 and "need Chromium" in at.info[0].value and "HTML" in at.info[0].value


def test_spool_upload_writes_chunks_named_by_hash(tmp_path, monkeypatch):
    from pages import _shared

    monkeypatch.setattr(_shared, "SPOOL_CHUNK", 1000)  # many chunks for a small payload
    payload = bytes(range(256)) * 40
    f = io.BytesIO(payload)
    f.name = "../weird name?.nwb"
    path = _shared.spool_upload(f)
    assert path.read_bytes() == payload
    assert path.parent.name == hashlib.sha256(payload).hexdigest()
    assert path.name == "weird_name_.nwb" and path.parent.parent == tmp_path / "uploads"
    assert not list((tmp_path / "uploads").glob(".part-*"))
    _shared.discard_spool(path)
    assert not path.parent.exists()


def _running_job_app():
    import os

    from pages._shared import job_panel

    job_panel(os.environ["TEST_JOB_ID"], poll_s=60.0)


def test_a_running_job_shows_progress_and_the_log_joint_per_chain(tmp_path, monkeypatch):
    import json

    from neurotools.analyses.live import LiveTraceSink

    job_dir = tmp_path / "jobs" / "job1"
    job_dir.mkdir(parents=True)
    status = {"job_id": "job1", "kind": "analysis", "label": "bicluster on sim.nwb",
              "state": "running", "progress": 0.3, "message": "chain 2: iteration 50/100",
              "error": "", "created": 0.0, "updated": 0.0, "pid": 0}
    (job_dir / "status.json").write_text(json.dumps(status))
    sink = LiveTraceSink(str(job_dir / "live"))
    for c, done in ((1, 100), (2, 50)):
        w = sink.writer(f"chain_{c:03d}", f"chain {c}", 100, {"log_joint": "nats"})
        for x in range(1, done + 1):
            w.add(x, log_joint=-1000.0 + x)
        w.flush()
    monkeypatch.setenv("NEUROTOOLS_JOBS_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("TEST_JOB_ID", "job1")
    at = AppTest.from_function(_running_job_app, default_timeout=30).run()
    assert not at.exception
    bars = [p.proto.text for p in at.get("progress")]
    assert "chain 1: iteration 100 of 100" in bars and "chain 2: iteration 50 of 100" in bars
    (chart,) = at.get("plotly_chart")
    fig = json.loads(chart.proto.spec)
    assert [d["name"] for d in fig["data"]] == ["chain 1", "chain 2"]
    assert len(fig["data"][1]["x"]) == 50
    assert fig["layout"]["yaxis"]["title"]["text"] == "log-joint (nats)"


def test_jobs_still_start_after_the_code_is_imported_again(tmp_path, monkeypatch):
    """Streamlit re-imports changed modules; a job store cached before must not be reused."""
    import importlib
    import pickle
    import sys
    from concurrent.futures import Executor, Future

    from pages import _shared

    class PicklingExecutor(Executor):
        """Pickles the call as a process pool does, then runs nothing."""

        def submit(self, fn, /, *args, **kwargs):
            pickle.dumps((fn, args, kwargs))
            return Future()

    monkeypatch.setenv("NEUROTOOLS_JOBS_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("NEUROTOOLS_EXECUTOR", "process")
    old_store, old_pool = _shared.job_store(), _shared.executor()
    old_module = sys.modules.pop("neurotools.jobs")
    try:
        new_module = importlib.import_module("neurotools.jobs")
        store, pool = _shared.job_store(), _shared.executor()
        assert store is not old_store and type(store) is new_module.JobStore
        assert pool is not old_pool and old_pool._shutdown_thread  # the old pool lets its jobs end
        assert not pool._shutdown_thread
        pool.shutdown()
        store.submit(new_module.AnalysisTask("hmmglm", ["x.nwb"], {}, 0), PicklingExecutor())
        with pytest.raises(pickle.PicklingError):  # what a stale store did, for every job
            old_store.submit(new_module.AnalysisTask("hmmglm", ["x.nwb"], {}, 0), PicklingExecutor())
    finally:
        sys.modules["neurotools.jobs"] = old_module
        _shared._executor.clear()  # the pools made here are shut down: later tests make their own
        _shared._process_pools.clear()
