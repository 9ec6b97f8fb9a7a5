"""Binning and the neural matrix: counts, ranges, selections, resampling."""

from __future__ import annotations

import numpy as np
import pytest

from neurotools.data.binning import (
    bin_edges,
    bin_spikes,
    event_aligned,
    neural_matrix,
    psth,
    resample_traces,
)
from neurotools.data.recording import Recording, SourceFile, TraceSeries
from neurotools.errors import UserError


def _rec():
    spikes = [np.array([0.01, 0.02, 0.55, 0.99]), np.array([0.5]), np.array([])]
    return Recording(SourceFile("x.nwb", "0" * 64), spike_times=spikes, unit_table={"id": np.arange(3)})


def test_bin_spikes_counts_every_spike_once():
    rec = _rec()
    edges = bin_edges(0.0, 1.0, 0.1)
    counts = bin_spikes(rec.spike_times, edges)
    assert counts.shape == (10, 3)
    assert counts[:, 0].tolist() == [2, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    assert counts[5, 1] == 1 and counts[:, 2].sum() == 0


def test_neural_matrix_selection_and_times():
    m = neural_matrix(_rec(), "units", 0.25, 0.0, 1.0, units=[1, 0])
    assert m.values.shape == (4, 2)
    np.testing.assert_allclose(m.bin_times, [0.125, 0.375, 0.625, 0.875])
    assert m.values[:, 1].sum() == 4 and m.labels == ["1", "0"]


def test_neural_matrix_errors():
    with pytest.raises(UserError, match="out of range"):
        neural_matrix(_rec(), "units", 0.1, units=[5])
    with pytest.raises(UserError, match="shorter than one bin"):
        neural_matrix(_rec(), "units", 2.0, 0.0, 1.0)
    with pytest.raises(UserError, match="no 'rois' data"):
        neural_matrix(_rec(), "rois", 0.1)


def test_traces_resampled_to_bin_means():
    t = np.arange(100) * 0.1
    data = np.column_stack([t, 2 * t])
    rec = Recording(SourceFile("y.nwb", ""), traces=[TraceSeries("ophys/x", data, t, 10.0, "dff")])
    m = neural_matrix(rec, "auto", 1.0)
    assert m.source == "rois" and m.values.shape == (10, 2)
    np.testing.assert_allclose(m.values[:, 0], np.arange(10) + 0.45)
    native = neural_matrix(rec, "rois", None)
    assert native.values.shape == (100, 2)


def test_resample_interpolates_empty_bins():
    out = resample_traces(np.array([[0.0], [2.0]]), np.array([0.05, 0.25]), np.array([0, 0.1, 0.2, 0.3]))
    np.testing.assert_allclose(out[:, 0], [0.0, 1.0, 2.0])


def test_psth_rate_in_hz():
    spikes = np.sort(np.concatenate([e + np.array([0.05, 0.15]) for e in (1.0, 2.0, 3.0)]))
    aligned = event_aligned(spikes, np.array([1.0, 2.0, 3.0]), (-0.2, 0.2))
    centres, rate = psth(aligned, (-0.2, 0.2), 0.1)
    np.testing.assert_allclose(centres, [-0.15, -0.05, 0.05, 0.15])
    np.testing.assert_allclose(rate, [0, 0, 10, 10])


def test_psth_near_the_recordings_edges_divides_by_the_windows_inside_it():
    """Events 0.5 s after the start: the first half second before them holds no recording, so
    the rate there is the spikes over the time inside, not over every event's full window."""
    rng = np.random.default_rng(0)
    rate_hz, t_end = 20.0, 400.0
    spikes = np.sort(rng.uniform(0.0, t_end, int(rate_hz * t_end)))
    events = np.array([0.5, 100.0, 200.0, 300.0])  # the first window starts 0.5 s before 0
    aligned = event_aligned(spikes, events, (-1.0, 1.0))
    centres, rate = psth(aligned, (-1.0, 1.0), 0.5, events=events, time_range=(0.0, t_end))
    naive = psth(aligned, (-1.0, 1.0), 0.5)[1]
    # in [-1, -0.5) only 3 of the 4 windows lie inside the recording
    assert naive[0] == pytest.approx(0.75 * rate[0])
    assert rate[0] == pytest.approx(sum(np.sum((s >= -1.0) & (s < -0.5)) for s in aligned) / (3 * 0.5))
    # a window entirely before the recording: no estimate rather than 0 Hz
    _, before = psth(aligned, (-1.0, 1.0), 0.5, events=np.array([-5.0, 100.0, 200.0, 300.0]),
                     time_range=(0.0, t_end))
    assert np.isfinite(before).all()
    _, none = psth([np.zeros(0)], (-1.0, 1.0), 0.5, events=np.array([-5.0]), time_range=(0.0, t_end))
    assert np.isnan(none).all()


def test_psth_gives_no_rate_for_a_sliver_of_one_window():
    """One event 0.05 s after the start: the first 0.5 s bin holds 0.05 s of recording (a tenth
    of a bin), too little for a rate; the bin after it is whole."""
    spikes = np.array([0.01, 0.3, 0.7])
    events = np.array([0.55])
    aligned = event_aligned(spikes, events, (-1.0, 1.0))
    _, rate = psth(aligned, (-1.0, 1.0), 0.5, events=events, time_range=(0.0, 10.0))
    assert np.isnan(rate[0])  # [-1, -0.5) after the event: 0.05 s of it inside the recording
    assert rate[1] == pytest.approx(1 / 0.5)  # [-0.5, 0): one spike (0.3 s) in a whole bin
