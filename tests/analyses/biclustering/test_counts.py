"""NB pieces: likelihood, CRT counts, and a Geweke test of the dispersion step."""

import numpy as np
import pytest
from scipy import stats

from neurotools.analyses.biclustering.counts import (
    nb_loglik,
    poisson_loglik,
    sample_crt,
    sample_dispersion,
)


def test_nb_loglik_matches_scipy_parameterisation():
    y = np.arange(0, 20)
    mu, r = 3.3, 2.5
    ref = stats.nbinom(r, r / (r + mu)).logpmf(y)
    assert np.allclose(nb_loglik(y, np.log(mu), r), ref)
    assert np.allclose(poisson_loglik(y, np.log(mu)), stats.poisson(mu).logpmf(y))


def test_crt_mean_is_the_harmonic_sum():
    rng = np.random.default_rng(0)
    n = np.full(50_000, 12)
    a = np.full(50_000, 2.5)
    draws = sample_crt(n, a, rng)
    exact = (2.5 / (2.5 + np.arange(12))).sum()
    assert draws.mean() == pytest.approx(exact, abs=0.02)
    assert sample_crt(np.zeros(3, int), np.ones(3), rng).tolist() == [0, 0, 0]


@pytest.mark.parametrize("rw_steps", [0, 3])
def test_dispersion_step_geweke(rw_steps):
    # Successive-conditional simulation: y | r from the model, r | y from the sampler step. If
    # the step leaves p(r | y) invariant, r keeps its Gamma(1, 1) prior marginal.
    rng = np.random.default_rng(0)
    n_chains, T = 3000, 8
    mu = np.exp(rng.normal(0.5, 0.7, (n_chains, T)))
    r = rng.gamma(1.0, 1.0, n_chains)
    acc = []
    for _ in range(40):
        y = rng.poisson(rng.gamma(r[:, None], mu / r[:, None]))
        r, a = sample_dispersion(y, mu, r, rng, rw_steps=rw_steps)
        acc.append(a.mean())
    assert stats.kstest(r, stats.gamma(1.0).cdf).pvalue > 0.001
    assert np.mean(acc) > 0.3
    # a deliberately wrong kernel (no MH correction) must fail the same test
    rng = np.random.default_rng(0)
    r = rng.gamma(1.0, 1.0, n_chains)
    for _ in range(40):
        y = rng.poisson(rng.gamma(r[:, None], mu / r[:, None]))
        sum_l = sample_crt(y, np.repeat(r[:, None], T, 1), rng).sum(1)
        r = rng.standard_gamma(1 + sum_l) / (1 + np.log1p(mu / r[:, None]).sum(1))
    assert stats.kstest(r, stats.gamma(1.0).cdf).pvalue < 0.001
