"""Load page (AppTest): uploads, samples, server paths, summaries and clear errors."""

from __future__ import annotations

import pytest

from tests.app.conftest import BIG, metrics, upload


def _table(at, first_col: str) -> dict:
    """Rows of every st.dataframe whose first column is ``first_col``, as {first: row dict}."""
    out = {}
    for df in at.dataframe:
        v = df.value
        if len(v.columns) and v.columns[0] == first_col:
            out.update({r[first_col]: r for r in v.to_dict("records")})
    assert out, f"no table with column {first_col}"
    return out


def test_every_page_renders_before_anything_is_loaded(app):
    assert app.title[0].value == "Load recordings"
    assert any("Nothing loaded yet" in i.value for i in app.info)
    app.switch_page("pages/explore.py").run()
    assert not app.exception
    assert any("Load a recording first" in i.value for i in app.info)
    app.switch_page("pages/jobs.py").run()
    assert not app.exception
    assert any("No jobs yet" in i.value for i in app.info)


def test_upload_real_file_shows_its_exact_counts(app, nwb_dir):
    upload(app, nwb_dir / BIG)
    assert not app.exception
    assert [s.value for s in app.success] == [f"Loaded {BIG}."]
    assert not app.error
    m = dict(metrics(app))
    assert m["units"] == "35" and m["spikes"] == "214,278" and m["interval tables"] == "3"
    rows = _table(app, "table")
    assert {k: v["rows"] for k, v in rows.items()} == {
        "encoding_table": 90, "recognition_table": 180, "timediscrimination_table": 180,
    }
    sources = _table(app, "analysis")
    assert set(sources) == {"connectome", "bicluster", "hmmglm", "neuroformer"}
    assert {(r["data source"], r["neurons"]) for r in sources.values()} == {("units", 35)}
    # the upload is on disk under the spool folder, and only its path is in session state
    entry = app.session_state["nt_files"][0]
    assert entry["origin"] == "upload" and entry["path"].endswith(BIG)
    assert "uploads" in entry["path"]


def test_several_files_at_once_ophys_and_stacked_neurons(app, nwb_dir):
    upload(
        app,
        nwb_dir / "converted_triplett2018_zf_20170215-f3.nwb",
        nwb_dir / "osb_ScholzEtAl2018.AML175_moving.BrainScanner20180330_160650.nwb",
    )
    assert not app.exception and not app.error
    assert len(app.session_state["nt_files"]) == 2
    traces = _table(app, "path")
    dff = [r for k, r in traces.items() if k.endswith("DfOverF/RoiResponseSeries")]
    assert [(r["n_channels"], r["n_samples"]) for r in dff] == [(75, 5660)]
    acq = [r for k, r in traces.items() if k.startswith("acquisition")]
    assert [(r["n_channels"], r["n_samples"]) for r in acq] == [(57, 3378)]
    text = " ".join(m.value for m in app.markdown)
    assert "`rois` (75 neurons)" in text and "`acquisition` (57 neurons)" in text


@pytest.mark.parametrize(
    "bad, words",
    [
        ("random.nwb", "not an HDF5 file"),
        ("truncated.nwb", "truncated"),
        ("table.csv", "text file"),
    ],
)
def test_bad_upload_one_error_and_previous_file_stays(app, nwb_dir, bad_dir, bad, words):
    upload(app, nwb_dir / "pynapple_A8604-211122.nwb")
    upload(app, bad_dir / bad)
    assert not app.exception
    assert len(app.error) == 1, [e.value for e in app.error]
    msg = app.error[0].value
    assert words in msg and bad in msg and "Traceback" not in msg
    assert [e["name"] for e in app.session_state["nt_files"]] == ["pynapple_A8604-211122.nwb"]
    m = dict(metrics(app))
    assert m["units"] == "3" and m["spikes"] == "21,354"
    # the app still works: the next good upload loads
    upload(app, nwb_dir / BIG)
    assert not app.error and len(app.session_state["nt_files"]) == 2


def test_server_path_and_missing_path(app, nwb_dir):
    app.text_input(key="load_path").input("/no/such/file.nwb")
    app.button(key="load_path_button").click().run()
    assert [e.value for e in app.error] == ["There is no file at /no/such/file.nwb; check the path on the server."]
    app.text_input(key="load_path").input(str(nwb_dir / "dandicli_sub-anm369963_ses-20170228.nwb"))
    app.button(key="load_path_button").click().run()
    assert not app.exception and not app.error
    m = dict(metrics(app))
    assert m["units"] == "1" and m["spikes"] == "1,679"
    # unsorted spike times are repaired with a visible warning
    assert any("not sorted" in w.value for w in app.warning)
    # loading the same content again does not duplicate it
    app.button(key="load_path_button").click().run()
    assert len(app.session_state["nt_files"]) == 1


def test_bundled_samples_load(app):
    from pages._shared import sample_files

    samples = sample_files()
    assert samples, "sample_data/ must hold the bundled recordings written by neurotools simulate"
    app.multiselect(key="load_samples").set_value([samples[0].name])
    app.button(key="load_samples_button").click().run()
    assert not app.exception and not app.error
    assert [e["origin"] for e in app.session_state["nt_files"]] == ["sample"]


def test_remove_a_file(app, nwb_dir):
    upload(app, nwb_dir / "pynapple_A8604-211122.nwb")
    sha = app.session_state["nt_files"][0]["sha256"]
    app.button(key=f"remove_{sha[:12]}").click().run()
    assert app.session_state["nt_files"] == []
