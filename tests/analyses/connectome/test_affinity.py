"""Affinity functions: what scores high, what scores zero, shapes and pair order."""

import numpy as np
import pytest

from neurotools.analyses.connectome.affinity import (
    AFFINITIES,
    correlation_affinity,
    derivative_affinity,
    n_bins,
)

FS = 10.0


def bumps(times, T=600, tau=1.0):
    t = np.arange(T) / FS
    x = np.zeros(T)
    for t0 in times:
        x += np.where(t >= t0, np.exp(-(t - t0) / tau) * (1 - np.exp(-(t - t0) / 0.2)), 0.0)
    return x


def pair_value(A, n, i, j):
    iu = np.triu_indices(n, 1)
    k = np.flatnonzero((iu[0] == i) & (iu[1] == j))[0]
    return A[k]


def test_derivative_affinity_scores_co_rising_pairs_only():
    rng = np.random.default_rng(0)
    a = bumps([10, 30, 50])
    b = 0.5 * bumps([10, 30, 50])  # same moments, other amplitude
    c = bumps([20, 40])  # other moments
    flat = np.zeros(600)
    X = np.stack([a, b, c, flat], axis=1)
    X[:, :3] += 0.01 * rng.standard_normal((600, 3))
    A = derivative_affinity(X, FS, smooth_s=0.2, window_s=1.0, step=5)
    assert A.shape == (6, n_bins(600, 5))
    assert np.all(A >= 0)
    ab = pair_value(A, 4, 0, 1).sum()
    ac = pair_value(A, 4, 0, 2).sum()
    ad = pair_value(A, 4, 0, 3).sum()
    assert ab > 10 * ac
    assert ab > 10 * ad
    # the affinity of (a, b) sits at the shared events (t = 10, 30, 50 s)
    t = (np.arange(A.shape[1]) * 5 + 2) / FS
    prof = pair_value(A, 4, 0, 1)
    peak = t[np.argmax(prof)]
    assert min(abs(peak - e) for e in (10, 30, 50)) < 3
    assert prof[t < 6].max() < 0.05 * prof.max()


def test_constant_trace_has_zero_affinity():
    X = np.stack([bumps([5, 15]), np.full(600, 3.0)], axis=1)
    for fn in AFFINITIES.values():
        A = fn(X, FS, 0.2, 1.0, 4)
        assert np.all(A == 0)


def test_correlation_affinity_is_clipped_correlation():
    rng = np.random.default_rng(1)
    s = rng.standard_normal(400)
    X = np.stack([s, s + 0.01 * rng.standard_normal(400), -s], axis=1)
    A = correlation_affinity(X, FS, 0.0, 2.0, 4)
    assert np.all((A >= 0) & (A <= 1))
    assert pair_value(A, 3, 0, 1).mean() > 0.95  # identical signals
    assert pair_value(A, 3, 0, 2).max() == 0.0  # anti-correlated -> clipped


@pytest.mark.parametrize("fn", list(AFFINITIES.values()))
def test_shapes_and_pair_order(fn):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((203, 7))
    A = fn(X, 4.0, 0.5, 2.0, 4)
    assert A.shape == (21, 50)
    # swapping two neurons permutes pairs exactly as triu_indices predicts
    Xs = X[:, [1, 0, 2, 3, 4, 5, 6]]
    As = fn(Xs, 4.0, 0.5, 2.0, 4)
    np.testing.assert_allclose(pair_value(A, 7, 0, 3), pair_value(As, 7, 1, 3))
