"""Polya-gamma draws: exact moments against the series definition and Monte Carlo."""

import numpy as np
import pytest

from neurotools.analyses.biclustering.polyagamma import pg_mean, pg_var, sample_pg


def _series_moments(b, c, n_terms=200_000):
    k = np.arange(1, n_terms + 1)
    w = 1.0 / (2 * np.pi**2 * ((k - 0.5) ** 2 + c**2 / (4 * np.pi**2)))
    return b * w.sum(), b * (w**2).sum()


@pytest.mark.parametrize("b, c", [(1.0, 0.0), (1.0, 2.5), (3.7, -1.2), (11.0, 7.0), (0.3, 0.5)])
def test_closed_form_moments_match_the_series(b, c):
    m, v = _series_moments(b, c)
    assert pg_mean(b, c) == pytest.approx(m, rel=1e-4)
    assert pg_var(b, c) == pytest.approx(v, rel=1e-4)


@pytest.mark.parametrize("b, c", [(1.0, 0.0), (2.0, 1.5), (10.5, -3.0), (1001.0, -6.9), (0.5, 4.0)])
def test_sampler_reproduces_mean_and_variance(b, c):
    rng = np.random.default_rng(0)
    x = sample_pg(np.full(200_000, b), np.full(200_000, c), rng)
    m, v = pg_mean(b, c), pg_var(b, c)
    assert x.mean() == pytest.approx(m, rel=4 * np.sqrt(v / x.size) / m + 1e-3)
    assert x.var() == pytest.approx(v, rel=0.03)
    assert (x > 0).all()


def test_pg1_laplace_transform_matches_cosh_formula():
    # E[exp(-t w)] = cosh(c/2) / cosh(sqrt(c^2/4 + t/2)) for w ~ PG(1, c): checks the shape beyond
    # two moments (the tail approximation must not distort the distribution).
    rng = np.random.default_rng(1)
    c, t = 1.3, 2.0
    w = sample_pg(np.ones(300_000), np.full(300_000, c), rng)
    exact = np.cosh(c / 2) / np.cosh(np.sqrt(c**2 / 4 + t / 2))
    assert np.exp(-t * w).mean() == pytest.approx(exact, abs=2e-3)
