"""Weighted SBM and Leiden on planted weighted partitions; the ARI itself."""

import time

import numpy as np
import pytest

from neurotools.analyses.connectome.communities import (
    adjusted_rand_index,
    core_community,
    detect,
    pairs_to_matrix,
)
from neurotools.analyses.connectome.wsbm import fit_wsbm


def planted_partition(n, k, seed, w_in=1.0, w_out=0.3):
    rng = np.random.default_rng(seed)
    z = rng.permutation(np.arange(n) % k)
    mean = np.where(z[:, None] == z[None, :], w_in, w_out)
    W = np.triu(rng.exponential(mean), 1)
    return W + W.T, z


@pytest.mark.parametrize("n, k, seed", [(60, 3, 0), (90, 4, 1), (120, 5, 2), (150, 6, 3), (150, 3, 4)])
def test_wsbm_recovers_planted_partition(n, k, seed):
    W, z = planted_partition(n, k, seed)
    fit = fit_wsbm(W, seed=seed)
    assert fit.n_groups == k
    assert adjusted_rand_index(z, fit.labels) >= 0.95
    # within-group mean weights recovered (exponential means 1.0 vs 0.3)
    assert np.allclose(np.diag(fit.mean_weight), 1.0, atol=0.25)
    assert np.allclose(fit.mean_weight[~np.eye(k, dtype=bool)], 0.3, atol=0.08)


def test_wsbm_complete_150_node_graph_under_5_seconds():
    W, z = planted_partition(150, 5, 11)
    t0 = time.perf_counter()
    fit = fit_wsbm(W, seed=0)
    assert time.perf_counter() - t0 < 5.0
    assert adjusted_rand_index(z, fit.labels) >= 0.95


def test_wsbm_sparse_weights_and_no_structure():
    rng = np.random.default_rng(5)
    # a dense clique of 10 among 40 otherwise unconnected nodes
    W = np.zeros((40, 40))
    W[:10, :10] = rng.exponential(1.0, (10, 10))
    W = np.triu(W, 1) + np.triu(W, 1).T
    lab = fit_wsbm(W, seed=0).labels
    assert adjusted_rand_index(np.arange(40) < 10, lab) == 1.0
    assert core_community(W, lab) == lab[0]
    # i.i.d. weights: one group
    U = np.triu(rng.exponential(1.0, (60, 60)), 1)
    assert fit_wsbm(U + U.T, seed=0).n_groups == 1


@pytest.mark.parametrize("n, k, seed", [(60, 3, 0), (150, 6, 3)])
def test_leiden_baseline_on_planted_partition(n, k, seed):
    W, z = planted_partition(n, k, seed, w_out=0.2)
    assert adjusted_rand_index(z, detect(W, "leiden", seed=0)) >= 0.95


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ([0, 0, 1, 1], [1, 1, 0, 0], 1.0),
        ([0, 0, 1, 1], [0, 1, 0, 1], -0.5),
        ([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2], 0.24242424242424243),
    ],
)
def test_adjusted_rand_index_by_hand(a, b, expected):
    assert adjusted_rand_index(a, b) == pytest.approx(expected)


def test_pairs_to_matrix_uses_triu_order():
    n = 5
    iu = np.triu_indices(n, 1)
    vals = np.arange(len(iu[0])) + 1.0
    M = pairs_to_matrix(vals, n)
    assert M[1, 3] == M[3, 1] == vals[np.flatnonzero((iu[0] == 1) & (iu[1] == 3))[0]]
    assert np.all(np.diag(M) == 0)
    with pytest.raises(ValueError):
        pairs_to_matrix(vals[:-1], n)
