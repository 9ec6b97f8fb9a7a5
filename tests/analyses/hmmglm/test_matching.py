"""Hungarian state matching equals brute force over permutations."""

import itertools

import numpy as np

from neurotools.analyses.hmmglm.matching import match_cost, match_states, match_weights


def test_hungarian_matches_brute_force_k5():
    rng = np.random.default_rng(0)
    for _ in range(20):
        cost = rng.normal(size=(5, 5))
        best = min(itertools.permutations(range(5)), key=lambda p: sum(cost[i, p[i]] for i in range(5)))
        perm = match_cost(cost)
        assert sum(cost[i, perm[i]] for i in range(5)) == sum(cost[i, best[i]] for i in range(5))


def test_permuted_labels_are_recovered_exactly():
    rng = np.random.default_rng(1)
    z = rng.integers(0, 5, size=500)
    relabel = np.array([3, 0, 4, 1, 2])
    perm, acc = match_states(z, relabel[z], 5)
    np.testing.assert_array_equal(perm, relabel)
    assert acc == 1.0
    w = rng.normal(size=(5, 4, 4))
    np.testing.assert_array_equal(match_weights(w, w[np.argsort(relabel)]), relabel)
