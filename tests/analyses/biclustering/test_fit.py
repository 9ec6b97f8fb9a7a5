"""run(): recovery on the paper's simulation (short CI version), determinism, errors, Result."""

import numpy as np
import pytest

from neurotools.analyses.base import Result
from neurotools.analyses.biclustering import Params, SimParams, run, simulate
from neurotools.data.recording import Recording, SourceFile, TraceSeries
from neurotools.errors import UserError


@pytest.fixture(scope="module")
def paper_fit():
    rec = simulate(SimParams(), seed=0)
    params = Params(iterations=160, burn_in=60, chains=2)
    return rec, run([rec], params, seed=0)


def test_neuron_clusters_recovered_on_the_paper_simulation(paper_fit):
    rec, res = paper_fit
    m = res.metrics
    assert m["truth_neuron_ari"] >= 0.95
    assert res.arrays["n_clusters_posterior"][3] >= 0.6
    assert m["min_pairwise_chain_ari"] >= 0.9
    assert m["rhat_n_clusters"] < 1.05


@pytest.mark.xfail(strict=True, reason="160 sweeps are too few for the log-likelihood's split "
                   "R-hat (1.46 at this seed; 1.03-1.51 over chain seeds 0-5); the 4 x 1000 "
                   "runs of bench/ meet the state targets on the spec's seed "
                   "(docs/analyses/biclustering.md, Limitations)")
def test_states_recovered_on_the_paper_simulation(paper_fit):
    _, res = paper_fit
    assert res.metrics["truth_state_accuracy"] >= 0.93
    assert res.metrics["n_states_mode"] in (2, 3)
    assert res.metrics["rhat_loglik"] < 1.05


def test_state_sequence_is_close_to_the_truth_in_the_short_run(paper_fit):
    # the defaults (window and noise moves, prior column scales 10 for A and 1000 for b), this
    # 2 x 160 run over chain seeds 0-5: accuracy 0.864-0.938 (0.938 at seed 0), mode of
    # occupied states 2 in all six; with one scale 10 for A and b 0.862-0.950; the author's
    # prior with FFBS sweeps alone: 0.828-0.880 (docs/analyses/biclustering.md)
    _, res = paper_fit
    assert res.metrics["truth_state_accuracy"] >= 0.85
    assert res.metrics["n_states_mode"] in (2, 3)


def test_result_arrays_follow_the_contract(paper_fit, tmp_path):
    rec, res = paper_fit
    a = res.arrays
    assert a["neuron_clusters"].shape == (30,)
    assert a["state_sequence"].shape == (500,)
    assert a["neuron_coclustering"].shape == (30, 30)
    assert np.allclose(np.diag(a["neuron_coclustering"]), 1)
    assert a["loglik_trace"].shape == (160,)
    assert np.allclose(a["bin_times"], 0.05 + 0.1 * np.arange(500))
    assert a["n_clusters_posterior"].sum() == pytest.approx(1)
    # states holding >= 1% of the bins (5 of 500): never more than the occupied ones
    assert res.info["major_state_min_bins"] == 5
    assert a["n_major_states_trace"].shape == a["n_states_trace"].shape == (2, 160)
    assert np.all(a["n_major_states_trace"] <= a["n_states_trace"])
    assert np.all(a["n_major_states_trace"] >= 1)
    assert a["n_major_states_posterior"].sum() == pytest.approx(1)
    assert res.metrics["n_major_states_mode"] == int(np.argmax(a["n_major_states_posterior"]))
    assert np.isfinite(res.metrics["rhat_n_major_states"])
    assert a["latent_mean"].shape[0] == 500
    assert np.all(a["latent_lower"] <= a["latent_upper"])
    assert np.all((a["ppc_pvalues"] >= 0) & (a["ppc_pvalues"] <= 1))
    res.save(tmp_path / "r")
    back = Result.load(tmp_path / "r")
    for k, v in a.items():
        assert np.array_equal(back.arrays[k], v)
    assert back.metrics["truth_neuron_ari"] == res.metrics["truth_neuron_ari"]


def test_state_count_figures_show_major_states_and_read_older_results(paper_fit):
    from dataclasses import replace as dc_replace

    from neurotools.figures.biclustering import posterior_counts_figure, trace_figure

    _, res = paper_fit
    bars = posterior_counts_figure(res).data
    assert [b.name for b in bars[1:]] == ["occupied (>= 1 bin)", ">= 5 bins (1% of the bins)"]
    assert np.allclose(bars[2].y, res.arrays["n_major_states_posterior"][list(bars[2].x)])
    n_rows = len(trace_figure(res).data) // 2
    # a result saved before the major-state count existed still draws
    older = dc_replace(res, arrays={k: v for k, v in res.arrays.items() if "major" not in k})
    assert len(posterior_counts_figure(older).data) == 2
    assert len(trace_figure(older).data) // 2 == n_rows - 1


def test_same_seed_same_arrays_and_executor_independence():
    from concurrent.futures import ThreadPoolExecutor

    rec = simulate(SimParams(n_neurons=6, n_clusters=2, n_bins=60), seed=2)
    params = Params(iterations=6, burn_in=2, chains=2, max_states=3)
    a = run([rec], params, seed=5)
    b = run([rec], params, seed=5)
    with ThreadPoolExecutor(2) as ex:
        c = run([rec], params, seed=5, executor=ex)
    for k in a.arrays:
        assert np.array_equal(a.arrays[k], b.arrays[k]), k
        assert np.array_equal(a.arrays[k], c.arrays[k]), k
    d = run([rec], params, seed=6)
    assert not np.array_equal(a.arrays["loglik_trace"], d.arrays["loglik_trace"])


def test_a_chain_does_not_depend_on_the_burn_in():
    # the predictive checks after the burn-in draw from their own stream
    rec = simulate(SimParams(n_neurons=6, n_clusters=2, n_bins=60), seed=2)
    early = run([rec], Params(iterations=8, burn_in=2, chains=2, max_states=3), seed=5)
    late = run([rec], Params(iterations=8, burn_in=6, chains=2, max_states=3), seed=5)
    for key in ("logjoint_traces", "loglik_traces", "n_states_trace", "n_clusters_trace"):
        assert np.array_equal(early.arrays[key], late.arrays[key]), key
    assert early.arrays["logjoint_traces"].shape == (2, 8)


def test_progress_reports_every_iteration_and_can_cancel():
    from neurotools.errors import Cancelled

    rec = simulate(SimParams(n_neurons=4, n_clusters=2, n_bins=40), seed=0)
    seen = []

    def progress(frac, msg):
        seen.append((frac, msg))
        if len(seen) > 5:
            raise Cancelled()

    with pytest.raises(Cancelled):
        run([rec], Params(iterations=50, burn_in=5, chains=1, max_states=2), progress=progress)
    assert "log-joint" in seen[-1][1]
    assert all(0 <= f <= 1 for f, _ in seen)


@pytest.mark.parametrize("settings, match", [
    ({"model": "gauss"}, "model"),
    ({"iterations": "10", "burn_in": "10"}, "burn_in"),
    ({"chains": "0"}, "chains"),
    ({"latent_dim": "x"}, "latent_dim"),
    ({"max_state": "3"}, "Unknown parameter"),
    ({"state_moves": "gibbs"}, "state_moves"),
    ({"dynamics_prior_scale": "0"}, "dynamics_prior_scale"),
])
def test_bad_parameters_are_user_errors(settings, match):
    with pytest.raises(UserError, match=match):
        Params.from_strings(settings)


def test_trace_only_and_tiny_inputs_are_user_errors():
    tr = TraceSeries("ophys", np.random.default_rng(0).random((100, 3)), np.arange(100) * 0.1,
                     10.0, "dff")
    rec = Recording(SourceFile("x.nwb", "0"), traces=[tr])
    with pytest.raises(UserError, match="spike counts"):
        run([rec], Params(iterations=3, burn_in=1, chains=1))
    one = Recording(SourceFile("y.nwb", "0"), spike_times=[np.sort(np.random.default_rng(0).random(50))])
    with pytest.raises(UserError, match="at least 2 neurons"):
        run([one], Params(iterations=3, burn_in=1, chains=1, bin_size=0.01))


def test_sessions_are_concatenated_with_a_session_index():
    a = simulate(SimParams(n_neurons=6, n_clusters=2, n_bins=50), seed=0)
    b = simulate(SimParams(n_neurons=6, n_clusters=2, n_bins=30), seed=1)
    res = run([a, b], Params(iterations=4, burn_in=1, chains=1, max_states=3), seed=0)
    assert res.arrays["state_sequence"].shape == (80,)
    assert res.arrays["session_index"].tolist() == [0] * 50 + [1] * 30
    assert np.allclose(res.arrays["bin_times"][50:], 0.05 + 0.1 * np.arange(30))
    assert len(res.inputs) == 2
    c = simulate(SimParams(n_neurons=5, n_clusters=2, n_bins=30), seed=1)
    with pytest.raises(UserError, match="different numbers of neurons"):
        run([a, c], Params(iterations=4, burn_in=1, chains=1))


def test_poisson_model_runs_and_finds_the_clusters():
    rec = simulate(SimParams(n_neurons=12, n_clusters=2, n_bins=300, model="poisson"), seed=4)
    res = run([rec], Params(model="poisson", iterations=30, burn_in=10, chains=1, max_states=4),
              seed=0, device="cuda")
    assert res.device == "cpu" and "device_note" in res.info
    assert np.isfinite(res.arrays["loglik_trace"]).all()
    assert res.metrics["truth_neuron_ari"] >= 0.9


def test_command_line_prints_convergence_warnings(tmp_path, capsys):
    from neurotools.cli import main

    sim = tmp_path / "sim.nwb"
    assert main(["simulate", "bicluster", "--out", str(sim), "--set", "n_neurons=6",
                 "--set", "n_bins=60"]) == 0
    out = tmp_path / "res"
    assert main(["run", "bicluster", str(sim), "--out", str(out), "--set", "iterations=12",
                 "--set", "burn_in=4", "--set", "chains=2"]) == 0
    res = Result.load(out)
    warnings = res.info["convergence_warnings"]
    assert any("effective draws" in w for w in warnings)      # 16 draws cannot reach ESS 100
    err = capsys.readouterr().err
    for w in warnings:
        assert f"warning: {w}" in err


def test_rerun_of_a_result_from_before_the_offset_scale_keeps_its_prior(tmp_path):
    # results recorded before offset_prior_scale existed had one scale for A and b; their
    # recipe lacks the field, and a rerun must not pick up the new default of 1000
    from neurotools.cli import main
    from neurotools.recipe import recipe_of, rerun, run_on_files

    sim = tmp_path / "sim.nwb"
    assert main(["simulate", "bicluster", "--out", str(sim), "--set", "n_neurons=6",
                 "--set", "n_bins=80"]) == 0
    base = dict(iterations=8, burn_in=2, chains=1, max_states=3, dynamics_prior_scale=10.0)
    old = run_on_files("bicluster", Params(**base, offset_prior_scale=10.0), [sim], seed=3)
    recipe = recipe_of(old)
    del recipe["params"]["offset_prior_scale"]
    again = rerun(recipe, [sim])
    assert again.params["offset_prior_scale"] == 10.0
    assert np.array_equal(again.arrays["loglik_trace"], old.arrays["loglik_trace"])
    # the check has power: the new default computes something else from the same seed
    new = run_on_files("bicluster", Params(**base), [sim], seed=3)
    assert new.params["offset_prior_scale"] == 1000.0
    assert not np.array_equal(new.arrays["loglik_trace"], old.arrays["loglik_trace"])


def test_spread_starts_give_each_chain_its_own_number_of_clusters():
    from neurotools.analyses.biclustering.fit import start_shift

    assert [start_shift(c) for c in range(5)] == [0, 1, -1, 2, -2]
    rec = simulate(SimParams(n_neurons=12, n_clusters=3, n_bins=200), seed=3)
    shared = run([rec], Params(iterations=4, burn_in=1, chains=3, max_states=3), seed=1)
    k0 = shared.info["start_clusters_per_chain"][0]
    assert k0 >= 2
    assert shared.info["start_clusters_per_chain"] == [k0] * 3
    assert "starts=spread" in shared.info["start_note"]
    spread = run([rec], Params(iterations=4, burn_in=1, chains=3, max_states=3, starts="spread"),
                 seed=1)
    assert spread.info["start_clusters_per_chain"] == [k0, k0 + 1, k0 - 1]
    assert "start_note" not in spread.info
    assert spread.params["starts"] == "spread"
    # result files store infinity as null: the result names its infinite metrics
    infinite = {k for k, v in spread.metrics.items() if isinstance(v, float) and np.isinf(v)}
    assert set(spread.info["infinite_metrics"]) == infinite
    # the diagnostics figure: one row per chain, labelled with its start and its ARI to the pool
    from neurotools.figures.biclustering import chain_partitions_figure

    fig = chain_partitions_figure(spread)
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (3, 12)
    # a legend names each cluster's colour (no colour bar, which few chains squash)
    assert heat.showscale is False
    assert [t.name for t in fig.data[1:]] == [f"cluster {k}" for k in range(int(np.max(heat.z)) + 1)]
    assert [y.endswith(f"start K={k})") for y, k in
            zip(heat.y, spread.info["start_clusters_per_chain"])] == [True] * 3


def test_cluster_count_moves_are_counted_and_a_frozen_count_is_reported(paper_fit):
    _, res = paper_fit
    moves = res.info["cluster_count_moves"]
    assert set(moves) == {"new/empty", "split", "merge"}
    assert all(0 <= accepted <= proposed for proposed, accepted in moves.values())
    # 2 chains x 100 kept sweeps x 2 split-merge proposals
    assert moves["split"][0] + moves["merge"][0] == 2 * 100 * 2
    kept = res.arrays["n_clusters_trace"][:, 60:]
    frozen = bool((kept.max(1) == kept.min(1)).all())
    assert ("frozen_clusters_note" in res.info) == frozen
    if sum(a for _, a in moves.values()) == 0:
        assert frozen
    if frozen:
        assert "starts=spread" in res.info["frozen_clusters_note"]
    from neurotools.figures.biclustering import diagnostics_rows

    row = [r for r in diagnostics_rows(res) if r["diagnostic"].startswith("cluster-count")]
    assert row[0]["value"] == ", ".join(f"{a} / {p}" for p, a in moves.values())


def test_chain_labels_are_matched_to_the_pooled_partition():
    from neurotools.compare import matched_labels

    ref = np.array([0, 0, 1, 1, 2, 2])
    assert matched_labels(ref, np.array([2, 2, 0, 0, 1, 1])).tolist() == ref.tolist()
    # a chain with a fourth cluster: the unmatched one gets a new label, 3
    ref7 = np.array([0, 0, 1, 1, 1, 2, 2])
    assert matched_labels(ref7, np.array([1, 1, 0, 0, 3, 2, 2])).tolist() == [0, 0, 1, 1, 3, 2, 2]
    # a chain that merged two clusters keeps the label of the larger overlap
    assert matched_labels(ref, np.array([0, 0, 0, 0, 1, 1])).tolist() == [0, 0, 0, 0, 2, 2]


def test_inferred_states_against_the_true_state_intervals(paper_fit):
    """The simulated file's interval table 'states' holds the true segments: each true state
    spends most of its time in its own inferred state, and the two are different states."""
    from neurotools.compare import state_occupancy
    from neurotools.figures.states import state_interval_heatmap

    rec, res = paper_fit
    occ = state_occupancy(res.arrays["bin_times"], 0.1, res.arrays["state_sequence"],
                          rec.intervals["states"], "state")
    assert occ.groups == ["0", "1"]                      # the table tiles the whole recording
    assert occ.seconds.sum() == pytest.approx(50.0)
    main = occ.fraction.argmax(1)
    assert main[0] != main[1]
    assert occ.fraction.max(1).min() >= 0.75, occ.fraction     # 0.88 and 0.82 measured
    heat = state_interval_heatmap(res.arrays["bin_times"], 0.1, res.arrays["state_sequence"],
                                  rec, "states", "state").data[0]
    np.testing.assert_allclose(heat.z, occ.fraction)


def test_state_raster_shows_the_chosen_point_estimate(paper_fit):
    """The states figure draws maxPEAR or Dahl's sequence, each state labelled with its bins."""
    from neurotools.figures.biclustering import state_estimate, state_raster_figure

    rec, res = paper_fit
    for estimate, key, name in (("maxpear", "state_sequence", "maxPEAR"),
                                ("dahl", "state_sequence_dahl", "Dahl")):
        fig = state_raster_figure(res, rec, estimate=estimate)
        seq = res.arrays[key]
        assert f"({name} point estimate)" in fig.layout.title.text
        bars = [tr for tr in fig.data if tr.type == "bar"]
        assert [tr.name for tr in bars] == [f"state {k} ({n} bins)"
                                           for k, n in enumerate(np.bincount(seq)) if n]
        for k, tr in zip(np.unique(seq), bars):
            np.testing.assert_allclose(tr.x, res.arrays["bin_times"][seq == k])
        np.testing.assert_array_equal(state_estimate(res, estimate), seq)
    with pytest.raises(ValueError, match="estimate must be one of"):
        state_estimate(res, "mode")


def test_state_moves_and_dynamics_prior_reach_the_sampler_and_the_recipe():
    from neurotools.analyses.biclustering.fit import model_config

    cfg = model_config(Params(state_moves="all", dynamics_prior_scale=10.0))
    assert (cfg.window_moves, cfg.collapsed_states, cfg.state_sweeps, cfg.dynamics_v0) == \
        (True, True, 1, 10.0)
    default = model_config(Params())
    assert (default.window_moves, default.collapsed_states, default.state_sweeps,
            default.dynamics_v0) == (True, False, 2, 10.0)
    # the offset column b has its own, vaguer scale (docs/analyses/biclustering.md)
    assert default.column_scales == (10.0, 1000.0)
    assert model_config(Params(offset_prior_scale=10.0)).column_scales == (10.0, 10.0)
    plain = model_config(Params(state_moves="ffbs", dynamics_prior_scale=1.0))
    assert (plain.window_moves, plain.collapsed_states, plain.state_sweeps, plain.dynamics_v0) == \
        (False, False, 2, 1.0)
    both = model_config(Params(state_moves="jumps_merges"))
    assert (both.window_moves, both.path_birth_death, both.state_merges) == (True, 10, 10)
    assert model_config(Params(state_moves="merges")).path_birth_death == 0
    assert (default.noise_moves, model_config(Params(noise_moves=0)).noise_moves) == (2, 0)
    rec = simulate(SimParams(n_neurons=9, n_clusters=3, n_bins=120), seed=2)
    base = Params(iterations=6, burn_in=2, chains=1, max_states=3)
    runs = {moves: run([rec], Params(**{**base.to_dict(), "state_moves": moves,
                                        "dynamics_prior_scale": 5.0,
                                        "offset_prior_scale": 50.0,
                                        "noise_moves": 1 if moves == "jumps_merges" else 0}),
                      seed=4)
            for moves in ("ffbs", "all", "jumps_merges")}
    # same seed, other moves: another chain; the result records the settings for a rerun
    assert not np.array_equal(runs["ffbs"].arrays["loglik_trace"],
                              runs["all"].arrays["loglik_trace"])
    assert runs["all"].params["state_moves"] == "all"
    assert runs["jumps_merges"].params["state_moves"] == "jumps_merges"
    assert runs["jumps_merges"].params["noise_moves"] == 1
    assert np.isfinite(runs["jumps_merges"].arrays["loglik_trace"]).all()
    assert runs["all"].params["dynamics_prior_scale"] == 5.0
    assert runs["all"].params["offset_prior_scale"] == 50.0


def test_thinning_keeps_every_neuron_over_its_whole_time_range():
    from neurotools.figures.biclustering import thin_spike_trains

    rng = np.random.default_rng(0)
    busy = np.sort(rng.uniform(0, 100, 50_000))
    sparse = np.sort(rng.uniform(0, 100, 300))
    same, cap = thin_spike_trains([busy[:500], sparse], 1000)
    assert cap is None and len(same[0]) == 500          # under the budget: every spike
    out, cap = thin_spike_trains([busy, sparse, busy[:2000]], 3000)
    assert sum(len(x) for x in out) <= 3000
    assert len(out[1]) == 300                            # a sparse neuron keeps every spike
    assert cap >= 1300 and len(out[0]) <= cap
    for full, kept in ((busy, out[0]), (busy[:2000], out[2])):
        assert set(kept) <= set(full)
        # evenly over time: the kept spikes still span the train (not its first part only)
        assert kept[-1] > full[-1] - 5 * (full[-1] - full[0]) / len(kept)


def test_state_raster_draws_every_spike_of_a_small_recording_by_cluster(paper_fit):
    from neurotools.figures.biclustering import state_raster_figure

    rec, res = paper_fit
    fig = state_raster_figure(res, rec)
    spikes = [tr for tr in fig.data if tr.type == "scattergl"]
    z = res.arrays["neuron_clusters"]
    assert len(spikes) == len(np.unique(z))              # one trace per neuron cluster
    half = float(res.params["bin_size"]) / 2
    lo, hi = res.arrays["bin_times"][0] - half, res.arrays["bin_times"][-1] + half
    drawn = sum(len(tr.x) for tr in spikes)
    assert drawn == sum(int(np.sum((s >= lo) & (s < hi))) for s in rec.spike_times)
    assert "thinned" not in fig.layout.title.text
    assert [t.startswith("cluster ") for t in fig.layout.yaxis2.ticktext] == [True] * len(spikes)


def test_the_coclustering_side_bar_has_a_key_for_each_region(paper_fit):
    from neurotools.figures.biclustering import coclustering_figure, region_columns

    rec, res = paper_fit
    assert "true_cluster" in region_columns(rec)
    fig = coclustering_figure(res, rec, "true_cluster")
    levels = np.unique(np.asarray(rec.unit_table["true_cluster"]).astype(str))
    assert [t.name for t in fig.data if t.type == "scatter"] == [f"true_cluster: {v}" for v in levels]
    side = fig.data[0]
    assert side.zmin == -0.5 and side.zmax == len(levels) - 0.5   # one colour per level
