"""Every shared recording loads with the exact counts of its README; every bad file fails clearly."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pytest

from neurotools.data import read_nwb, summarize
from neurotools.errors import UserError

# file -> (n_units, n_spikes, traces [(n_samples, n_channels, kind)], intervals {name: rows}, behaviour paths)
EXPECTED = {
    "pynapple_sub-4_ses-4_ecephys+image.nwb": (
        35, 214278, [], {"encoding_table": 90, "recognition_table": 180, "timediscrimination_table": 180},
        {"events", "experiment_ids"}),
    "pynapple_A8604-211122.nwb": (3, 21354, [], {"epochs": 1}, set()),
    "dandicli_sub-anm369963_ses-20170228.nwb": (
        1, 1679, [], {"trials": 178}, {"lick_times/lick_left_times", "lick_times/lick_right_times"}),
    "osb_ScholzEtAl2018.AML175_moving.BrainScanner20180330_160650.nwb": (
        0, 0, [(3378, 57, "acquisition")], {}, {"Tracked 2D position/ss_2D"}),
    "osb_KatoEtAl2018.WT_Stim.0.nwb": (0, 0, [], {}, {"States"}),
    "converted_triplett2018_zf_20170215-f3.nwb": (0, 0, [(5660, 75, "dff")], {}, set()),
    "converted_pynapple_suite2p_plane0.nwb": (
        0, 0, [(2000, 219, "fluorescence")] * 3, {}, set()),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_summary_counts_match_readme(nwb_dir, name):
    n_units, n_spikes, traces, intervals, behaviour = EXPECTED[name]
    s = summarize(nwb_dir / name)
    assert s["n_units"] == n_units
    assert s["n_spikes"] == n_spikes
    assert [(t["n_samples"], t["n_channels"], t["kind"]) for t in s["trace_series"]] == traces
    assert s["intervals"] == intervals
    assert {b["path"] for b in s["behavior_series"]} == behaviour


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recording_matches_summary(nwb_dir, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = read_nwb(nwb_dir / name)
    s = summarize(nwb_dir / name)
    assert rec.n_units == s["n_units"] and rec.n_spikes == s["n_spikes"]
    assert [t.data.shape for t in rec.traces] == [(t["n_samples"], t["n_channels"]) for t in s["trace_series"]]
    assert {k: v.n_rows for k, v in rec.intervals.items()} == s["intervals"]
    assert rec.duration_s == pytest.approx(s["duration_s"], abs=1e-6)
    for st in rec.spike_times or []:
        assert np.all(np.diff(st) >= 0)
    assert len(rec.source.sha256) == 64


def test_counts_equal_pynwb(nwb_dir):
    pynwb = pytest.importorskip("pynwb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pynwb.NWBHDF5IO(str(nwb_dir / "pynapple_sub-4_ses-4_ecephys+image.nwb"), "r") as io:
            nwb = io.read()
            per_unit = [len(nwb.units["spike_times"][i]) for i in range(len(nwb.units))]
        rec = read_nwb(nwb_dir / "pynapple_sub-4_ses-4_ecephys+image.nwb")
    assert [len(s) for s in rec.spike_times] == per_unit


def test_human_time_range_is_0_to_2821_s(nwb_dir):
    s = summarize(nwb_dir / "pynapple_sub-4_ses-4_ecephys+image.nwb")
    assert 0 <= s["t_start_s"] < 1 and s["t_stop_s"] == pytest.approx(2821, abs=1)


def test_unsorted_spike_times_are_sorted_with_a_warning(nwb_dir):
    with pytest.warns(UserWarning, match="not sorted"):
        rec = read_nwb(nwb_dir / "dandicli_sub-anm369963_ses-20170228.nwb")
    assert np.all(np.diff(rec.spike_times[0]) >= 0)
    assert any("not sorted" in w for w in rec.warnings)


def test_celegans_neurons_stacked_from_acquisition(nwb_dir):
    rec = read_nwb(nwb_dir / "osb_ScholzEtAl2018.AML175_moving.BrainScanner20180330_160650.nwb")
    (tr,) = rec.traces
    assert tr.path == "acquisition" and tr.kind == "acquisition"
    assert tr.channel_labels[0] == "Activity_0000" and len(tr.channel_labels) == 57
    assert tr.rate_hz == pytest.approx(6.02, abs=0.01)
    assert rec.behavior[0].data.shape == (3378, 2)
    assert rec.choose_source() == "acquisition"


def test_zebrafish_assemblies_column_is_read(nwb_dir):
    rec = read_nwb(nwb_dir / "converted_triplett2018_zf_20170215-f3.nwb")
    assemblies = rec.traces[0].channel_table["assemblies"]
    assert len(assemblies) == 75
    assert sum(len(a) for a in assemblies) == 91


def test_suite2p_prefers_fluorescence_over_neuropil(nwb_dir):
    rec = read_nwb(nwb_dir / "converted_pynapple_suite2p_plane0.nwb")
    assert rec.trace_for("rois").path == "ophys/Fluorescence/RoiResponseSeries"
    assert int(rec.traces[0].channel_table["iscell"].sum()) == 20


def test_trials_columns_are_categorical(nwb_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = read_nwb(nwb_dir / "dandicli_sub-anm369963_ses-20170228.nwb")
    trials = rec.intervals["trials"]
    assert "type" in trials.categorical_columns()
    assert set(np.unique(trials.columns["type"])) >= {"lick left", "lick right"}


def test_empty_subject_fields_are_empty_strings(nwb_dir):
    rec = read_nwb(nwb_dir / "pynapple_A8604-211122.nwb")
    assert all(isinstance(v, str) for v in rec.subject.values())


def test_file_without_neural_data_says_so(nwb_dir):
    rec = read_nwb(nwb_dir / "osb_KatoEtAl2018.WT_Stim.0.nwb")
    with pytest.raises(UserError, match="no usable neural data"):
        rec.choose_source()


BAD = {
    "random.nwb": "not an HDF5 file",
    "truncated.nwb": "truncated",
    "table.csv": "text file",
}


@pytest.mark.parametrize("name", sorted(BAD))
@pytest.mark.parametrize("reader", [read_nwb, summarize])
def test_bad_files_give_one_clear_sentence(bad_dir, name, reader):
    with pytest.raises(UserError, match=BAD[name]) as info:
        reader(bad_dir / name)
    assert "\n" not in str(info.value)


def test_hdf5_that_is_not_nwb(tmp_path):
    p = tmp_path / "plain.h5"
    with h5py.File(p, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(UserError, match="not an NWB file"):
        summarize(p)


def test_nwb_1_is_refused(tmp_path):
    p = tmp_path / "old.nwb"
    with h5py.File(p, "w") as f:
        f["nwb_version"] = "NWB-1.0.6"
    with pytest.raises(UserError, match="NWB 1.x"):
        read_nwb(p)


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        read_nwb(tmp_path / "nope.nwb")
    with pytest.raises(UserError, match="is a folder"):
        read_nwb(tmp_path)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_equal_what_pynwb_reads(nwb_dir, name):
    pynwb = pytest.importorskip("pynwb")
    from pynwb.ophys import RoiResponseSeries

    s = summarize(nwb_dir / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pynwb.NWBHDF5IO(str(nwb_dir / name), "r") as io:
            nwb = io.read()
            units = nwb.units
            assert s["n_units"] == (0 if units is None else len(units))
            assert s["n_spikes"] == (0 if units is None else len(units["spike_times"].target.data))
            assert s["intervals"] == {k: len(v) for k, v in (nwb.intervals or {}).items()}
            rrs = sorted(o.data.shape for o in nwb.objects.values() if isinstance(o, RoiResponseSeries))
            ours = sorted((t["n_samples"], t["n_channels"]) for t in s["trace_series"] if t["kind"] != "acquisition")
            assert ours == rrs


def test_unit_locations_come_from_their_electrodes(nwb_dir):
    pynwb = pytest.importorskip("pynwb")
    name = "pynapple_sub-4_ses-4_ecephys+image.nwb"
    rec = read_nwb(nwb_dir / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pynwb.NWBHDF5IO(str(nwb_dir / name), "r") as io:
            units = io.read().units
            expected = [units["electrodes"][i]["location"].iloc[0] for i in range(len(units))]
            expected = [e.decode() if isinstance(e, bytes) else e for e in expected]
    assert list(rec.unit_table["location"]) == expected
    assert len(set(expected)) > 1
