"""neurotools.compare and the overlays: agreement metrics, resampling, epochs, overlay figures.

Recordings with known states: the HMM-GLM simulator (true states at known bin times) and small
hand-built recordings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neurotools import compare as C
from neurotools.analyses.base import Result
from neurotools.analyses.hmmglm import SimParams as HmmSimParams
from neurotools.analyses.hmmglm import simulate as hmm_simulate
from neurotools.data.recording import BehaviorSeries, IntervalTable, Recording, SourceFile
from neurotools.figures.compare import agreement_heatmap, state_rows_figure
from neurotools.figures.recording import (
    PALETTE,
    aligned_figure,
    group_color,
    timeline_figure,
)

SHA = "f" * 64


@pytest.fixture(scope="module")
def hmm_rec() -> Recording:
    """3 states, 6 neurons, 4 sequences (trials) of 200 bins of 0.05 s: 40 s."""
    rec = hmm_simulate(HmmSimParams(n_states=3, n_neurons=6, n_sequences=4, sequence_bins=200), seed=3)
    rec.source = SourceFile(rec.source.name, SHA)
    return rec


def _hmm_result(states: np.ndarray, times: np.ndarray, sha: str = SHA, **arrays) -> Result:
    k = int(states.max()) + 1
    return Result("hmmglm", {"bin_size": 0.05}, 0, [{"name": "x.nwb", "sha256": sha, "source": "units"}],
                  {"states": states, "bin_times": times, "state_posterior": np.eye(k)[states], **arrays},
                  info={"bin_size_s": 0.05})


# -- agreement metrics ------------------------------------------------------------------------------
def test_permuted_labels_agree_perfectly():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, 500)
    b = np.array([3, 0, 2, 1])[a] + 10  # renamed labels
    assert C.adjusted_rand_index(a, b) == pytest.approx(1.0)
    assert C.normalized_mutual_info(a, b) == pytest.approx(1.0)
    assert C.matched_accuracy(a, b) == pytest.approx(1.0)


def test_independent_labels_score_near_zero():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 3, 20000), rng.integers(0, 3, 20000)
    assert abs(C.adjusted_rand_index(a, b)) < 0.005
    assert C.normalized_mutual_info(a, b) < 0.005
    assert C.matched_accuracy(a, b) < 0.36  # chance with 3 balanced labels is 1/3


def test_metrics_match_hand_computed_values():
    a = np.array([0, 0, 0, 1, 1, 1])
    b = np.array([0, 0, 1, 1, 2, 2])
    # contingency [[2,1,0],[0,1,2]]: sum C(nij,2) = 2; rows 3+3 = 6; cols 3 x 1 = 3; C(6,2) = 15
    expected = 6 * 3 / 15
    assert C.adjusted_rand_index(a, b) == pytest.approx((2 - expected) / (0.5 * (6 + 3) - expected))
    # MI = (2/3) log 2, H(a) = log 2, H(b) = log 3; arithmetic-mean normalisation
    assert C.normalized_mutual_info(a, b) == pytest.approx((2 / 3) * np.log(2) / (0.5 * np.log(6)))
    # best one-to-one matching: 0->0 (2) and 1->2 (2) of 6
    assert C.matched_accuracy(a, b) == pytest.approx(4 / 6)


def test_metrics_agree_with_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    for _ in range(5):
        a = rng.integers(0, 5, 300)
        b = np.where(rng.random(300) < 0.6, a % 3, rng.integers(0, 3, 300))
        assert C.adjusted_rand_index(a, b) == pytest.approx(metrics.adjusted_rand_score(a, b), abs=1e-12)
        assert C.normalized_mutual_info(a, b) == pytest.approx(
            metrics.normalized_mutual_info_score(a, b), abs=1e-12)


def test_missing_entries_are_left_out():
    a = np.array([0, 0, 1, 1, C.MISSING, 0])
    b = np.array([1, 1, 0, 0, 1, C.MISSING])
    m = C.agreement(a, b)
    assert m["n"] == 4 and m["ari"] == 1.0 and m["accuracy"] == 1.0
    assert np.isnan(C.agreement(np.array([0, C.MISSING]), np.array([0, 0]))["ari"])


# -- tracks and resampling ----------------------------------------------------------------------------
def test_resampling_takes_the_nearest_bin_and_marks_outside_times_missing():
    track = C.bins_to_track("r", np.array([0.05, 0.15, 0.25, 0.35]), np.array([0, 1, 1, 2]), 0.1)
    grid = np.array([-0.2, 0.01, 0.09, 0.11, 0.29, 0.31, 0.399, 0.41, 1.0])
    np.testing.assert_array_equal(C.resample(track, grid), [-1, 0, 0, 1, 1, 2, 2, -1, -1])
    # a gap between sessions is missing too
    gap = C.bins_to_track("g", np.array([0.05, 0.15, 5.05]), np.array([0, 1, 0]), 0.1)
    np.testing.assert_array_equal(C.resample(gap, np.array([0.12, 2.0, 5.0])), [1, -1, 0])


def test_common_grid_uses_the_finest_result_bin_over_the_results_span():
    coarse = C.bins_to_track("a", np.arange(10) + 0.5, np.zeros(10, int), 1.0)
    fine = C.bins_to_track("b", np.arange(2, 8, 0.25) + 0.125, np.zeros(24, int), 0.25)
    ref = C.LabelTrack("ref", np.array([-100.0]), np.array([100.0]), np.array([0]), ["x"], "reference")
    grid = C.common_grid([coarse, fine, ref])
    assert grid[0] == pytest.approx(0.125) and grid[-1] == pytest.approx(9.875)
    np.testing.assert_allclose(np.diff(grid), 0.25)
    assert len(C.common_grid([coarse], max_points=5)) == 5


def test_hmmglm_states_agree_with_the_simulated_truth(hmm_rec):
    gt = hmm_rec.ground_truth
    result = _hmm_result(np.array([2, 0, 1])[gt["states"]], gt["state_times"])
    [track] = C.result_tracks(result, SHA)
    refs = {t.name: t for t in C.reference_tracks(hmm_rec)}
    truth = refs["true states (simulation)"]
    grid = C.common_grid([track, truth])
    assert len(grid) == len(gt["states"])  # one grid bin per analysed bin
    [row] = C.state_agreement([track, truth], grid)
    assert (row["ari"], row["nmi"], row["accuracy"], row["n_bins"]) == (1.0, 1.0, 1.0, 800)
    assert row["overlap_s"] == pytest.approx(40.0)
    # a result of another file gives no track for this one
    assert C.result_tracks(result, "0" * 64) == []


def test_multi_file_results_keep_the_bins_of_the_shown_file():
    t = np.arange(20) * 0.05 + 0.025
    res = _hmm_result(np.r_[np.zeros(10, int), np.ones(10, int)], t, session_index=np.repeat([0, 1], 10))
    res.inputs.append({"name": "y.nwb", "sha256": "e" * 64, "source": "units"})
    [own] = C.result_tracks(res, SHA)
    [other] = C.result_tracks(res, "e" * 64)
    np.testing.assert_allclose(own.starts + 0.025, t[:10])
    assert set(own.labels) == {0} and set(other.labels) == {1}


def test_interval_tables_and_behaviour_state_labels_become_reference_rows():
    trials = IntervalTable("trials", np.array([0.0, 2.0, 4.0]), np.array([1.0, 3.0, 5.0]),
                           {"type": np.array(["go", "nogo", "go"])})
    epochs = IntervalTable("epochs", np.array([1.0]), np.array([2.0]))
    codes = np.array([4, 4, 1, 1, 2, 3, 3, 1.0])  # integer codes stored as floats (C. elegans)
    rec = Recording(SourceFile("r.nwb", SHA), intervals={"trials": trials, "epochs": epochs},
                    behavior=[BehaviorSeries("acquisition/States", codes, np.arange(8) * 0.5),
                              BehaviorSeries("acquisition/speed", np.linspace(0, 1, 8), np.arange(8) * 0.5),
                              BehaviorSeries("acquisition/position", np.round(np.linspace(0, 3, 8)),
                                             np.arange(8) * 0.5, unit="cm")])
    refs = {t.name: t for t in C.reference_tracks(rec)}
    assert set(refs) == {"trials: type", "epochs", "States"}
    grid = np.array([0.5, 1.5, 2.5, 3.5, 4.5])
    tt = refs["trials: type"]
    assert [tt.categories[k] if k >= 0 else None for k in C.resample(tt, grid)] == [
        "go", None, "nogo", None, "go"]
    ep = refs["epochs"]  # no categorical column: inside vs outside over the recording's range
    assert [ep.categories[k] for k in C.resample(ep, grid)] == [
        "outside", "in epochs", "outside", "outside", "outside"]
    st = refs["States"]
    assert st.categories == ["1", "2", "3", "4"]
    np.testing.assert_array_equal(C.resample(st, np.arange(8) * 0.5 + 0.2), [3, 3, 0, 0, 1, 2, 2, 0])


def test_c_elegans_state_labels_are_a_reference_row(nwb_dir):
    from neurotools.data import read_nwb

    rec = read_nwb(nwb_dir / "osb_KatoEtAl2018.WT_Stim.0.nwb")
    [track] = C.reference_tracks(rec)
    assert track.name == "States" and track.categories == ["1", "2", "3", "4"]
    assert len(track.starts) == 2198
    b = rec.behavior[0]
    np.testing.assert_array_equal(np.asarray(track.categories)[C.resample(track, b.timestamps)],
                                  np.asarray(b.data).astype(int).astype(str))


# -- connectome epochs ------------------------------------------------------------------------------
def _planted_activity() -> tuple[np.ndarray, np.ndarray]:
    T = 100
    tf = np.full((2, T), 0.05)
    tf[0, 10:30] = 1.0
    tf[1, 50:80] = 2.0  # a larger scale: each component is scaled by its own peak
    truth = np.full(T, 2)
    truth[10:30], truth[50:80] = 0, 1
    return tf, truth


def test_connectome_epochs_recover_planted_activity():
    tf, truth = _planted_activity()
    np.testing.assert_array_equal(C.connectome_epochs(tf), truth)
    # a weak bump of component 1 (z ~ 0.4): C1 above its mean (default), "none" at z >= 1
    tf[0, 90:95] = 0.4
    z = (0.4 - tf[0].mean()) / tf[0].std()
    assert 0 < z < 1
    assert set(C.connectome_epochs(tf)[90:95]) == {0}
    assert set(C.connectome_epochs(tf, threshold=1.0)[90:95]) == {2}


def test_connectome_result_epochs_on_the_file_clock_in_trials_mode():
    tf, truth = _planted_activity()
    bt = 10.0 + (np.arange(100) + 0.5) * 0.1  # first trial starts at 10 s
    res = Result("connectome", {}, 0, [{"name": "x.nwb", "sha256": SHA, "source": "units"}],
                 {"time_factors": tf, "bin_times": bt, "component_weights": np.ones(2),
                  "animal_factors": np.ones((2, 2)), "slice_starts": np.array([10.0, 30.0]),
                  "communities": np.array([[0, 0, 1], [1, 0, 0]])},
                 info={"third_mode": "trials", "bin_s": 0.1})
    [track] = C.result_tracks(res, SHA)
    assert track.categories == ["C1", "C2", "none"]
    np.testing.assert_allclose(track.starts[:100] + 0.05, bt)
    np.testing.assert_allclose(track.starts[100:] + 0.05, bt + 20.0)  # second trial at 30 s
    np.testing.assert_array_equal(track.labels, np.r_[truth, truth])
    parts = C.result_partitions(res)
    assert [p.name for p in parts] == ["connectome communities C1", "connectome communities C2"]


# -- neuron partitions ------------------------------------------------------------------------------
def test_partition_agreement_only_over_the_same_neurons():
    known = np.array([1, 0, 1, 0, 2, 2])
    rec = Recording(SourceFile("r.nwb", SHA), spike_times=[np.array([0.5])] * 6,
                    unit_table={"id": np.arange(6), "true_cluster": known})
    relabelled = np.array([2, 0, 1])[known]  # the same partition, other names, reversed order
    res = Result("bicluster", {}, 0, [{"name": "r.nwb", "sha256": SHA, "source": "units"}],
                 {"neuron_clusters": relabelled[::-1],
                  "state_sequence": np.zeros(3, int), "bin_times": np.arange(3.0)},
                 info={"neuron_labels": [str(i) for i in range(5, -1, -1)], "bin_size_s": 1.0})
    [part] = C.result_partitions(res)
    [ref] = C.reference_partitions(rec)
    [row] = C.partition_agreement([part, ref])
    assert (row["ari"], row["accuracy"], row["n_neurons"]) == (1.0, 1.0, 6)
    np.testing.assert_array_equal(C.unit_groups(part, rec, "units"), relabelled)
    fewer = C.Partition("five", [str(i) for i in range(5)], np.zeros(5, int), "units")
    rois = C.Partition("rois", ref.neurons, ref.labels, "rois")
    assert C.partition_agreement([ref, fewer, rois]) == []


# -- overlay figures --------------------------------------------------------------------------------
def _known_track() -> tuple[C.LabelTrack, list[tuple[float, float, int]]]:
    labels = np.repeat([0, 1, 0, 2], [10, 5, 20, 5])
    track = C.bins_to_track("hmmglm states", (np.arange(40) + 0.5) * 0.5, labels, 0.5)
    return track, [(0.0, 5.0, 0), (5.0, 7.5, 1), (7.5, 17.5, 0), (17.5, 20.0, 2)]


def _small_rec() -> Recording:
    rng = np.random.default_rng(4)
    trains = [np.sort(rng.uniform(0, 20, 30)) for _ in range(6)]
    trials = IntervalTable("trials", np.arange(0, 20, 4.0), np.arange(0, 20, 4.0) + 3)
    return Recording(SourceFile("r.nwb", SHA), spike_times=trains,
                     unit_table={"id": np.arange(10, 16)}, intervals={"trials": trials})


def test_timeline_bands_span_the_known_state_segments():
    track, segs = _known_track()
    fig = timeline_figure(_small_rec(), state_bands=track, t_start=0, t_stop=20)
    bands = [s for s in fig.layout.shapes if s.name and s.name.startswith("hmmglm states")]
    got = [(s.x0, s.x1, s.name.split(": ")[1]) for s in bands]
    assert got == [(a, b, f"state {k}") for a, b, k in segs]
    assert [s.fillcolor for s in bands] == [PALETTE[k] for _, _, k in segs]
    legend = [t.name for t in fig.data if t.name and t.name.startswith("hmmglm states")]
    assert legend == ["hmmglm states: state 0", "hmmglm states: state 1", "hmmglm states: state 2"]
    # clipped to the window
    part = timeline_figure(_small_rec(), state_bands=track, t_start=6, t_stop=10)
    assert [(s.x0, s.x1) for s in part.layout.shapes if s.name] == [(6.0, 7.5), (7.5, 10.0)]


def test_timeline_without_overlay_is_unchanged():
    rec = _small_rec()
    fig = timeline_figure(rec, t_start=0, t_stop=20)
    assert len(fig.data) == 1 and fig.data[0].marker.color == "#222"
    assert not fig.layout.shapes


def test_raster_units_are_ordered_and_coloured_by_their_known_cluster():
    rec = _small_rec()
    clusters = np.array([1, 0, 1, 0, 2, -1])
    fig = timeline_figure(rec, t_start=0, t_stop=20, unit_groups=clusters,
                          group_names=["a", "b", "c"], groups_title="clusters")
    traces = {t.name: t for t in fig.data}
    assert list(traces) == ["clusters: a", "clusters: b", "clusters: c", "clusters: no group"]
    ids = np.arange(10, 16)
    for k, name in enumerate(["a", "b", "c"]):
        t = traces[f"clusters: {name}"]
        assert t.marker.color == group_color(k) == PALETTE[k]
        assert set(np.asarray(t.customdata)) == set(ids[clusters == k])
        assert len(t.x) == sum(len(rec.spike_times[i]) for i in np.flatnonzero(clusters == k))
    # rows: cluster 0 (units 1, 3), then 1 (0, 2), then 2 (4), then no group (5)
    assert list(fig.layout.yaxis.ticktext) == ["11", "13", "10", "12", "14", "15"]
    strip = [(s.y0, s.y1, s.fillcolor) for s in fig.layout.shapes]
    assert strip == [(-0.5, 1.5, PALETTE[0]), (1.5, 3.5, PALETTE[1]), (3.5, 4.5, PALETTE[2]),
                     (4.5, 5.5, group_color(-1))]
    # a dense window (binned raster) keeps the order and the strip
    dense = timeline_figure(rec, unit_groups=clusters, max_scatter_spikes=0)
    assert dense.data[0].type == "heatmap" and len(dense.layout.shapes) == 4


def test_aligned_figure_colours_trials_by_state_and_counts_state_fractions(hmm_rec):
    gt = hmm_rec.ground_truth
    track = C.bins_to_track("true", gt["state_times"], gt["states"], 0.05)
    fig = aligned_figure(hmm_rec, 0, "trials", window=(0.0, 10.0), bin_size=0.05, state_bands=track)
    heat = fig.data[0]
    assert heat.type == "heatmap"
    z = np.asarray(heat.z, dtype=float)
    assert z.shape == (4, 200)
    np.testing.assert_array_equal(z.astype(int), gt["states"].reshape(4, 200))  # trials = sequences
    fractions = [t for t in fig.data if t.name and t.name.startswith("true: ")]
    total = np.sum([np.asarray(t.y) for t in fractions], axis=0)
    np.testing.assert_allclose(total, 1.0)
    assert fig.layout.yaxis3.title.text == "fraction of trials"
    assert fig.layout.xaxis3.title.text == "time from start (s)"


def test_compare_figures():
    track, segs = _known_track()
    ref = C.LabelTrack("trials", np.array([0.0, 10.0]), np.array([10.0, 20.0]), np.array([0, 1]),
                       ["a", "b"], "reference")
    fig = state_rows_figure([track, ref])
    bars = [t for t in fig.data if t.name.startswith("hmmglm states: state 0")]
    assert list(bars[0].base) == [0.0, 7.5] and list(bars[0].x) == [5.0, 10.0]
    assert fig.layout.xaxis.title.text == "time (s)"
    assert set(t.y[0] for t in fig.data) == {"hmmglm states", "trials (file)"}
    rows = C.state_agreement([track, ref], C.common_grid([track, ref]))
    heat = agreement_heatmap(rows, ["hmmglm states", "trials"], "accuracy")
    z = np.asarray(heat.data[0].z)
    assert z[0, 0] == 1.0 and z[0, 1] == z[1, 0] == pytest.approx(rows[0]["accuracy"])
    csv = C.rows_to_csv(rows)
    assert csv.splitlines()[0] == "a,b,ari,nmi,accuracy,n_bins,overlap_s"
    assert csv.splitlines()[1].startswith("hmmglm states,trials,")


def test_connectome_epochs_of_a_real_fit_match_the_planted_motifs():
    """The bundled connectome sample: 2 animals (trials), 3 motifs active in known windows."""
    from neurotools.analyses import connectome
    from neurotools.data import read_nwb

    rec = read_nwb(Path(__file__).resolve().parents[1] / "sample_data" / "connectome_motifs.nwb")
    truth = {t.name: t for t in C.reference_tracks(rec)}["true motifs (simulation)"]
    assert truth.categories == ["motif 1", "motif 2", "motif 3", "none"]
    result = connectome.run([rec], connectome.Params.from_dict({"rank": 3, "restarts": 1}), seed=0)
    [track] = C.result_tracks(result, rec.source.sha256)
    [row] = C.state_agreement([track, truth], C.common_grid([track, truth]))
    assert row["n_bins"] == 400  # both trials of 200 s, 1 s bins
    assert row["accuracy"] > 0.85 and row["ari"] > 0.7


def test_trace_heatmap_rows_are_regrouped_and_states_drawn_as_a_top_strip():
    from neurotools.data.recording import TraceSeries

    t = np.arange(100) * 0.1
    data = np.tile(np.arange(4.0), (100, 1))  # channel c holds the value c
    rec = Recording(SourceFile("r.nwb", SHA), traces=[
        TraceSeries("processing/ophys/DfOverF/RoiResponseSeries", data, t, 10.0, "dff",
                    channel_labels=["a", "b", "c", "d"])])
    track = C.bins_to_track("s", t + 0.05, (t > 5).astype(int), 0.1)
    fig = timeline_figure(rec, unit_groups=np.array([1, 0, -1, 0]), state_bands=track)
    heat = fig.data[0]
    np.testing.assert_array_equal(np.asarray(heat.z)[:, 0], [1, 3, 0, 2])  # group 0, 1, then none
    assert [row[0] for row in heat.customdata] == ["b", "d", "a", "c"]
    bands = [s for s in fig.layout.shapes if s.name and s.name.startswith("s: ")]
    assert [(b.y0, b.y1, b.layer) for b in bands] == [(0.95, 1.0, "above")] * 2


def test_trials_without_stop_times_run_to_the_next_start(nwb_dir):
    """The DANDI file stores only trial starts (every stop is NaN): its rows still compare."""
    from neurotools.data import read_nwb

    rec = read_nwb(nwb_dir / "dandicli_sub-anm369963_ses-20170228.nwb")
    table = rec.intervals["trials"]
    assert not np.isfinite(np.asarray(table.stop, float)).any()
    tracks = C.reference_tracks(rec)
    assert [t.name for t in tracks] == [f"trials: {c} (starts only)"
                                        for c in ("type", "response", "is_good")]
    starts = np.sort(np.asarray(table.start, float))
    for t in tracks:
        assert len(t.starts) == 178
        np.testing.assert_array_equal(t.starts, starts)
        np.testing.assert_array_equal(t.stops[:-1], starts[1:])
        assert t.stops[-1] == pytest.approx(rec.time_range()[1])  # the last runs to the end


def test_the_state_rows_figure_is_tall_enough_for_its_whole_legend():
    """11 legend entries in 3 groups need ~24 px each plus the groups' gaps (no scroll bar)."""
    tracks = []
    for name, k in (("a", 3), ("b", 3), ("c", 5)):
        s = np.arange(0, 300, 5.0)
        tracks.append(C.LabelTrack(name, s, s + 5, np.arange(len(s)) % k,
                                   [f"state {i}" for i in range(k)], "reference"))
    fig = state_rows_figure(tracks)
    assert len(fig.data) == 11
    assert fig.layout.height >= 24 * 11 + 10 * 3 + 100


def test_a_table_of_start_times_without_categories_is_not_an_inside_outside_row():
    licks = IntervalTable("licks", np.array([1.0, 5.0, 9.0]), np.full(3, np.nan))
    assert C.interval_track(licks, None, (0.0, 20.0)) is None
    assert C.interval_tracks(licks, (0.0, 20.0)) == []
