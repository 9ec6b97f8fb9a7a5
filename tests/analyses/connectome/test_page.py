"""The connectome page (AppTest): run a small job on a simulated file and show its figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def sim_file(tmp_path):
    from neurotools.analyses.connectome import SimParams, simulate
    from neurotools.data.nwb_writer import write_nwb

    return write_nwb(simulate(SimParams(n_animals=3, n_samples=600), seed=0), tmp_path / "cx_sim.nwb")


def _connectome_page(files, tmp_path, monkeypatch):
    """The app with ``files`` uploaded, on the connectome page (inline jobs, private folders)."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("NEUROTOOLS_EXECUTOR", "inline")
    monkeypatch.setenv("NEUROTOOLS_JOBS_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("NEUROTOOLS_UPLOADS_DIR", str(tmp_path / "uploads"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/load.py").run()
    at.file_uploader[0].set_value([(f.name, f.read_bytes(), "application/octet-stream") for f in files])
    at.run()
    at.switch_page("pages/connectome.py").run()
    assert not at.exception
    return at


def test_page_runs_a_job_and_shows_the_gallery(sim_file, tmp_path, monkeypatch):
    at = _connectome_page([sim_file], tmp_path, monkeypatch)
    at.text_input(key="connectome_rank").set_value("auto")
    at.number_input(key="connectome_max_rank").set_value(3)
    at.number_input(key="connectome_restarts").set_value(1)
    at.number_input(key="connectome_iterations").set_value(60)
    at.button[0].click().run()
    assert not at.exception and not at.error
    labels = {m.label: m.value for m in at.metric}
    assert labels["Neurons / pairs"] == "40 / 780"
    assert labels["Rank (suggested)"].isdigit()  # one number after a scan, not "3 (3)"
    assert not at.warning  # three animals of equal length: nothing was cut
    specs = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert "Rank selection" in titles
    assert any(t.startswith("Component 1: affinity pattern") for t in titles)
    assert "Community activity timeline" in titles


def test_page_warns_when_animals_are_cut_to_the_shortest(tmp_path, monkeypatch):
    from neurotools.analyses.connectome import SimParams, simulate_animals
    from neurotools.data.nwb_writer import write_nwb

    small = dict(n_animals=1, n_neurons=8, n_motifs=1, motif_size=4)
    files = [write_nwb(simulate_animals(SimParams(n_samples=n, **small), seed=s)[0], tmp_path / f"cx_{n}.nwb")
             for s, n in ((0, 800), (1, 400))]  # 200 s and 100 s at 4 Hz
    at = _connectome_page(files, tmp_path, monkeypatch)
    at.multiselect(key="connectome_files").set_value([0, 1])
    at.text_input(key="connectome_rank").set_value("1")
    at.number_input(key="connectome_restarts").set_value(1)
    at.number_input(key="connectome_iterations").set_value(5)
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert len(at.warning) == 1
    assert "cx_800.nwb: 200.0 s (200 bins), first 100.0 s kept (50% left out)" in at.warning[0].value
    assert {m.label: m.value for m in at.metric}["Rank (fixed)"] == "1"
