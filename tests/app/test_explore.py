"""Explore page (AppTest): raster, heatmap, behaviour, intervals, PSTH, and figure downloads.

Expected numbers come from pynwb reading the same file directly, never from our reader.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from pynwb import NWBHDF5IO

from tests.app.conftest import BIG, decode, figures, upload


@pytest.fixture(scope="module")
def truth(nwb_dir):
    """Spike trains and the recognition table of the 35-unit file, read by pynwb."""
    with NWBHDF5IO(str(nwb_dir / BIG), "r", load_namespaces=True) as io:
        nwb = io.read()
        trains = [np.sort(np.asarray(nwb.units["spike_times"][i])) for i in range(len(nwb.units))]
        ids = [int(i) for i in nwb.units.id[:]]
        tab = nwb.intervals["recognition_table"]
        rec = {"start": np.asarray(tab["start_time"][:]), "old_new": np.asarray(tab["old_new"][:]).astype(str)}
    return trains, ids, rec


def _explore(app, nwb_dir):
    upload(app, nwb_dir / BIG)
    app.switch_page("pages/explore.py").run()
    assert not app.exception
    return app


def test_raster_counts_every_spike_and_sorts_by_rate(app, nwb_dir, truth):
    trains, ids, _ = truth
    _explore(app, nwb_dir)
    fig = figures(app)[0]
    # 214,278 spikes in the whole session: drawn as spikes per pixel-wide bin
    raster = fig["data"][0]
    assert raster["type"] == "heatmap"
    z = decode(raster["z"])
    assert list(z.sum(axis=1)) == [len(t) for t in trains]
    assert "214,278 spikes of 35 units" in fig["layout"]["title"]["text"]
    assert fig["layout"]["xaxis"]["title"]["text"] == "time (s)"
    # sort by rate: top row is the unit with the most spikes, as pynwb counts them
    app.selectbox(key="explore_sort").set_value("rate").run()
    fig = figures(app)[0]
    order = np.argsort([-len(t) for t in trains], kind="stable")
    ticks = fig["layout"]["yaxis"]
    assert ticks["tickvals"][0] == 0 and len(ticks["tickvals"]) <= 20   # readable labels
    assert ticks["ticktext"][:3] == [str(ids[order[v]]) for v in ticks["tickvals"][:3]]
    z = decode(fig["data"][0]["z"])
    assert z[0].sum() == len(trains[order[0]])


def test_time_window_and_behaviour_and_intervals(app, nwb_dir, truth):
    trains, _, _ = truth
    _explore(app, nwb_dir)
    app.number_input(key="explore_t_start").set_value(100.0)
    app.number_input(key="explore_t_stop").set_value(400.0)
    app.multiselect(key="explore_behavior").set_value(["events"])
    app.multiselect(key="explore_intervals").set_value(["encoding_table"]).run()
    assert not app.exception and not app.error
    fig = figures(app)[0]
    expected = sum(int(np.sum((t >= 100) & (t <= 400))) for t in trains)
    assert fig["data"][0]["type"] == "scattergl"  # under 50,000 spikes: every spike a WebGL tick
    assert len(decode(fig["data"][0]["x"])) == expected
    assert fig["layout"]["xaxis2"]["range"] == [100.0, 400.0]
    assert "events" in fig["layout"]["yaxis2"]["title"]["text"]
    shaded = [s for s in fig["layout"]["shapes"] if s.get("type") == "rect"]
    assert shaded and all(s["x1"] >= 100 and s["x0"] <= 400 for s in shaded)


def test_bad_window_is_one_clear_error(app, nwb_dir):
    _explore(app, nwb_dir)
    app.number_input(key="explore_t_start").set_value(500.0)
    app.number_input(key="explore_t_stop").set_value(200.0).run()
    assert not app.exception
    assert [e.value for e in app.error] == ["The time window must end after it starts; got 500 s to 200 s."]


def test_psth_grouped_by_trial_column_matches_counts(app, nwb_dir, truth):
    trains, _, rec = truth
    _explore(app, nwb_dir)
    app.selectbox(key="psth_table").set_value("recognition_table").run()
    app.selectbox(key="psth_unit").set_value(3)
    app.selectbox(key="psth_group").set_value("old_new")
    app.number_input(key="psth_w0").set_value(0.0)
    app.number_input(key="psth_w1").set_value(1.0)
    app.number_input(key="psth_bin").set_value(1.0).run()  # one bin: rate = spikes / trials / 1 s
    assert not app.exception and not app.error
    fig = figures(app)[1]
    lines = [t for t in fig["data"] if t["type"] == "scatter"]
    for level in np.unique(rec["old_new"]):
        starts = rec["start"][rec["old_new"] == level]
        n_spk = sum(int(np.sum((trains[3] >= s) & (trains[3] <= s + 1.0))) for s in starts)
        line = next(t for t in lines if t["name"] == f"{level} (n={len(starts)})")
        assert decode(line["y"])[0] == pytest.approx(n_spk / len(starts) / 1.0)
    assert fig["layout"]["yaxis2"]["title"]["text"] == "rate (Hz)"
    assert fig["layout"]["xaxis2"]["title"]["text"] == "time from start (s)"


def test_ophys_heatmap_with_units(app, nwb_dir):
    upload(app, nwb_dir / "converted_triplett2018_zf_20170215-f3.nwb")
    app.switch_page("pages/explore.py").run()
    assert not app.exception and not app.error
    fig = figures(app)[0]
    hm = fig["data"][0]
    assert hm["type"] == "heatmap"
    z = decode(hm["z"])
    # 5660 samples averaged in blocks of ceil(5660 / 2000) = 3 to stay under 2000 columns
    assert z.shape == (75, 5660 // 3)
    with NWBHDF5IO(str(nwb_dir / "converted_triplett2018_zf_20170215-f3.nwb"), "r") as io:
        dff = io.read().processing["ophys"]["DfOverF"]["RoiResponseSeries"].data[:6]
    np.testing.assert_allclose(z[:, 0], dff[:3].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(z[:, 1], dff[3:6].mean(axis=0), rtol=1e-6)
    assert fig["data"][0]["colorbar"]["title"]["text"] == "ΔF/F<br>(1st-99th pct.)"
    # the colour scale spans the bulk of the values, not the few largest transients
    assert [hm["zmin"], hm["zmax"]] == pytest.approx(np.nanpercentile(z, [1, 99]), rel=1e-5)
    assert hm["zmax"] < np.nanmax(z)
    assert fig["layout"]["yaxis"]["title"]["text"] == "ROI"
    assert any("needs spike-sorted units" in i.value for i in app.info)


def _browser_or_skip() -> None:
    if shutil.which("chromium") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is required for figure export in CI (apt-get install chromium)")
        pytest.skip("chromium is not installed; PNG/SVG/PDF export cannot be checked")


def test_download_figure_png_and_html(app, nwb_dir, monkeypatch):
    """Clicking a download runs the export then; we capture the button's deferred callable."""
    _browser_or_skip()
    from streamlit.runtime.media_file_manager import MediaFileManager

    deferred: dict[str, object] = {}
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        deferred[file_name] = (data_callable, mimetype)
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    upload(app, nwb_dir / "pynapple_A8604-211122.nwb")
    app.switch_page("pages/explore.py").run()
    assert not app.exception
    labels = [b.label for b in app.get("download_button")]
    assert labels[:4] == ["Download PNG", "Download SVG", "Download PDF", "Download HTML"]
    stem = "pynapple_A8604-211122_timeline"
    assert set(deferred) >= {f"{stem}.png", f"{stem}.svg", f"{stem}.pdf", f"{stem}.html"}
    png_fn, mime = deferred[f"{stem}.png"]
    png = png_fn()
    assert mime == "image/png" and png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (2000, 840)  # 1000 x 420 CSS px at scale 2
    pdf = deferred[f"{stem}.pdf"][0]()
    assert pdf[:5] == b"%PDF-"
    html = deferred[f"{stem}.html"][0]().decode()
    assert "<script src=\"http" not in html and "Plotly.newPlot" in html and "21,354 spikes" in html


def test_state_labels_without_neural_data_and_switching_files(app, nwb_dir):
    upload(app, nwb_dir / "osb_KatoEtAl2018.WT_Stim.0.nwb", nwb_dir / "pynapple_A8604-211122.nwb")
    app.switch_page("pages/explore.py").run()
    assert not app.exception and not app.error
    fig = figures(app)[0]
    states = fig["data"][0]
    assert states["name"] == "States" and len(decode(states["y"])) == 2198
    assert set(np.unique(decode(states["y"]))) == {1.0, 2.0, 3.0, 4.0}
    # switching to the other file resets the window and the selections to that file's
    app.selectbox(key="explore_file").set_value(1).run()
    assert not app.exception and not app.error
    fig = figures(app)[0]
    assert "21,354 spikes of 3 units" in fig["layout"]["title"]["text"]
    assert app.number_input(key="explore_t_stop").value == pytest.approx(1087.5289, abs=1e-3)


def test_settings_survive_a_visit_to_another_page(app, nwb_dir):
    _explore(app, nwb_dir)
    app.number_input(key="explore_t_start").set_value(100.0)
    app.number_input(key="explore_t_stop").set_value(110.0)
    app.selectbox(key="psth_table").set_value("recognition_table").run()
    app.selectbox(key="psth_unit").set_value(3)
    app.selectbox(key="psth_group").set_value("old_new")
    app.number_input(key="psth_w1").set_value(1.5).run()
    for page in ("pages/jobs.py", "pages/compare.py"):
        app.switch_page(page).run()
        app.switch_page("pages/explore.py").run()
        assert not app.exception and not app.error
        assert app.number_input(key="explore_t_start").value == 100.0
        assert app.number_input(key="explore_t_stop").value == 110.0
        assert app.selectbox(key="psth_table").value == "recognition_table"
        assert app.selectbox(key="psth_unit").value == 3
        assert app.selectbox(key="psth_group").value == "old_new"
        assert app.number_input(key="psth_w1").value == 1.5
        layout = figures(app)[0]["layout"]
        assert layout["xaxis"]["range"] == pytest.approx([100.0, 110.0])
