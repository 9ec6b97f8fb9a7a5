"""The whole analysis on planted motifs: rank selection, communities, factors, baselines, I/O."""

import numpy as np
import pytest

from neurotools.analyses.base import Result
from neurotools.analyses.connectome import Params, SimParams, run, simulate, simulate_animals
from neurotools.errors import UserError

from .helpers import motif_scores

FAST = dict(restarts=2, max_rank=4, iterations=150)


@pytest.fixture(scope="module")
def animals():
    return simulate_animals(SimParams(), seed=0)


@pytest.fixture(scope="module")
def derivative_result(animals):
    return run(animals, Params(**FAST), seed=0)


def test_planted_motifs_rank_communities_and_factors(derivative_result, animals):
    res = derivative_result
    assert res.metrics["rank"] == 3
    s = motif_scores(res.arrays, animals[0].ground_truth, 4.0)
    assert np.all(s["ari"] >= 0.95), s
    assert np.all(s["time_cos"] >= 0.8), s
    assert np.all(s["animal_cos"] >= 0.85), s


def test_result_arrays_follow_the_architecture(derivative_result):
    a = derivative_result.arrays
    R, T = a["time_factors"].shape
    assert a["animal_factors"].shape == (R, 6)
    assert a["pair_factors"].shape == (R, 40 * 39 // 2)
    assert a["communities"].shape == (R, 40)
    assert a["bin_times"].shape == (T,)
    assert np.all(np.diff(a["bin_times"]) > 0)
    assert np.all(a["pair_factors"] >= 0) and np.all(a["time_factors"] >= 0)
    assert a["rank_errors"].shape == (4, 2)
    # the best error decreases with rank
    assert np.all(np.diff(a["rank_errors"][:, 0]) < 0)


def test_correlation_baseline_misses_motifs_the_derivative_finds(animals):
    same = dict(rank=3, restarts=1, iterations=80)
    deriv = motif_scores(run(animals, Params(**same), seed=0).arrays, animals[0].ground_truth, 4.0)
    corr = run(animals, Params(affinity="correlation", **same), seed=0)
    s = motif_scores(corr.arrays, animals[0].ground_truth, 4.0)
    assert np.all(deriv["ari"] >= 0.95), deriv
    assert np.sum(s["ari"] < 0.5) >= 1, s


def test_same_seed_same_arrays_and_save_load_roundtrip(animals, derivative_result, tmp_path):
    again = run(animals, Params(**FAST), seed=0)
    for k, v in derivative_result.arrays.items():
        np.testing.assert_array_equal(v, again.arrays[k], err_msg=k)
    again.save(tmp_path / "r")
    back = Result.load(tmp_path / "r")
    for k, v in again.arrays.items():
        np.testing.assert_array_equal(v, back.arrays[k], err_msg=k)
    assert back.params["affinity"] == "derivative"


def test_missing_neuron_is_masked_not_zero(animals):
    recs = simulate_animals(SimParams(), seed=0)
    tr = recs[1].traces[0]
    drop = 5  # a member of motif 0, which animal 1 expresses
    keep = [j for j in range(40) if j != drop]
    tr.data = tr.data[:, keep]
    tr.channel_labels = [tr.channel_labels[j] for j in keep]
    tr.channel_table = {"label": tr.channel_table["label"][keep]}
    res = run(recs, Params(rank=3, restarts=2, iterations=150), seed=0)
    present = res.arrays["present"]
    assert present.shape == (40, 6)
    assert not present[drop, 1] and present[drop].sum() == 5
    assert list(res.arrays["neuron_labels"]) == [f"n{j:03d}" for j in range(40)]
    assert res.info["masked_pairs"] == 39
    s = motif_scores(res.arrays, recs[0].ground_truth, 4.0)
    assert np.all(s["ari"] >= 0.95), s


def test_one_file_with_trials_through_nwb(tmp_path):
    from neurotools.data import read_nwb
    from neurotools.data.nwb_writer import write_nwb

    rec = simulate(SimParams(), seed=1)
    path = write_nwb(rec, tmp_path / "sim.nwb")
    back = read_nwb(path)
    np.testing.assert_array_equal(back.ground_truth["motif_membership"], rec.ground_truth["motif_membership"])
    res = run([back], Params(**FAST), seed=0)
    assert res.info["third_mode"] == "trials"
    assert res.arrays["animal_factors"].shape[1] == 6
    assert res.metrics["rank"] == 3
    s = motif_scores(res.arrays, back.ground_truth, 4.0)
    assert np.all(s["ari"] >= 0.95), s


def test_spikes_become_rates():
    from neurotools.data.simulate import SpikesSimParams, simulate_spikes

    rec = simulate_spikes(SpikesSimParams(n_units=8, duration_s=60.0, n_trials=0), seed=0)
    res = run([rec], Params(rank=2, restarts=1, iterations=50, bin_size=0.1, window_s=1.0), seed=0)
    assert res.inputs[0]["source"] == "units"
    assert res.arrays["pair_factors"].shape == (2, 28)
    assert res.arrays["bin_times"][0] >= 0


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"rank": "0"}, "'rank' parameter of connectome"),
        ({"rank": "many"}, "'rank' parameter of connectome"),
        ({"affinity": "granger"}, "'affinity' parameter"),
        ({"community": "louvain"}, "'community' parameter"),
        ({"window_s": "0"}, "'window_s' parameter"),
        ({"colour": "red"}, "Unknown parameter 'colour'"),
    ],
)
def test_bad_parameters(settings, match):
    with pytest.raises(UserError, match=match):
        Params.from_strings(settings)


def test_input_errors(animals):
    with pytest.raises(UserError, match="third_mode=trials takes exactly one"):
        run(animals[:2], Params(third_mode="trials", rank=1))
    with pytest.raises(UserError, match="no trials table"):
        run(animals[:1], Params(third_mode="trials", rank=1))
    recs = simulate_animals(SimParams(n_animals=2), seed=0)
    for r in recs:
        r.traces[0].channel_table = {}
    recs[1].traces[0].data = recs[1].traces[0].data[:, :30]
    with pytest.raises(UserError, match="different numbers of neurons"):
        run(recs, Params(rank=1))
    with pytest.raises(UserError, match="too short"):
        run(animals[:1], Params(rank=1, window_s=400.0))


def test_neurons_are_matched_by_label_not_by_position():
    recs = simulate_animals(SimParams(n_animals=3, n_samples=600), seed=2)
    ref = run(recs, Params(rank=2, restarts=1, iterations=40), seed=0)
    perm = np.random.default_rng(0).permutation(40)
    tr = recs[2].traces[0]
    tr.data = tr.data[:, perm]
    tr.channel_labels = [tr.channel_labels[j] for j in perm]
    tr.channel_table = {"label": tr.channel_table["label"][perm]}
    shuffled = run(recs, Params(rank=2, restarts=1, iterations=40), seed=0)
    np.testing.assert_allclose(shuffled.arrays["pair_factors"], ref.arrays["pair_factors"], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(shuffled.arrays["neuron_labels"], ref.arrays["neuron_labels"])


def test_results_do_not_depend_on_the_executor(animals):
    from concurrent.futures import ThreadPoolExecutor

    p = Params(rank=3, restarts=3, iterations=30)
    inline = run(animals, p, seed=5)
    with ThreadPoolExecutor(2) as ex:
        pooled = run(animals, p, seed=5, executor=ex)
    for k in ("time_factors", "pair_factors", "animal_factors", "communities", "rank_errors"):
        np.testing.assert_array_equal(inline.arrays[k], pooled.arrays[k], err_msg=k)


def test_progress_is_reported_and_cancel_stops_the_run(animals):
    from neurotools.errors import Cancelled

    seen = []

    def progress(fraction, message):
        seen.append(fraction)
        if "rank 2" in message:
            raise Cancelled()

    with pytest.raises(Cancelled):
        run(animals, Params(max_rank=4, restarts=1, iterations=20), progress=progress)
    assert seen == sorted(seen) and 0 < seen[-1] < 1
