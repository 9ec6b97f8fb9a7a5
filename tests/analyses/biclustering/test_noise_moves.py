"""Scale moves of the state noises with the latent path integrated out: exact, by a Geweke test.

A tiny linear-Gaussian model (2 states, D = 2, 10 bins, Gaussian observations of the path): the
chain alternates fresh observations given the path, the noise move (``Q`` given the
observations, path integrated), the path from its conditional (banded FFBS) and ``Q`` from its
inverse-Wishart conditional given the path (as the sampler does; the move alone changes only the
size of ``Q``, not its shape). Its stationary marginal of
``Q`` is then the prior of ``Q`` given ``(A, b)``, an inverse-Wishart that is sampled exactly here.
A move with a wrong prior term fails the same comparison. The check runs with one column scale
``V0 = v0 I`` and with a separate scale for the offset column b.
"""

import numpy as np
import pytest
from scipy.stats import invwishart

from neurotools.analyses.biclustering import noisemoves
from neurotools.analyses.biclustering.dynamics import column_variances
from neurotools.analyses.biclustering.kalman import ffbs
from neurotools.analyses.biclustering.noisemoves import noise_scale_moves
from neurotools.analyses.biclustering.pathbirthdeath import MniwPrior

D, T = 2, 10
STATES = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
PRIOR = MniwPrior(s0=0.05, nu_extra=2.0, v0=1.0)
#: b's column with its own scale, small enough that b's term weighs in the trace
PRIOR_OFFSET = MniwPrior(s0=0.05, nu_extra=2.0, v0=(1.0, 0.05))
OBS_SD = 0.3


def _dynamics():
    c, s = np.cos(0.4), np.sin(0.4)
    A = np.stack([0.6 * np.eye(D), 0.95 * np.array([[c, -s], [s, c]])])
    b = np.array([[0.1, -0.2], [0.0, 0.3]])
    return A, b


def _conditional_iw(A, b, k, prior):
    """Prior of Q_k given W_k = [A_k b_k]: IW(nu0 + D + 1, S0 + (W - M0) V0^-1 (W - M0)')."""
    dev = np.hstack([A[k] - np.eye(D), b[k][:, None]])
    scale = prior.s0 * np.eye(D) + (dev / column_variances(D + 1, prior.v0)) @ dev.T
    return D + prior.nu_extra + D + 1, scale


def _q_given_path(A, b, X, rng, prior):
    """Q of both states from their inverse-Wishart conditional given the path and (A, b)."""
    Q = np.empty((2, D, D))
    for k in range(2):
        df, scale = _conditional_iw(A, b, k, prior)
        moves = np.flatnonzero(STATES[1:] == k) + 1
        resid = X[moves] - X[moves - 1] @ A[k].T - b[k]
        Q[k] = invwishart.rvs(df + len(moves), scale + resid.T @ resid, random_state=rng)
    return Q


def _stats(Q):
    return np.array([np.linalg.slogdet(Q[k])[1] for k in range(2)]
                    + [np.log(np.trace(Q[k])) for k in range(2)])


def _simulate_path(A, b, Q, rng):
    X = np.empty((T, D))
    X[0] = rng.standard_normal(D)
    for t in range(1, T):
        k = STATES[t]
        X[t] = b[k] + A[k] @ X[t - 1] + np.linalg.cholesky(Q[k]) @ rng.standard_normal(D)
    return X


def _geweke_chain(n_iter, seed, prior, move_prior=None):
    """Draws of the chain whose exact stationary marginal is ``prior``'s (the move uses
    ``move_prior``, by default the same)."""
    move_prior = prior if move_prior is None else move_prior
    rng = np.random.default_rng(seed)
    A, b = _dynamics()
    Q = np.stack([invwishart.rvs(*_conditional_iw(A, b, k, prior), random_state=rng)
                  for k in range(2)])
    X = _simulate_path(A, b, Q, rng)
    J = np.broadcast_to(np.eye(D) / OBS_SD**2, (T, D, D)).copy()
    out = np.empty((n_iter, 4))
    accepted = 0
    for i in range(n_iter):
        y = X + OBS_SD * rng.standard_normal((T, D))
        h = y / OBS_SD**2
        Q, acc, _ = noise_scale_moves(J, h, STATES, A, b, Q, rng, move_prior, step=0.6,
                                      rounds=2)
        accepted += acc
        X = ffbs(J, h, STATES, A, b, Q, rng)
        out[i] = _stats(Q)
        Q = _q_given_path(A, b, X, rng, prior)
    return out, accepted


def _exact_moments(prior, n=200000, seed=1):
    rng = np.random.default_rng(seed)
    A, b = _dynamics()
    draws = [invwishart.rvs(*_conditional_iw(A, b, k, prior), size=n, random_state=rng)
             for k in range(2)]
    stats = np.concatenate([np.linalg.slogdet(draws[k])[1][:, None] for k in range(2)]
                           + [np.log(np.trace(draws[k], axis1=1, axis2=2))[:, None]
                              for k in range(2)], 1)
    return stats.mean(0), stats.std(0) / np.sqrt(n)


def _z_scores(draws, prior):
    """z of the chain's means against the exact ones (batch-means standard errors)."""
    batches = np.array_split(draws, 40)
    means = np.array([b.mean(0) for b in batches])
    se = means.std(0, ddof=1) / np.sqrt(len(batches))
    exact, exact_se = _exact_moments(prior)
    return (draws.mean(0) - exact) / np.sqrt(se**2 + exact_se**2)


@pytest.mark.parametrize("prior", [PRIOR, PRIOR_OFFSET], ids=["one_scale", "offset_scale"])
def test_noise_moves_keep_the_prior_of_q(prior):
    draws, accepted = _geweke_chain(6000, seed=0, prior=prior)
    assert accepted > 0.2 * 6000 * 2 * 3           # the move does move
    z = _z_scores(draws[200:], prior)
    assert np.all(np.abs(z) < 4.5), z


@pytest.mark.parametrize("broken", ["prior_scale", "prior_trace", "offset_scale"])
def test_a_wrong_prior_term_fails_the_same_check(monkeypatch, broken):
    # the check has power: a move that uses a prior scale 3x too large, that leaves the
    # (A, b) part out of the inverse-Wishart trace, or that gives b's column A's scale, is
    # detected
    prior, move_prior = PRIOR, None
    if broken == "prior_scale":
        move_prior = MniwPrior(s0=3 * PRIOR.s0, nu_extra=PRIOR.nu_extra, v0=PRIOR.v0)
    elif broken == "prior_trace":
        monkeypatch.setattr(noisemoves, "_prior_trace",
                            lambda A, b, Q, prior: float(np.trace(np.linalg.solve(
                                Q, prior.s0 * np.eye(Q.shape[0])))))
    else:
        prior = PRIOR_OFFSET
        move_prior = MniwPrior(s0=prior.s0, nu_extra=prior.nu_extra, v0=prior.v0[0])
    draws, _ = _geweke_chain(6000, seed=0, prior=prior, move_prior=move_prior)
    z = _z_scores(draws[200:], prior)
    assert np.max(np.abs(z)) > 6, z
