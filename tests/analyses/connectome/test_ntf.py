"""HALS non-negative CP: planted recovery, monotone objective, seeds, masks, backends."""

import numpy as np
import pytest

from neurotools.analyses.connectome.ntf import cp_to_tensor, ncp_hals
from neurotools.analyses.connectome.selection import factor_match
from neurotools.errors import UserError


def planted(shape, rank, noise, seed=0):
    rng = np.random.default_rng(seed)
    factors = [rng.random((n, rank)) for n in shape]
    X = cp_to_tensor(np.ones(rank), factors)
    E = rng.standard_normal(X.shape)
    E *= noise * np.linalg.norm(X) / np.linalg.norm(E)
    return np.maximum(X + E, 0.0), factors


def test_planted_rank10_with_10pct_noise_is_recovered():
    X, truth = planted((60, 60, 100, 4), 10, 0.10)
    fits = [ncp_hals(X, 10, n_iter=400, tol=1e-7, seed=s) for s in range(3)]
    best = min(fits, key=lambda f: f.rel_error)
    score, _, _ = factor_match(best.factors, truth)
    assert score >= 0.98, score
    # the fit explains the signal down to the noise level
    assert best.rel_error < 0.12


def test_objective_never_increases():
    X, _ = planted((30, 40, 5), 4, 0.2, seed=1)
    fit = ncp_hals(X, 6, n_iter=150, tol=0, seed=3)
    obj = fit.objective
    assert len(obj) == 150
    assert np.all(np.diff(obj) <= 1e-10 * obj[0]), np.max(np.diff(obj))
    # the cheap objective equals the directly computed residual
    direct = np.sum((X - fit.reconstruct()) ** 2)
    assert obj[-1] == pytest.approx(direct, rel=1e-8)


def test_masked_objective_never_increases_and_ignores_missing_entries():
    X, truth = planted((40, 50, 4), 3, 0.0, seed=2)
    mask = np.ones((40, 1, 4), bool)
    mask[:10, 0, 1] = False
    corrupted = X.copy()
    corrupted[:10, :, 1] = 1000.0  # garbage where the mask says "missing"
    fit = ncp_hals(corrupted, 3, mask=mask, n_iter=300, tol=0, seed=0)
    assert np.all(np.diff(fit.objective) <= 1e-10 * fit.objective[0])
    score, _, _ = factor_match(fit.factors, truth)
    assert score > 0.99
    # the missing block is predicted from the rest, not from the garbage
    rec = fit.reconstruct()
    assert np.abs(rec[:10, :, 1] - X[:10, :, 1]).max() < 0.05 * X.max()


def test_same_seed_same_factors_and_other_seed_differs():
    X, _ = planted((20, 30, 3), 3, 0.3, seed=4)
    a = ncp_hals(X, 3, n_iter=20, tol=0, seed=7)
    b = ncp_hals(X, 3, n_iter=20, tol=0, seed=7)
    c = ncp_hals(X, 3, n_iter=20, tol=0, seed=8)
    for fa, fb in zip(a.factors, b.factors):
        np.testing.assert_array_equal(fa, fb)
    assert not np.array_equal(a.factors[0], c.factors[0])


def test_pytorch_backend_matches_numpy():
    X, _ = planted((25, 30, 3), 3, 0.1, seed=5)
    a = ncp_hals(X, 3, n_iter=30, tol=0, seed=1, backend="numpy")
    b = ncp_hals(X, 3, n_iter=30, tol=0, seed=1, backend="pytorch")
    for fa, fb in zip(a.factors, b.factors):
        np.testing.assert_allclose(fa, fb, atol=1e-8)
    np.testing.assert_allclose(a.objective, b.objective, rtol=1e-9)


def test_two_way_is_nmf():
    rng = np.random.default_rng(0)
    W, H = rng.random((50, 4)), rng.random((40, 4))
    fit = ncp_hals(W @ H.T, 4, n_iter=500, tol=1e-10, seed=0)
    assert fit.rel_error < 1e-3


@pytest.mark.parametrize(
    "X, rank, match",
    [
        (np.ones(5), 1, "at least 2 modes"),
        (-np.ones((3, 3)), 1, "non-negative"),
        (np.zeros((3, 3)), 1, "all zeros"),
        (np.ones((3, 3)), 0, "positive integer"),
    ],
)
def test_bad_input_raises_user_error(X, rank, match):
    with pytest.raises(UserError, match=match):
        ncp_hals(X, rank)


@pytest.mark.parametrize("shape", [(30, 40, 1), (30, 1, 6), (1, 20, 5), (15, 12, 1, 3)])
def test_modes_of_size_one(shape):
    X, _ = planted(shape, 2, 0.3, seed=6)
    fit = ncp_hals(X, 3, n_iter=60, tol=0, seed=0)
    assert np.all(np.diff(fit.objective) <= 1e-10 * fit.objective[0])
    assert fit.objective[-1] == pytest.approx(np.sum((X - fit.reconstruct()) ** 2), rel=1e-8)
