"""The planted-motif simulator: reproducible, truthful ground truth, checked parameters."""

import numpy as np
import pytest

from neurotools.analyses.connectome import SimParams, simulate, simulate_animals
from neurotools.analyses.connectome.simulate import motif_animals
from neurotools.errors import UserError


def test_same_seed_same_traces_other_seed_differs():
    a = simulate(SimParams(n_animals=2, n_samples=200), seed=3)
    b = simulate(SimParams(n_animals=2, n_samples=200), seed=3)
    c = simulate(SimParams(n_animals=2, n_samples=200), seed=4)
    np.testing.assert_array_equal(a.traces[0].data, b.traces[0].data)
    assert not np.array_equal(a.traces[0].data, c.traces[0].data)


def test_one_file_equals_the_animals_back_to_back():
    p = SimParams(n_animals=3, n_samples=300)
    one = simulate(p, seed=0)
    per = simulate_animals(p, seed=0)
    np.testing.assert_array_equal(one.traces[0].data, np.concatenate([r.traces[0].data for r in per]))
    assert one.intervals["trials"].n_rows == 3
    np.testing.assert_allclose(one.intervals["trials"].start, [0, 75, 150])


def test_ground_truth_describes_the_planted_activity():
    p = SimParams(noise=0.0, private_rate_hz=0.0, slow_drift=0.0)
    rec = simulate_animals(p, seed=0)
    gt = rec[0].ground_truth
    assert gt["motif_membership"].shape == (3, 40)
    assert gt["motif_membership"].sum(1).tolist() == [10, 10, 10]
    # without noise or private events a neuron is active only in its motif's window and animals
    for w, r in enumerate(rec):
        x = r.traces[0].data
        for m in range(3):
            members = gt["motif_membership"][m] > 0
            active = x[:, members].max() > 0
            assert active == bool(gt["motif_animals"][m, w])
            outside = gt["motif_time_indicator"][m] == 0
            first = int(np.argmax(gt["motif_time_indicator"][m]))
            assert np.abs(x[:first, members]).max() == 0 if first > 0 else True
        assert np.abs(x[:, 30:]).max() == 0  # background neurons are silent here
        assert outside.any()


def test_motif_animal_sets_are_distinct():
    a = motif_animals(3, 6)
    assert a.sum(1).tolist() == [4, 4, 4]
    assert len({tuple(r) for r in a}) == 3


def test_motifs_must_fit():
    with pytest.raises(UserError, match="do not fit"):
        SimParams(n_neurons=20)
