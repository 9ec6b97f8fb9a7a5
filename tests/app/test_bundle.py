"""Export bundle from the app, and an NWB copy with a stored result opened in the app (AppTest)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from neurotools.results_nwb import read_results
from tests.app.conftest import ROOT, figures, metrics, upload

SAMPLE = ROOT / "sample_data" / "hmmglm_states.nwb"


def _n_jobs() -> int:
    root = Path(os.environ["NEUROTOOLS_JOBS_DIR"])
    return sum(1 for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))


def _run_hmmglm(at):
    at.switch_page("pages/hmmglm.py").run()
    assert not at.exception, [e.value for e in at.exception]
    for key, value in (("hmmglm_n_states", 3), ("hmmglm_epochs", 3), ("hmmglm_restarts", 1)):
        at.number_input(key=key).set_value(value)
    next(b for b in at.button if b.label == "Run").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_bundle_from_the_page_and_its_nwb_copy_shows_the_stored_result(app, tmp_path):
    at = _run_hmmglm(upload(app, SAMPLE))
    shown = dict(metrics(at))
    assert _n_jobs() == 1
    at.multiselect(key="hmmglm_export_bfigs").set_value(["weights", "transition_matrix"])
    at.multiselect(key="hmmglm_export_bfmts").set_value(["html"])
    assert at.checkbox(key="hmmglm_export_bnwb").value  # the analysed file is known: copy offered
    next(b for b in at.button if b.label == "Build bundle").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [b.proto.label for b in at.get("download_button")]
    assert any(label.startswith("Download bundle (") for label in labels)
    _, bundle = at.session_state["hmmglm_export_bundle"]
    z = zipfile.ZipFile(io.BytesIO(bundle.data))
    names = set(z.namelist())
    assert {"recipe.json", "result/arrays.npz", "figures/weights.html", "figures/transition_matrix.html",
            "hmmglm_states.neurotools.nwb"} <= names
    copy = Path(z.extract("hmmglm_states.neurotools.nwb", tmp_path))
    stored = read_results(copy)
    assert [s.result.analysis for s in stored] == ["hmmglm"]

    # a new session opens only the copy: the page shows the stored result without a job
    from streamlit.testing.v1 import AppTest

    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    fresh.run()
    upload(fresh, copy)
    assert not fresh.exception
    assert any("neurotools results stored in this file" in m.value for m in fresh.markdown)
    fresh.switch_page("pages/hmmglm.py").run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    assert any("Showing the hmmglm result stored in" in i.value for i in fresh.info)
    assert dict(metrics(fresh)) == shown  # same numbers, not recomputed
    assert _n_jobs() == 1  # still only the first run's job
    titles = [f["layout"].get("title", {}).get("text", "") for f in figures(fresh)]
    assert "Viterbi states over the raster" in titles
    # the stored result is offered as an overlay on Explore, over the copy's own raster
    fresh.switch_page("pages/explore.py").run()
    label = "hmmglm · stored in the file (hmmglm)"
    assert label in fresh.selectbox(key="explore_overlay").options
    fresh.selectbox(key="explore_overlay").set_value(label).run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    np.testing.assert_array_equal(
        stored[0].result.arrays["states"],
        np.load(io.BytesIO(z.read("result/arrays.npz")))["states"])
