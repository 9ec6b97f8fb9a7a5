"""The paper's simulation: structure, reproducibility, and exact binning back to counts."""

import numpy as np
import pytest

from neurotools.analyses.biclustering import SimParams, simulate
from neurotools.data.binning import neural_matrix
from neurotools.errors import UserError


def test_paper_simulation_structure_and_reproducibility():
    rec = simulate(SimParams(), seed=0)
    gt = rec.ground_truth
    assert rec.n_units == 30
    assert np.bincount(gt["neuron_clusters"]).tolist() == [10, 10, 10]
    states = gt["state_sequence"]
    n_segments = 1 + int((np.diff(states) != 0).sum())
    assert 6 <= n_segments <= 14 and set(states) == {0, 1}
    assert gt["latents"].shape == (500, 3, 3)
    again = simulate(SimParams(), seed=0)
    for k in gt:
        assert np.array_equal(gt[k], again.ground_truth[k])
    assert all(np.array_equal(a, b) for a, b in zip(rec.spike_times, again.spike_times))
    other = simulate(SimParams(), seed=1)
    assert not np.array_equal(gt["counts"], other.ground_truth["counts"])


def test_spikes_bin_back_to_the_simulated_counts():
    rec = simulate(SimParams(n_bins=80, n_neurons=6, n_clusters=2), seed=3)
    nm = neural_matrix(rec, "units", 0.1)
    assert np.array_equal(nm.values, rec.ground_truth["counts"])
    assert np.allclose(nm.bin_times, 0.05 + 0.1 * np.arange(80))
    assert rec.intervals["states"].start[0] == 0.0


def test_nb_counts_are_overdispersed():
    rec = simulate(SimParams(n_bins=3000, mean_duration=3000.0, dispersion=2.0), seed=0)
    y = rec.ground_truth["counts"]
    mu = np.exp(rec.ground_truth["d"])
    # in state 0 the latents are ~0, so counts are NB(mu_i e^~0, r=2): variance > mean
    assert (y.var(0) > 1.2 * y.mean(0)).mean() > 0.8
    assert mu.shape == (30,)


def test_bad_simulation_parameters_are_user_errors():
    with pytest.raises(UserError, match="n_clusters"):
        SimParams(n_neurons=3, n_clusters=5)
    with pytest.raises(UserError, match="dispersion"):
        SimParams.from_strings({"dispersion": "-1"})
