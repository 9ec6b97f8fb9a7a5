"""Collapsed state move: (A, b, Q) integrated out of the state update.

The Student-t predictives chained over a regime's moves equal the closed-form MNIW marginal, and
the collapsed Gibbs sweep reproduces the exact posterior of the state path (all 2^4 move paths
enumerated; bin 0 shares bin 1's state) on a tiny problem.
"""

import itertools

import numpy as np

from neurotools.analyses.biclustering.dynamics import mniw_log_marginal, sample_states_collapsed


def _log_post(path, X, trans):
    Z = np.hstack([X[:-1], np.ones((len(X) - 1, 1))])
    Y = X[1:]
    v = sum(np.log(trans[path[t - 1], path[t]]) for t in range(2, len(X)))   # uniform first move
    for k in range(trans.shape[0]):
        m = path[1:] == k
        if m.any():
            v += mniw_log_marginal(Y[m], Z[m])
    return v


def test_mniw_marginal_does_not_depend_on_the_order_of_the_moves():
    rng = np.random.default_rng(3)
    X = rng.normal(0, 0.5, (6, 2))
    Z = np.hstack([X[:-1], np.ones((5, 1))])
    # the chain rule: p(Y) = p(Y_1) p(Y_2 | Y_1) and the marginal does not depend on the order
    perm = rng.permutation(5)
    assert np.isclose(mniw_log_marginal(X[1:], Z), mniw_log_marginal(X[1:][perm], Z[perm]))
    assert np.isfinite(mniw_log_marginal(X[1:2], Z[:1]))


def test_collapsed_state_sweep_samples_the_exact_path_posterior():
    rng = np.random.default_rng(0)
    T, D, L = 5, 2, 2
    X = rng.normal(0, 0.5, (T, D))
    trans = np.array([[0.7, 0.3], [0.4, 0.6]])
    paths = [(p[0],) + p for p in itertools.product(range(L), repeat=T - 1)]   # bin 0 = bin 1
    lp = np.array([_log_post(np.array(p), X, trans) for p in paths])
    exact = np.exp(lp - lp.max())
    exact /= exact.sum()
    index = {p: i for i, p in enumerate(paths)}
    counts = np.zeros(len(paths))
    states = np.zeros(T, np.int64)
    n = 20000
    for _ in range(n):
        states = sample_states_collapsed(X, states, trans, rng)
        counts[index[tuple(states)]] += 1
    freq = counts / n
    se = np.sqrt(exact * (1 - exact) / n) * 4          # autocorrelation allowance
    assert np.all(np.abs(freq - exact) < 5 * se + 2e-3), np.c_[freq, exact]
    assert 0.5 * np.abs(freq - exact).sum() < 0.03
