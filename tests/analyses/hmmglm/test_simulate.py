"""The paper's simulator: statistics, exact re-binning, reproducibility, NWB round trip."""

import numpy as np
import pytest

from neurotools.analyses.hmmglm import SimParams, simulate
from neurotools.analyses.hmmglm.simulate import simulate_counts
from neurotools.data.binning import neural_matrix


def test_paper_simulation_statistics():
    sim = simulate_counts(SimParams(n_sequences=10), seed=0)
    assert sim["counts"].shape == (10, 2000, 20)
    assert 0.38 < sim["counts"].mean() < 0.55  # spec: about 0.46 spikes/bin/neuron
    assert 0.15 < np.mean(sim["types"] != 0) < 0.30  # spec: about 22% non-zero
    np.testing.assert_allclose(np.diag(sim["transition"]), 0.98)
    np.testing.assert_allclose(sim["transition"].sum(1), 1.0)
    np.testing.assert_allclose(sim["weights"], sim["types"] * np.abs(sim["weights"]))
    assert np.abs(sim["weights"]).max() <= np.log(4.0)
    dwell = np.mean(sim["states"][:, 1:] == sim["states"][:, :-1])
    assert dwell == pytest.approx(0.98, abs=0.01)


def test_same_seed_same_recording_and_binning_gives_back_the_counts():
    p = SimParams(n_sequences=3, sequence_bins=200, n_neurons=6, n_states=2)
    a, b, c = simulate(p, 4), simulate(p, 4), simulate(p, 5)
    for x, y in zip(a.spike_times, b.spike_times):
        np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(x, y) for x, y in zip(a.spike_times, c.spike_times))
    m = neural_matrix(a, "auto", p.bin_size)
    counts = simulate_counts(p, 4)["counts"].reshape(-1, 6)
    np.testing.assert_array_equal(m.values, counts)
    np.testing.assert_allclose(m.bin_times, a.ground_truth["state_times"])
    assert a.intervals["trials"].n_rows == 3
    assert all(np.all(np.diff(s) >= 0) for s in a.spike_times)


def test_simulation_survives_the_nwb_writer(tmp_path):
    writer = pytest.importorskip("neurotools.data.nwb_writer")
    from neurotools.data import read_nwb
    p = SimParams(n_sequences=2, sequence_bins=100, n_neurons=4, n_states=2)
    rec = simulate(p, 0)
    path = writer.write_nwb(rec, tmp_path / "sim.nwb")
    back = read_nwb(path)
    assert back.n_spikes == rec.n_spikes
    np.testing.assert_array_equal(back.ground_truth["states"], rec.ground_truth["states"])
    np.testing.assert_array_equal(neural_matrix(back, "auto", 0.05).values,
                                  neural_matrix(rec, "auto", 0.05).values)
