"""The neuroformer page (AppTest): train as an inline job, then every figure and the checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def app(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("NEUROTOOLS_EXECUTOR", "inline")
    monkeypatch.setenv("NEUROTOOLS_JOBS_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("NEUROTOOLS_UPLOADS_DIR", str(tmp_path / "uploads"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception
    return at


def test_train_job_shows_results_figures_and_checkpoint(app, tmp_path):
    from neurotools.analyses.neuroformer import SimParams, simulate
    from neurotools.data.nwb_writer import write_nwb

    nwb = tmp_path / "nf_sim.nwb"
    write_nwb(simulate(SimParams(n_neurons=10, n_blocks=2, duration_s=40.0), 0), nwb)
    app.switch_page("pages/load.py").run()
    app.file_uploader[0].set_value([(nwb.name, nwb.read_bytes(), "application/octet-stream")])
    app.run()
    app.switch_page("pages/neuroformer.py").run()
    assert not app.exception
    app.number_input(key="nf_steps").set_value(6)
    app.number_input(key="nf_finetune_steps").set_value(2)
    app.number_input(key="nf_finetune_repeats").set_value(1)
    app.number_input(key="nf_checkpoint_every").set_value(3)
    app.button(key="nf_run").click().run()
    assert not app.exception
    labels = [m.label for m in app.metric]
    assert "bits/spike vs rate model" in labels and "PSTH r (median)" in labels
    charts = app.get("plotly_chart")
    assert len(charts) >= 7  # losses, raster, PSTH, behaviour, matrix, graph, checkpoint losses
    assert any(b.label == "Download checkpoint.pt" for b in app.get("download_button"))


def test_a_result_is_shown_only_with_the_recordings_it_was_trained_on(app, tmp_path):
    from neurotools.analyses.neuroformer import SimParams, simulate
    from neurotools.data.nwb_writer import write_nwb

    files = []
    for seed in (0, 1):
        nwb = tmp_path / f"nf_sim{seed}.nwb"
        write_nwb(simulate(SimParams(n_neurons=6, n_blocks=2, duration_s=20.0), seed), nwb)
        files.append((nwb.name, nwb.read_bytes(), "application/octet-stream"))
    app.switch_page("pages/load.py").run()
    app.file_uploader[0].set_value(files)
    app.run()
    app.switch_page("pages/neuroformer.py").run()
    assert app.multiselect(key="nf_files").value == [0]
    app.multiselect(key="nf_files").set_value([1]).run()
    for key, value in (("steps", 2), ("finetune_steps", 1), ("finetune_repeats", 1)):
        app.number_input(key=f"nf_{key}").set_value(value)
    app.button(key="nf_run").click().run()
    assert not app.exception
    job_id = app.query_params["job"]
    assert app.metric, "the result of the job just run is shown"
    app.multiselect(key="nf_files").set_value([0]).run()
    assert not app.exception
    assert not app.metric
    assert any(job_id in i.value and "nf_sim1.nwb" in i.value for i in app.info)
    app.multiselect(key="nf_files").set_value([1]).run()
    assert app.metric
    # the user looks at the other recording, then asks the Jobs page for this job's result
    app.multiselect(key="nf_files").set_value([0]).run()
    app.switch_page("pages/jobs.py").run()
    app.button(key=f"jobs_open_{job_id}").click().run()
    app.button(key="jobs_show_result").click().run()
    assert not app.exception
    assert app.multiselect(key="nf_files").value == [1]
    assert app.metric
