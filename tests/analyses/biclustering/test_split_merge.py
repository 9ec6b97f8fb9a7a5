"""Split-merge moves of the neuron clusters: the proposal's density and invariance of the target.

With the likelihood switched off (``prior_only``) the target of the label moves is the partition
prior times the prior of the cluster paths (the switching dynamics with (A, b, Q) integrated out,
or independent base measures with ``path_prior="g0"``), so split-merge moves alternated with exact
refreshes of the paths from that prior must visit the 52 partitions of 5 neurons with their exact
MFM (or DP) probabilities. With the likelihood on, a neuron-level check: a
merged start of two well-separated simulated clusters is split.
"""

import itertools
from math import factorial

import numpy as np
import pytest

from neurotools.analyses.biclustering.dynamics import sample_path_from_prior
from neurotools.analyses.biclustering.mfm import log_v_coefficients
from neurotools.analyses.biclustering.sampler import Chain, ModelConfig
from neurotools.analyses.biclustering.splitmerge import (
    g0_banded,
    g0_logpdf,
    laplace_path_proposal,
    split_merge_move,
)
from neurotools.analyses.biclustering.summaries import adjusted_rand


def _canonical(z):
    seen = {}
    return tuple(seen.setdefault(v, len(seen)) for v in z)


def _exact_partition_probs(n, prior, gamma=1.0, r_k=0.2, alpha=1.0):
    log_v = log_v_coefficients(n, gamma, r_k)
    out = {}
    for z in itertools.product(range(n), repeat=n):
        c = _canonical(z)
        if c in out:
            continue
        sizes = np.bincount(c)
        if prior == "mfm":   # gamma = 1: rising factorial 1^(n) = n!
            w = np.exp(log_v[len(sizes)]) * np.prod([factorial(m) for m in sizes])
        else:
            w = alpha ** len(sizes) * np.prod([factorial(m - 1) for m in sizes])
        out[c] = w
    total = sum(out.values())
    return {k: v / total for k, v in out.items()}


def test_path_proposal_density_matches_its_draws_and_the_dense_gaussian():
    rng = np.random.default_rng(0)
    T, q, rho, sd = 6, 2, 0.9, 0.4
    y = rng.poisson(2.0, (3, T))
    ell = np.c_[np.ones(3), rng.normal(0, 1, (3, q - 1))]
    d, r = np.log(2.0) + np.zeros(3), np.full(3, 5.0)
    prop = laplace_path_proposal(y, d, r, ell, np.zeros((T, q)), rho, sd, n_newton=12)
    # dense prior precision (time-major) and the exact mode of the log posterior
    lag = np.abs(np.subtract.outer(np.arange(T), np.arange(T)))
    P1 = np.linalg.inv(sd**2 * rho**lag)
    prior = np.kron(P1, np.eye(q))
    assert np.allclose(_dense(g0_banded(T, q, rho, sd), q), prior)

    def grad(x):
        eta = d[:, None] + ell @ x.reshape(T, q).T
        mu = np.exp(eta)
        g = y - (y + r[:, None]) * mu / (mu + r[:, None])
        return (g.T @ ell).reshape(-1) - prior @ x

    assert np.abs(grad(prop.mean.reshape(-1))).max() < 1e-8
    x = rng.normal(0, 0.5, (T, q))
    prec = _dense(prop_ab(prop), q)
    v = (x - prop.mean).reshape(-1)
    dense = -0.5 * v @ prec @ v + 0.5 * np.linalg.slogdet(prec)[1] - 0.5 * T * q * np.log(2 * np.pi)
    assert prop.logpdf(x) == pytest.approx(dense, rel=1e-10)
    g0 = -0.5 * x.reshape(-1) @ prior @ x.reshape(-1) - 0.5 * q * np.linalg.slogdet(
        2 * np.pi * sd**2 * rho**lag)[1]
    assert g0_logpdf(x, rho, sd) == pytest.approx(g0, rel=1e-10)
    draws = np.array([prop.sample(rng).reshape(-1) for _ in range(20000)])
    assert np.allclose(draws.mean(0), prop.mean.reshape(-1), atol=0.03)
    assert np.allclose(np.cov(draws.T), np.linalg.inv(prec), atol=0.03)


def _dense(ab, q):
    n = ab.shape[1]
    out = np.zeros((n, n))
    for k in range(q + 1):
        idx = np.arange(k, n)
        out[idx - k, idx] = ab[q - k, k:]
        out[idx, idx - k] = ab[q - k, k:]
    return out


def prop_ab(prop):
    """The precision of a proposal back in banded form, from its Cholesky factor."""
    U = _dense_upper(prop.U, prop.u)
    return _banded(U.T @ U, prop.u)


def _dense_upper(cb, u):
    n = cb.shape[1]
    out = np.zeros((n, n))
    for k in range(u + 1):
        idx = np.arange(k, n)
        out[idx - k, idx] = cb[u - k, k:]
    return out


def _banded(M, u):
    n = len(M)
    ab = np.zeros((u + 1, n))
    for k in range(u + 1):
        idx = np.arange(k, n)
        ab[u - k, k:] = M[idx - k, idx]
    return ab


def refresh_paths_from_prior(chain):
    """Exact Gibbs refresh of every cluster path given the partition, with no likelihood."""
    s = chain.state
    T, K, q = s.lat.shape
    if chain.cfg.path_prior == "g0":
        s.lat = np.stack([chain._g0_draw() for _ in range(K)], 1)
    else:
        s.lat = sample_path_from_prior(T, K * q, s.states, chain.rng).reshape(T, K, q)


@pytest.mark.parametrize("prior,path_prior", [("mfm", "dynamics"), ("dp", "dynamics"),
                                              ("mfm", "g0")])
def test_prior_only_split_merge_samples_the_exact_partition_prior(prior, path_prior):
    # with the paths refreshed from their prior, the partition must follow p(z) exactly; under
    # the dynamics prior the move's path ratio p(X_split) / p(X_merged) does not cancel, so a
    # wrong ratio shows up as a wrong partition distribution
    # (2 bins under the dynamics prior, where the proposals mix well enough; with the path
    # ratio left out, frequencies are off by 0.66 there)
    n, T = 5, (6 if path_prior == "g0" else 2)
    rng = np.random.default_rng(3)
    cfg = ModelConfig(prior_only=True, neuron_prior=prior, latent_dim=1, init_clusters=1,
                      g0_rho=0.8, g0_sd=0.5 if path_prior == "g0" else 0.6,
                      path_prior=path_prior)
    chain = Chain(rng.poisson(2.0, (n, T)), cfg, rng)
    exact = _exact_partition_probs(n, prior)
    counts = dict.fromkeys(exact, 0)
    n_iter = 8000
    for _ in range(n_iter):
        split_merge_move(chain)
        refresh_paths_from_prior(chain)
        counts[_canonical(chain.state.z)] += 1
    freq = np.array([counts[k] / n_iter for k in exact])
    p = np.array(list(exact.values()))
    assert len(exact) == 52
    se = np.sqrt(p * (1 - p) / n_iter)
    assert np.all(np.abs(freq - p) < 8 * se + 2e-3), np.c_[freq, p]


def test_split_merge_splits_a_merged_start_that_single_neuron_moves_keep():
    # three clusters of 4 neurons with distinct rate profiles; one factor per cluster cannot
    # hold all three, but the chain starts with everything in one cluster
    rng = np.random.default_rng(0)
    t = np.arange(200)
    profiles = np.stack([np.sin(2 * np.pi * t / 50), np.cos(2 * np.pi * t / 80),
                         0.8 * np.sign(np.sin(2 * np.pi * t / 120))])
    truth = np.repeat([0, 1, 2], 4)
    y = rng.poisson(np.exp(0.5 + profiles[truth]))
    ks = {}
    for moves in (0, 3):
        cfg = ModelConfig(init_clusters=1, latent_dim=1, max_states=3, split_merge=moves)
        chain = Chain(y, cfg, np.random.default_rng(1))
        for _ in range(30):
            chain.step()
        ks[moves] = chain.state.K
        counts = chain.move_counts
        if moves:
            assert adjusted_rand(truth, chain.state.z) > 0.4
            # every accepted split adds a cluster, every accepted merge or emptied one removes one
            assert counts["split"][1] >= 1
            assert counts["split"][0] + counts["merge"][0] == 30 * moves
        assert all(0 <= a <= p for p, a in counts.values())
    assert ks[0] == 1 and ks[3] >= 2
