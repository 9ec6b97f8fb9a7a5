"""The HMM-GLM page: settings -> job -> figures, through Streamlit's AppTest (inline jobs)."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROTOOLS_EXECUTOR", "inline")
    monkeypatch.setenv("NEUROTOOLS_JOBS_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("NEUROTOOLS_UPLOADS_DIR", str(tmp_path / "uploads"))
    testing = pytest.importorskip("streamlit.testing.v1")
    if not (ROOT / "app.py").exists():
        pytest.skip("app.py is not in this tree yet")
    at = testing.AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    return at


def test_page_runs_a_fit_and_shows_the_figures(app, nwb_dir):
    path = nwb_dir / "pynapple_A8604-211122.nwb"
    app.switch_page("pages/load.py").run()
    app.file_uploader[0].set_value([(path.name, path.read_bytes(), "application/octet-stream")])
    app.run()
    app.switch_page("pages/hmmglm.py").run()
    assert not app.exception, [e.value for e in app.exception]
    for key, value in (("hmmglm_n_states", 2), ("hmmglm_epochs", 2), ("hmmglm_restarts", 1),
                       ("hmmglm_m_steps", 3)):
        app.number_input(key=key).set_value(value)
    next(b for b in app.button if b.label == "Run").click()
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    specs = [json.loads(e.proto.spec) for e in app.get("plotly_chart")]
    titles = [s["layout"].get("title", {}).get("text", "") for s in specs]
    assert "Viterbi states over the raster" in titles
    assert any("Per-state weights" in t for t in titles)
    assert any("connectome" in t for t in titles)
    assert "Transition matrix" in titles
    labels = [m.label for m in app.metric]
    assert "Test bits/spike" in labels
    # the states against the file's one epoch ("wake", 0-1087.5 s): every bin lies inside it
    app.selectbox(key="hmmglm_interval_table").set_value("epochs").run()
    assert not app.exception, [e.value for e in app.exception]
    specs = [json.loads(e.proto.spec) for e in app.get("plotly_chart")]
    from tests.app.conftest import decode

    heat = next(s for s in specs if s["layout"].get("title", {}).get("text", "").startswith(
        "Time in each state per epochs"))["data"][0]
    assert list(decode(heat["y"])) == ["in epochs"]
    assert abs(decode(heat["z"]).sum() - 1) < 1e-9


def test_a_fit_without_held_out_sequences_shows_its_metrics_as_not_defined(app):
    """The first 100 s of the sample hold one sequence: nothing is held out, and the saved
    result's test bits/spike are null; the page says so instead of failing."""
    path = ROOT / "sample_data" / "hmmglm_states.nwb"
    app.switch_page("pages/load.py").run()
    app.file_uploader[0].set_value([(path.name, path.read_bytes(), "application/octet-stream")])
    app.run()
    app.switch_page("pages/hmmglm.py").run()
    app.text_input(key="hmmglm_t_stop").set_value("100")
    for key, value in (("hmmglm_epochs", 2), ("hmmglm_restarts", 1)):
        app.number_input(key=key).set_value(value)
    next(b for b in app.button if b.label == "Run").click()
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    values = {m.label: m.value for m in app.metric}
    assert values["Test bits/spike"] == "not defined"
    assert values["Train bits/spike"] != "not defined"
