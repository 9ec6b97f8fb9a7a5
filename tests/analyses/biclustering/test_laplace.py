"""Laplace marginal of a neuron under candidate paths: quadrature, batching and chunking."""

import numpy as np
import pytest
from scipy.special import logsumexp

from neurotools.analyses.biclustering import laplace
from neurotools.analyses.biclustering.counts import nb_loglik, poisson_loglik
from neurotools.analyses.biclustering.laplace import laplace_loadings


def _quadrature_log_marginal(y, d, r, path, nb):
    """log int prod_t p(y_t | d + mu_t + c x_t) N(c; 0, 1) dc on a fine grid (p = 1)."""
    grid = np.linspace(-6, 6, 24001)
    eta = d + path[None, :, 0] + grid[:, None] * path[None, :, 1]
    ll = (nb_loglik(y[None], eta, r) if nb else poisson_loglik(y[None], eta)).sum(1)
    log_prior = -0.5 * grid**2 - 0.5 * np.log(2 * np.pi)
    return float(logsumexp(ll + log_prior) + np.log(grid[1] - grid[0]))


@pytest.mark.parametrize("nb", [True, False])
def test_laplace_marginal_matches_quadrature(nb):
    rng = np.random.default_rng(0)
    T = 200
    paths = rng.normal(0, 0.4, (3, T, 2))
    y = rng.poisson(np.exp(0.5 + paths[0, :, 0] + 0.7 * paths[0, :, 1]))[None].astype(float)
    logml, mode, cov = laplace_loadings(y, np.array([0.5]), np.array([8.0]), paths[None], nb)
    exact = [_quadrature_log_marginal(y[0], 0.5, 8.0, paths[m], nb) for m in range(3)]
    # a 200-bin likelihood makes the loading's posterior close to Gaussian
    np.testing.assert_allclose(logml[0], exact, atol=0.02)
    assert mode.shape == (1, 3, 1) and cov.shape == (1, 3, 1, 1)
    assert abs(mode[0, 0, 0] - 0.7) < 0.3          # the generating path finds its loading
    assert np.argmax(logml[0]) == 0                 # and is the most likely candidate


def test_batched_and_chunked_equal_one_neuron_at_a_time(monkeypatch):
    rng = np.random.default_rng(1)
    B, M, T, q = 7, 3, 120, 3
    y = rng.poisson(2.0, (B, T)).astype(float)
    d, r = rng.normal(0, 0.3, B), rng.uniform(2, 20, B)
    shared = rng.normal(0, 0.3, (1, M, T, q))
    own = rng.normal(0, 0.3, (B, M, T, q))
    for cand in (shared, own):
        batched = laplace_loadings(y, d, r, cand)
        for b in range(B):
            single = laplace_loadings(y[b:b + 1], d[b:b + 1], r[b:b + 1],
                                      cand[:1] if cand.shape[0] == 1 else cand[b:b + 1])
            for x, s in zip(batched, single):
                np.testing.assert_allclose(x[b], s[0], rtol=1e-9, atol=1e-9)
        monkeypatch.setattr(laplace, "CHUNK_ELEMENTS", 2 * M * T)      # chunks of 2 neurons
        chunked = laplace_loadings(y, d, r, cand)
        monkeypatch.undo()
        for x, s in zip(batched, chunked):
            np.testing.assert_allclose(x, s, rtol=1e-9, atol=1e-9)
