"""State sampler: FFBS against enumeration of all paths; sticky-HDP rows; AR likelihoods."""

import itertools

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from neurotools.analyses.biclustering.hmm import (
    ar_loglik,
    forward_backward_sample,
    sample_dirichlet,
    sample_sticky_hdp,
)


def test_ffbs_matches_enumeration_of_paths():
    rng = np.random.default_rng(0)
    T, L = 4, 3
    loglik = rng.normal(0, 1.0, (T, L))
    trans = sample_dirichlet(np.ones((L, L)) * 2, rng)
    init = np.array([0.5, 0.3, 0.2])
    paths = list(itertools.product(range(L), repeat=T))
    logp = []
    for p in paths:
        lp = np.log(init[p[0]]) + loglik[0, p[0]]
        for t in range(1, T):
            lp += np.log(trans[p[t - 1], p[t]]) + loglik[t, p[t]]
        logp.append(lp)
    logp = np.array(logp)
    exact = np.exp(logp - logp.max())
    exact /= exact.sum()
    n = 30000
    counts = {}
    for _ in range(n):
        s, logz = forward_backward_sample(loglik, trans, init, rng)
        counts[tuple(s)] = counts.get(tuple(s), 0) + 1
    emp = np.array([counts.get(p, 0) / n for p in paths])
    assert np.abs(emp - exact).max() < 4 * np.sqrt(exact.max() / n)
    assert logz == pytest.approx(np.log(np.exp(logp).sum()), rel=1e-10)


def test_ar_loglik_matches_scipy():
    rng = np.random.default_rng(1)
    T, D, L = 6, 3, 2
    X = rng.standard_normal((T, D))
    A = rng.normal(0, 0.5, (L, D, D))
    b = rng.standard_normal((L, D))
    Q = np.stack([np.eye(D) * 0.3 + 0.1 * np.outer(v, v) for v in rng.standard_normal((L, D))])
    ll = ar_loglik(X, A, b, Q)
    assert np.all(ll[0] == 0)
    for t in range(1, T):
        for k in range(L):
            ref = multivariate_normal(b[k] + A[k] @ X[t - 1], Q[k]).logpdf(X[t])
            assert ll[t, k] == pytest.approx(ref, rel=1e-10)


def test_sticky_hdp_rows_follow_counts_and_stickiness():
    rng = np.random.default_rng(2)
    L = 5
    states = np.repeat([0, 1, 0, 2], 200)
    beta = np.full(L, 1.0 / L)
    rows, betas = [], []
    for _ in range(300):
        beta, trans = sample_sticky_hdp(states, beta, 5.0, 5.0, 10.0, rng)
        rows.append(trans)
        betas.append(beta)
    trans = np.mean(rows, 0)
    beta = np.mean(betas, 0)
    assert np.allclose(trans.sum(1), 1)
    assert trans[0, 0] > 0.97 and trans[1, 1] > 0.97
    assert beta[3] + beta[4] < beta[0]          # unused states lose global weight
