"""A finished job's result is shown with its own recording only, and can be reached again
after a refresh (new session) or from the Jobs page."""

from __future__ import annotations

import os
from concurrent.futures import Executor, Future

import pytest
from streamlit.testing.v1 import AppTest

from neurotools.analyses.biclustering import SimParams, simulate
from neurotools.data.nwb_writer import write_nwb
from neurotools.jobs import AnalysisTask, JobStore
from tests.app.conftest import ROOT, _isolated_app_env, app, figures, upload  # noqa: F401


@pytest.fixture
def two_files(tmp_path):
    out = []
    for seed in (0, 1):
        rec = simulate(SimParams(n_neurons=6, n_clusters=2, n_bins=50), seed=seed)
        out.append(write_nwb(rec, tmp_path / f"bicluster_sim{seed}.nwb"))
    return out


def _run_small_bicluster_job(at: AppTest) -> str:
    for key, value in (("iterations", 4), ("burn_in", 1), ("chains", 1), ("max_states", 3)):
        at.number_input(key=f"bicluster_{key}").set_value(value)
    at.number_input(key="bicluster_workers").set_value(1)
    at.button[0].click()
    at.run()
    assert not at.exception
    return at.query_params["job"]


def _job_on_the_second_file(at: AppTest, files) -> str:
    """Load both files, choose the second on the Bi-clustering page and run a small job there."""
    upload(at, *files)
    at.switch_page("pages/biclustering.py").run()
    at.selectbox(key="bicluster_file").set_value(1).run()
    return _run_small_bicluster_job(at)


def _result_titles(at: AppTest) -> list[str]:
    return [f["layout"]["title"]["text"] for f in figures(at)]


def test_a_result_is_not_drawn_over_another_recording(app, two_files):  # noqa: F811
    upload(app, *two_files)
    app.switch_page("pages/biclustering.py").run()
    assert app.selectbox(key="bicluster_file").value == 0
    job_id = _run_small_bicluster_job(app)
    assert any("co-clustering" in t for t in _result_titles(app))
    assert "Settings of this result (seed 0)" in [e.label for e in app.expander]
    app.selectbox(key="bicluster_file").set_value(1).run()
    assert not app.exception
    assert not any("co-clustering" in t for t in _result_titles(app))
    assert any(job_id in i.value and "bicluster_sim0.nwb" in i.value for i in app.info)
    app.selectbox(key="bicluster_file").set_value(0).run()
    assert any("co-clustering" in t for t in _result_titles(app))


def test_after_a_refresh_the_page_loads_the_jobs_recording_and_shows_the_result(app, two_files):  # noqa: F811
    job_id = _job_on_the_second_file(app, two_files)
    # a browser refresh: a new session with only the address
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    again.query_params["job"] = job_id
    again.run().switch_page("pages/biclustering.py").run()
    assert not again.exception
    assert not figures(again)
    again.button(key=f"job_reload_{job_id}").click().run()
    assert not again.exception
    assert [e["name"] for e in again.session_state["nt_files"]] == ["bicluster_sim1.nwb"]
    assert any("co-clustering" in t for t in _result_titles(again))
    # the form is back at its defaults: the result's own settings are shown, differences marked
    label = next(e.label for e in again.expander if e.label.startswith("Settings of this result"))
    assert label == "Settings of this result (seed 0): 4 differ from the form above"


def test_open_on_the_jobs_page_shows_the_result_on_its_analysis_page(app, two_files):  # noqa: F811
    job_id = _job_on_the_second_file(app, two_files)
    # another job on the other file becomes the page's job
    app.selectbox(key="bicluster_file").set_value(0).run()
    other = _run_small_bicluster_job(app)
    assert other != job_id
    app.switch_page("pages/jobs.py").run()
    app.button(key=f"jobs_open_{job_id}").click().run()
    app.button(key="jobs_show_result").click().run()
    assert not app.exception
    # the Bi-clustering page, with the opened job's recording chosen and its result drawn
    assert app.selectbox(key="bicluster_file").value == 1
    assert any(job_id in s.value and "finished" in s.value for s in app.success)
    assert any("co-clustering" in t for t in _result_titles(app))


def test_a_neuron_index_past_the_last_unit_stops_the_run_before_a_job_starts(app, two_files):  # noqa: F811
    upload(app, two_files[0])
    app.switch_page("pages/biclustering.py").run()
    app.text_input(key="bicluster_units").set_value("0, 1, 99")
    app.number_input(key="bicluster_iterations").set_value(4)
    app.number_input(key="bicluster_burn_in").set_value(1)
    app.button[0].click().run()
    assert not app.exception
    assert any("Neuron index 99 is out of range" in e.value for e in app.error)
    assert "job" not in app.query_params
    assert not list(JobStore(os.environ["NEUROTOOLS_JOBS_DIR"]).list_jobs())


def test_show_on_the_page_follows_the_job_after_the_user_chose_another_recording(app, two_files):  # noqa: F811
    job_id = _job_on_the_second_file(app, two_files)
    app.selectbox(key="bicluster_file").set_value(0).run()   # the user looks at the other file
    app.switch_page("pages/jobs.py").run()
    app.button(key=f"jobs_open_{job_id}").click().run()
    app.button(key="jobs_show_result").click().run()
    assert not app.exception
    assert app.selectbox(key="bicluster_file").value == 1
    assert any("co-clustering" in t for t in _result_titles(app))


class _NeverRuns(Executor):
    """An executor that accepts a job and never starts it (the job stays queued)."""

    def submit(self, fn, /, *args, **kwargs):
        return Future()


def test_a_job_of_another_analysis_in_the_address_leaves_the_selector_alone(app, two_files):  # noqa: F811
    upload(app, *two_files)
    paths = [e["path"] for e in app.session_state["nt_files"]]
    store = JobStore(os.environ["NEUROTOOLS_JOBS_DIR"])
    app.query_params["job"] = store.submit(AnalysisTask("hmmglm", [paths[1]], {}, 0), _NeverRuns())
    app.switch_page("pages/biclustering.py").run()
    assert not app.exception
    assert app.selectbox(key="bicluster_file").value == 0


def test_a_file_changed_on_disk_does_not_show_the_old_result(app, tmp_path):  # noqa: F811
    path = tmp_path / "rec.nwb"
    write_nwb(simulate(SimParams(n_neurons=6, n_clusters=2, n_bins=50), seed=0), path)

    def load_by_path():
        app.switch_page("pages/load.py").run()
        app.text_input(key="load_path").set_value(str(path))
        app.button(key="load_path_button").click().run()

    load_by_path()
    app.switch_page("pages/biclustering.py").run()
    job_id = _run_small_bicluster_job(app)
    assert any("co-clustering" in t for t in _result_titles(app))
    assert "Settings of this result (seed 0)" in [e.label for e in app.expander]
    # the same path now holds another recording (fewer neurons), loaded again
    write_nwb(simulate(SimParams(n_neurons=4, n_clusters=2, n_bins=50), seed=1), path)
    load_by_path()
    assert len(app.session_state["nt_files"]) == 2
    app.switch_page("pages/biclustering.py").run()
    app.selectbox(key="bicluster_file").set_value(1).run()
    assert not app.exception
    assert not any("co-clustering" in t for t in _result_titles(app))
    assert any(job_id in i.value for i in app.info)


def test_an_analysis_pages_settings_survive_a_visit_to_another_page(app, two_files):  # noqa: F811
    upload(app, *two_files)
    app.switch_page("pages/biclustering.py").run()
    app.selectbox(key="bicluster_file").set_value(1).run()
    app.selectbox(key="bicluster_model").set_value("poisson")
    app.number_input(key="bicluster_seed").set_value(5)
    _run_small_bicluster_job(app)  # a form's values count once it is submitted
    app.switch_page("pages/explore.py").run()
    app.switch_page("pages/biclustering.py").run()
    assert not app.exception
    assert app.selectbox(key="bicluster_file").value == 1
    assert app.number_input(key="bicluster_iterations").value == 4
    assert app.selectbox(key="bicluster_model").value == "poisson"
    assert app.number_input(key="bicluster_seed").value == 5


def test_a_kept_recording_choice_follows_the_file_not_its_position(app, two_files, nwb_dir):  # noqa: F811
    """Removing an earlier file shifts positions: the selector must not point at another file."""

    upload(app, *two_files)
    app.switch_page("pages/biclustering.py").run()
    app.selectbox(key="bicluster_file").set_value(1).run()  # bicluster_sim1.nwb
    app.switch_page("pages/load.py").run()
    assert app.session_state["nt_files"][0]["name"] == "bicluster_sim0.nwb"
    app.session_state["nt_files"] = app.session_state["nt_files"][1:]  # as Remove does
    upload(app, nwb_dir / "pynapple_A8604-211122.nwb")  # a third file takes position 1
    app.switch_page("pages/biclustering.py").run()
    assert not app.exception
    options = app.selectbox(key="bicluster_file").options
    assert options[app.selectbox(key="bicluster_file").index] == "bicluster_sim1.nwb"
