"""`./dev app` opens the bundled samples: NEUROTOOLS_OPEN files are loaded into a new session."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from neurotools.data import read_nwb

ROOT = Path(__file__).resolve().parents[2]


def test_samples_named_in_env_are_loaded(monkeypatch, tmp_path):
    samples = sorted((ROOT / "sample_data").glob("*.nwb"))
    assert samples, "sample_data/ holds no .nwb file"
    monkeypatch.setenv("NEUROTOOLS_OPEN", str(samples[0]))
    monkeypatch.setenv("NEUROTOOLS_JOBS_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("NEUROTOOLS_EXECUTOR", "inline")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    rec = read_nwb(samples[0])
    values = [str(x.value) for x in at.metric]
    assert str(rec.n_units) in values and f"{rec.n_spikes:,}" in values
