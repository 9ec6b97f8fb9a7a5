"""MFM coefficients and the label sampler's prior behaviour."""

from fractions import Fraction

import numpy as np
import pytest

from neurotools.analyses.biclustering.dynamics import sample_path_from_prior
from neurotools.analyses.biclustering.mfm import log_prior_n_clusters, log_v_coefficients
from neurotools.analyses.biclustering.sampler import Chain, ModelConfig


def _set_partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _set_partitions(rest):
        for k in range(len(part)):
            yield part[:k] + [[first] + part[k]] + part[k + 1:]
        yield [[first]] + part


def _rising(x, n):
    out = Fraction(1)
    for k in range(n):
        out *= x + k
    return out


def _v_bruteforce(n, t, gamma, r, k_max=400):
    # exact rational sum over K (gamma and r rational), truncated far in the tail
    total = Fraction(0)
    for k in range(t, k_max):
        fall = Fraction(1)
        for j in range(t):
            fall *= k - j
        pk = r * (1 - r) ** (k - 1)
        total += fall / _rising(gamma * k, n) * pk
    return float(total)


@pytest.mark.parametrize("n, gamma, r", [(5, Fraction(1), Fraction(1, 5)), (7, Fraction(1, 2), Fraction(1, 3))])
def test_v_coefficients_equal_the_bruteforce_sum(n, gamma, r):
    log_v = log_v_coefficients(n, float(gamma), float(r))
    for t in range(1, n + 1):
        assert np.exp(log_v[t]) == pytest.approx(_v_bruteforce(n, t, gamma, r), rel=1e-9)


def test_partition_probabilities_sum_to_one_and_give_the_prior_on_t():
    n, gamma, r = 5, 1.0, 0.2
    log_v = log_v_coefficients(n, gamma, r)
    by_t = np.zeros(n + 1)
    for part in _set_partitions(list(range(n))):
        p = np.exp(log_v[len(part)]) * np.prod([float(_rising(Fraction(gamma), len(b))) for b in part])
        by_t[len(part)] += p
    assert by_t.sum() == pytest.approx(1.0, abs=1e-10)
    assert np.allclose(np.exp(log_prior_n_clusters(n, gamma, r)), by_t, atol=1e-10)
    # Bell number check that the enumeration is complete
    assert sum(1 for _ in _set_partitions(list(range(n)))) == 52


def test_prior_on_t_matches_generative_simulation():
    rng = np.random.default_rng(0)
    n, gamma, r = 8, 1.0, 0.2
    ts = []
    for _ in range(40_000):
        k = rng.geometric(r)
        w = rng.dirichlet(np.full(k, gamma))
        ts.append(len(np.unique(rng.choice(k, n, p=w))))
    emp = np.bincount(ts, minlength=n + 1) / len(ts)
    assert np.allclose(np.exp(log_prior_n_clusters(n, gamma, r)), emp, atol=0.01)


@pytest.mark.parametrize("prior,path_prior", [("mfm", "dynamics"), ("dp", "dynamics"),
                                              ("mfm", "g0")])
def test_prior_only_label_sampler_reproduces_the_prior_on_clusters(prior, path_prior):
    # the single-neuron move proposes new paths from G0; under the dynamics prior its
    # correction p(X') / p(X) / G0 must leave K with its MFM (or DP) prior when the paths are
    # refreshed from their own prior between sweeps
    # (with the correction left out, K's distribution is off by 0.57 here)
    n = 4
    rng = np.random.default_rng(1)
    y = rng.poisson(1.0, (n, 2))
    # single-neuron moves only (the split-merge moves have their own test)
    cfg = ModelConfig(prior_only=True, neuron_prior=prior, init_clusters=1, alpha_dp=1.0,
                      split_merge=0, path_prior=path_prior, latent_dim=1, g0_sd=0.6, g0_rho=0.8)
    chain = Chain(y, cfg, rng)
    ks = []
    for _ in range(4000):
        chain.update_labels()
        ks.append(chain.state.K)
        s = chain.state
        T, K, q = s.lat.shape
        if path_prior == "dynamics":
            s.lat = sample_path_from_prior(T, K * q, s.states, rng).reshape(T, K, q)
    emp = np.bincount(ks, minlength=n + 1) / len(ks)
    if prior == "mfm":
        expected = np.exp(log_prior_n_clusters(n, 1.0, 0.2))
    else:  # CRP with alpha = 1: unsigned Stirling numbers / n!
        stirling = np.array([6, 11, 6, 1], float)     # |s(4, t)|, t = 1..4
        expected = np.concatenate([[0], stirling / 24])
    assert np.abs(emp - expected).max() < 0.03


@pytest.mark.parametrize("prior", ["mfm", "dp"])
def test_partition_prior_sums_to_one_over_all_partitions(prior):
    from neurotools.analyses.biclustering.mfm import log_partition_prior

    n, gamma, alpha = 6, 1.5, 0.7
    log_v = log_v_coefficients(n, gamma, 0.2)
    parts = list(_set_partitions(list(range(n))))
    assert len(parts) == 203                              # Bell(6)
    total = sum(np.exp(log_partition_prior(np.array([len(b) for b in p]), prior, gamma, log_v,
                                           alpha)) for p in parts)
    assert total == pytest.approx(1.0, abs=1e-12)
