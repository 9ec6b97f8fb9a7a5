"""The Bi-clustering page (AppTest): settings -> job -> figures of the result."""

from __future__ import annotations

import os

import pytest

from neurotools.analyses.biclustering import SimParams, simulate
from neurotools.data.nwb_writer import write_nwb
from neurotools.jobs import JobStore
from tests.app.conftest import _isolated_app_env, app, figures, upload  # noqa: F401


@pytest.fixture
def sim_file(tmp_path):
    rec = simulate(SimParams(n_neurons=8, n_clusters=2, n_bins=60), seed=0)
    return write_nwb(rec, tmp_path / "bicluster_sim.nwb")


def test_page_runs_the_job_and_shows_the_figures(app, sim_file):  # noqa: F811
    upload(app, sim_file)
    app.switch_page("pages/biclustering.py").run()
    assert not app.exception
    app.number_input(key="bicluster_iterations").set_value(6)
    app.number_input(key="bicluster_burn_in").set_value(2)
    app.number_input(key="bicluster_chains").set_value(2)
    app.number_input(key="bicluster_max_states").set_value(3)
    # the chains run side by side in the job's own processes
    app.number_input(key="bicluster_workers").set_value(2)
    app.button[0].click()
    app.run()
    assert not app.exception
    store = JobStore(os.environ["NEUROTOOLS_JOBS_DIR"])
    assert store.task(app.query_params["job"])["workers"] == 2
    for _ in range(10):
        if len(figures(app)) >= 5:
            break
        app.run()
    figs = figures(app)
    assert len(figs) >= 5, [e.value for e in app.error]
    titles = [f["layout"]["title"]["text"] for f in figs]
    assert any("co-clustering" in t for t in titles)
    assert any("states over the raster" in t for t in titles)
    assert any("Neuron clusters per chain" in t for t in titles)
    labels = [m.label for m in app.metric]
    assert "Neuron clusters (point)" in labels
    assert "States with >= 1% of bins (mode)" in labels
    counts = [f for f in figs if "number of clusters and states" in f["layout"]["title"]["text"]]
    assert [t["name"] for t in counts[0]["data"][1:]] == ["occupied (>= 1 bin)",
                                                          ">= 1 bins (1% of the bins)"]
    # 4 kept draws per chain: the page says the summaries rest on few effective draws
    assert any("effective draws" in w.value for w in app.warning)
    # shared starts: the page says that chain agreement does not test the start
    assert any("starts=spread" in c.value for c in app.caption)
    diag = next(d.value for d in app.dataframe if "diagnostic" in d.value.columns)
    assert any(str(d).startswith("starting clusters per chain (shared)") for d in diag["diagnostic"])
    assert "split R-hat, states with >= 1% of the bins" in set(diag["diagnostic"])
    # states against the file's intervals: the simulated file's true segments, by true state
    app.selectbox(key="bicluster_interval_table").set_value("states").run()
    app.selectbox(key="bicluster_interval_column").set_value("state").run()
    assert not app.exception
    titles = [f["layout"]["title"]["text"] for f in figures(app)]
    assert any("Time in each state per states.state" in t for t in titles), titles
    assert any("and the file's 'states' intervals" in t for t in titles), titles
    # the states can be shown as Dahl's point estimate instead of maxPEAR
    assert any("(maxPEAR point estimate)" in t for t in titles), titles
    app.radio(key="bicluster_state_estimate").set_value("dahl").run()
    assert not app.exception
    titles = [f["layout"]["title"]["text"] for f in figures(app)]
    assert any("(Dahl point estimate)" in t for t in titles), titles
    assert not any("(maxPEAR point estimate)" in t for t in titles), titles


def test_page_asks_for_a_recording_first(app):  # noqa: F811
    app.switch_page("pages/biclustering.py").run()
    assert not app.exception
    assert any("Load a recording" in i.value for i in app.info)


@pytest.mark.parametrize("env, expected", [("100", 64), ("0", 1), ("3", 3)])
def test_the_processes_setting_follows_the_environment_within_its_bounds(
        app, sim_file, monkeypatch, env, expected):  # noqa: F811
    monkeypatch.setenv("NEUROTOOLS_JOB_WORKERS", env)
    upload(app, sim_file)
    app.switch_page("pages/biclustering.py").run()
    assert not app.exception
    assert app.number_input(key="bicluster_workers").value == expected
