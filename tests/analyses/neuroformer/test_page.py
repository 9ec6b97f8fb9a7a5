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
    assert any("Behaviour series predicted: 'speed' (a.u.)" in c.value for c in app.caption)


def _two_recordings_on_the_page(app, tmp_path, stem: str) -> None:
    """Upload two small simulated recordings (``{stem}0.nwb``, ``{stem}1.nwb``) and open the page."""
    from neurotools.analyses.neuroformer import SimParams, simulate
    from neurotools.data.nwb_writer import write_nwb

    files = []
    for seed in (0, 1):
        nwb = tmp_path / f"{stem}{seed}.nwb"
        write_nwb(simulate(SimParams(n_neurons=6, n_blocks=2, duration_s=20.0), seed), nwb)
        files.append((nwb.name, nwb.read_bytes(), "application/octet-stream"))
    app.switch_page("pages/load.py").run()
    app.file_uploader[0].set_value(files)
    app.run()
    app.switch_page("pages/neuroformer.py").run()


def test_a_result_is_shown_only_with_the_recordings_it_was_trained_on(app, tmp_path):
    _two_recordings_on_the_page(app, tmp_path, "nf_sim")
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


# -- review fixes: refresh, neuron selection, device, behaviour tab ---------------------------------
def _upload_sim(app, tmp_path, n_neurons: int = 6, n_blocks: int = 2) -> Path:
    """Write a small simulated recording, load it and open the Neuroformer page."""
    from neurotools.analyses.neuroformer import SimParams, simulate
    from neurotools.data.nwb_writer import write_nwb

    nwb = tmp_path / f"nf_sim{n_neurons}.nwb"
    write_nwb(simulate(SimParams(n_neurons=n_neurons, n_blocks=n_blocks, duration_s=20.0), 0), nwb)
    app.switch_page("pages/load.py").run()
    app.file_uploader[0].set_value([(nwb.name, nwb.read_bytes(), "application/octet-stream")])
    app.run()
    app.switch_page("pages/neuroformer.py").run()
    assert not app.exception
    return nwb


def _train_small(app, **settings) -> str:
    """Press Train with a few steps (and ``settings``: text or number inputs); the job id."""
    for key, value in {"steps": 2, "finetune_steps": 1, "finetune_repeats": 1, **settings}.items():
        widget = app.text_input(key=f"nf_{key}") if isinstance(value, str) else app.number_input(key=f"nf_{key}")
        widget.set_value(value)
    app.button(key="nf_run").click().run()
    assert not app.exception
    return app.query_params.get("job", "")


def _refreshed(job_id: str):
    """A browser refresh of the Neuroformer page: a new session with only ``?job=``."""
    from streamlit.testing.v1 import AppTest

    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    again.query_params["job"] = job_id
    again.run().switch_page("pages/neuroformer.py").run()
    assert not again.exception
    return again


def _titles(at) -> list[str]:
    import json

    out = []
    for chart in at.get("plotly_chart"):
        title = json.loads(chart.proto.spec)["layout"].get("title", {})
        out.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return out


class _NeverRuns:
    """An executor that accepts a job and never starts it (the job stays queued, i.e. running)."""

    def submit(self, fn, /, *args, **kwargs):
        from concurrent.futures import Future

        return Future()


def test_after_a_refresh_a_running_job_still_draws_its_live_loss_curve(app, tmp_path):
    import json
    import os

    from neurotools.jobs import AnalysisTask, JobStore

    folder = tmp_path / "ckpt"
    folder.mkdir()
    records = [{"step": s, "train_loss": 4.0 - 0.1 * s} for s in range(1, 6)]
    records.append({"step": 5, "val_loss": 3.5, "val_accuracy": 0.2})
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    store = JobStore(os.environ["NEUROTOOLS_JOBS_DIR"])
    job_id = store.submit(AnalysisTask("neuroformer", [str(tmp_path / "x.nwb")],
                                       {"checkpoint_dir": str(folder)}, 0), _NeverRuns())
    again = _refreshed(job_id)
    assert "Training (step 5)" in _titles(again)


def test_after_a_refresh_a_finished_job_offers_to_load_its_recording(app, tmp_path):
    _upload_sim(app, tmp_path)
    job_id = _train_small(app, behavior="none")
    again = _refreshed(job_id)
    again.button(key=f"job_reload_{job_id}").click().run()
    assert not again.exception
    assert [e["name"] for e in again.session_state["nt_files"]] == ["nf_sim6.nwb"]
    assert again.multiselect(key="nf_files").value == [0]
    assert again.metric, "the result is shown with its recording"


def test_a_neuron_index_past_the_last_unit_is_refused_before_a_job_starts(app, tmp_path):
    import os

    from neurotools.jobs import JobStore

    _upload_sim(app, tmp_path, n_neurons=3, n_blocks=1)
    assert _train_small(app, units="0,5") == ""
    assert any("Neuron index 5 is out of range" in e.value for e in app.error)
    assert not list(JobStore(os.environ["NEUROTOOLS_JOBS_DIR"]).list_jobs())


@pytest.mark.parametrize("gpu, offered", [(False, ["cpu"]), (True, ["cpu", "cuda"])])
def test_cuda_is_offered_only_on_a_server_with_a_gpu(app, tmp_path, monkeypatch, gpu, offered):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    _upload_sim(app, tmp_path)
    app.run()
    assert app.selectbox(key="nf_device").options == offered


def test_a_result_without_behaviour_says_so_instead_of_an_empty_chart(app, tmp_path):
    _upload_sim(app, tmp_path)
    _train_small(app, behavior="none")
    assert app.metric
    assert "No behaviour series was predicted" not in _titles(app)
    assert any("No behaviour was predicted: behavior=none" in i.value for i in app.info)



def test_the_chosen_recordings_and_seed_survive_a_visit_to_another_page(app, tmp_path):
    _two_recordings_on_the_page(app, tmp_path, "nf_keep")
    app.multiselect(key="nf_files").set_value([1])
    app.number_input(key="nf_seed").set_value(7).run()
    app.switch_page("pages/explore.py").run()
    app.switch_page("pages/neuroformer.py").run()
    assert not app.exception
    assert app.multiselect(key="nf_files").value == [1]
    assert app.number_input(key="nf_seed").value == 7
