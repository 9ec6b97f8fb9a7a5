"""neurotools.figures.recording on real files: alignment, ordering, limits, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from pynwb import NWBHDF5IO

from neurotools.data import read_nwb
from neurotools.errors import UserError
from neurotools.figures.recording import (
    aligned_figure,
    alignment_columns,
    event_times,
    is_relative,
    timeline_figure,
    unit_order,
)

ALM = "dandicli_sub-anm369963_ses-20170228.nwb"


@pytest.fixture(scope="module")
def alm(nwb_dir):
    with pytest.warns(UserWarning, match="not sorted"):
        return read_nwb(nwb_dir / ALM)


def test_trial_time_columns_relative_to_trial_start_are_shifted(alm, nwb_dir):
    trials = alm.intervals["trials"]
    assert alignment_columns(trials) == ["start", "stop", "cue_start_time", "pole_in_time", "pole_out_time"]
    with NWBHDF5IO(str(nwb_dir / ALM), "r") as io:
        t = io.read().trials
        start, cue = np.asarray(t["start_time"][:]), np.asarray(t["cue_start_time"][:])
    assert is_relative(trials, "cue_start_time")  # values of a few s, trials start at 302 s
    np.testing.assert_allclose(event_times(trials, "cue_start_time"), start + cue)
    np.testing.assert_allclose(event_times(trials, "start"), start)


def test_psth_counts_by_trial_type(alm, nwb_dir):
    fig = aligned_figure(alm, 0, "trials", align="cue_start_time", window=(-0.5, 0.5), bin_size=1.0, group_by="type")
    with NWBHDF5IO(str(nwb_dir / ALM), "r") as io:
        nwb = io.read()
        spikes = np.sort(np.asarray(nwb.units["spike_times"][0]))
        ev = np.asarray(nwb.trials["start_time"][:]) + np.asarray(nwb.trials["cue_start_time"][:])
        kind = np.asarray(nwb.trials["type"][:]).astype(str)
    for level in np.unique(kind):
        e = ev[kind == level]
        n = sum(int(np.sum((spikes >= x - 0.5) & (spikes <= x + 0.5))) for x in e)
        line = next(t for t in fig.data if t.type == "scatter" and t.name == f"{level} (n={len(e)})")
        assert line.y[0] == pytest.approx(n / len(e))


def test_unit_order_by_a_unit_table_column(nwb_dir):
    rec = read_nwb(nwb_dir / "pynapple_sub-4_ses-4_ecephys+image.nwb")
    counts = np.array([len(s) for s in rec.spike_times])
    assert list(counts[unit_order(rec, "rate")]) == sorted(counts, reverse=True)
    firsts = [s[0] for s in rec.spike_times]
    assert list(np.array(firsts)[unit_order(rec, "first spike")]) == sorted(firsts)
    with pytest.raises(UserError, match="cannot be sorted by 'colour'"):
        unit_order(rec, "colour")


def test_dense_windows_are_binned_counts_and_sparse_ones_single_spikes(nwb_dir):
    rec = read_nwb(nwb_dir / "pynapple_A8604-211122.nwb")
    with NWBHDF5IO(str(nwb_dir / "pynapple_A8604-211122.nwb"), "r") as io:
        units = io.read().units
        per_unit = [len(units["spike_times"][i]) for i in range(len(units))]
    fig = timeline_figure(rec, max_scatter_spikes=1000)
    z = np.asarray(fig.data[0].z)
    assert fig.data[0].type == "heatmap" and z.shape == (3, 2000)
    assert list(z.sum(axis=1)) == per_unit and z.sum() == 21354
    assert "binned at" in fig.layout.title.text
    assert fig.data[0].colorbar.title.text == "spikes per 544 ms"
    fig = timeline_figure(rec)  # 21,354 spikes: drawn one by one
    assert fig.data[0].type == "scattergl" and len(fig.data[0].x) == 21354


def test_intervals_without_stop_times_are_drawn(alm):
    fig = timeline_figure(alm, intervals=["trials"], behavior=["lick_times/lick_left_times"])
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 2 * 178  # every trial, on both rows
    assert all(s.x1 > s.x0 for s in rects)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(window=(1.0, -1.0)), "window must end after it starts"),
        (dict(bin_size=0.0), "bin must be positive"),
        (dict(sigma_s=-1.0), "smoothing width"),
        (dict(unit=5), "Unit index 5 is out of range"),
        (dict(table="epochs"), "no interval table 'epochs'"),
        (dict(align="lick"), "cannot be aligned on 'lick'"),
    ],
)
def test_aligned_figure_errors(alm, kwargs, match):
    args = dict(unit=0, table="trials") | kwargs
    with pytest.raises(UserError, match=match):
        aligned_figure(alm, **args)


def test_no_neural_data_is_a_clear_error(nwb_dir):
    rec = read_nwb(nwb_dir / "osb_KatoEtAl2018.WT_Stim.0.nwb")
    with pytest.raises(UserError, match="no usable neural data"):
        timeline_figure(rec)


def test_thousands_of_state_bands_over_a_binned_raster_draw_quickly(nwb_dir):
    import time

    from neurotools.compare import LabelTrack

    rec = read_nwb(nwb_dir / "pynapple_A8604-211122.nwb")
    lo, hi = rec.time_range()
    edges = np.linspace(lo, hi, 2501)
    track = LabelTrack("states", edges[:-1], edges[1:], np.arange(2500) % 3, ["a", "b", "c"])
    started = time.perf_counter()
    fig = timeline_figure(rec, max_scatter_spikes=1000, state_bands=track)
    elapsed = time.perf_counter() - started
    bands = [s for s in fig.layout.shapes if s.type == "rect" and s.xref == "x"]
    assert len(bands) == 2500
    # over an (opaque) binned raster the states are a strip on top, not hidden behind it
    assert {(b.y0, b.y1, b.layer) for b in bands} == {(0.95, 1.0, "above")}
    assert elapsed < 10, elapsed   # 2,300 bands took 38 s when each shape was re-validated


def test_bin_widths_read_in_ms_s_or_min():
    from neurotools.figures.recording import _duration

    assert [_duration(x) for x in (0.0005, 0.544, 0.9996, 1.41, 150.0)] == [
        "0.5 ms", "544 ms", "1 s", "1.41 s", "2.5 min"]


def test_the_raster_title_counts_one_unit_and_one_spike_in_the_singular():
    import numpy as np

    from neurotools.data.recording import Recording, SourceFile
    from neurotools.figures.recording import timeline_figure

    rec = Recording(SourceFile("one.nwb", "0" * 64), spike_times=[np.array([0.5])],
                    unit_table={"id": np.arange(1)})
    assert "- 1 spike of 1 unit" in timeline_figure(rec, source="units", t_start=0.0, t_stop=1.0).layout.title.text
