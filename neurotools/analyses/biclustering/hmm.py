"""The population state sequence: a sticky HDP-HMM (weak limit) over switching AR(1) dynamics.

States ``s_t`` in {0..L-1}; the state of bin t governs the move of the latents from t-1 to t.
The chain of states runs over the T - 1 moves; bin 0 has no move and is given bin 1's state
(the sampler's convention, :meth:`.sampler.Chain.update_states`). Transition rows follow the
sticky HDP weak limit of Fox et al. (2011): ``beta ~ Dir(gamma / L)``,
``pi_j ~ Dir(alpha beta + kappa e_j)``; the global weights are resampled with the auxiliary
table counts (with the sticky "override" correction).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from neurotools.analyses.biclustering.counts import sample_crt

_LOG2PI = np.log(2 * np.pi)


def ar_loglik(X: np.ndarray, A: np.ndarray, b: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Log density of every latent move under every regime.

    Parameters
    ----------
    X : ndarray, shape (T, D)
        Latent path.
    A, b, Q : ndarray, shapes (L, D, D), (L, D), (L, D, D)
        Regime dynamics.

    Returns
    -------
    ndarray, shape (T, L)
        ``log N(X_t | b_l + A_l X_{t-1}, Q_l)``; row 0 is zero (no move into bin 0).
    """
    T, D = X.shape
    L = A.shape[0]
    out = np.zeros((T, L))
    if T < 2:
        return out
    pred = X[None, :-1] @ np.swapaxes(A, 1, 2) + b[:, None, :]        # (L, T-1, D)
    R = X[None, 1:, :] - pred                                     # (L, T-1, D)
    C = np.linalg.cholesky(Q)                                     # (L, D, D)
    sol = np.linalg.solve(C[:, None], R[..., None])[..., 0]       # (L, T-1, D)
    logdet = 2 * np.log(np.diagonal(C, axis1=1, axis2=2)).sum(1)  # (L,)
    out[1:] = (-0.5 * (sol**2).sum(-1) - 0.5 * logdet[:, None] - 0.5 * D * _LOG2PI).T
    return out


def forward_backward_sample(
    loglik: np.ndarray, trans: np.ndarray, init: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """Draw a state path from its posterior by forward filtering, backward sampling.

    Parameters
    ----------
    loglik : ndarray, shape (T, L)
        Log emission densities.
    trans : ndarray, shape (L, L)
        Row-stochastic transition matrix.
    init : ndarray, shape (L,)
        Distribution of the first state.
    rng : numpy.random.Generator

    Returns
    -------
    states : ndarray of int, shape (T,)
    log_marginal : float
        ``log p(observations)`` summed over paths.
    """
    T, L = loglik.shape
    shift = loglik.max(1, keepdims=True)
    lik = np.exp(loglik - shift)
    alpha = np.empty((T, L))
    a = init * lik[0]
    c = a.sum()
    alpha[0] = a / c
    logz = np.log(c)
    for t in range(1, T):
        a = (alpha[t - 1] @ trans) * lik[t]
        c = a.sum()
        alpha[t] = a / c
        logz += np.log(c)
    u = rng.random(T)
    s = np.empty(T, dtype=np.int64)
    cum = np.cumsum(alpha[T - 1])
    s[T - 1] = min(np.searchsorted(cum, u[T - 1] * cum[-1]), L - 1)
    for t in range(T - 2, -1, -1):
        w = alpha[t] * trans[:, s[t + 1]]
        cum = np.cumsum(w)
        s[t] = min(np.searchsorted(cum, u[t] * cum[-1]), L - 1)
    return s, float(logz + shift.sum())


def sample_dirichlet(conc: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dirichlet draws along the last axis, safe for tiny concentrations (no zero weights)."""
    conc = np.asarray(conc, float)
    # Gamma(a) = Gamma(a + 1) * U^(1/a), in logs, so tiny shapes never underflow to 0.
    logg = np.log(rng.standard_gamma(conc + 1.0)) + np.log(rng.random(conc.shape)) / conc
    logg -= logg.max(-1, keepdims=True)
    w = np.exp(logg)
    w = np.maximum(w / w.sum(-1, keepdims=True), 1e-300)
    return w / w.sum(-1, keepdims=True)


def transition_counts(states: np.ndarray, L: int) -> np.ndarray:
    """Counts ``n[j, k]`` of moves j -> k along the path, shape (L, L)."""
    idx = states[:-1] * L + states[1:]
    return np.bincount(idx, minlength=L * L).reshape(L, L).astype(float)


def transitions_log_marginal(moves: np.ndarray, beta: np.ndarray, alpha: float,
                             kappa: float) -> float:
    """``log p(moves[1:] | moves[0], beta)`` with the transition rows integrated out.

    Row j of the sticky weak-limit HDP is ``Dir(alpha beta + kappa e_j)``, so each row's
    transitions are Dirichlet-multinomial.

    Parameters
    ----------
    moves : ndarray of int, shape (n,)
        State chain.
    beta : ndarray, shape (L,)
        Global weights.
    alpha, kappa : float
        Concentration and self-transition bias.
    """
    L = beta.shape[0]
    n = transition_counts(moves, L)
    conc = alpha * beta[None, :] + kappa * np.eye(L)
    rows = n.sum(1)
    return float(np.sum(gammaln(alpha + kappa) - gammaln(alpha + kappa + rows))
                 + np.sum(gammaln(conc + n) - gammaln(conc)))


def sample_sticky_hdp(
    states: np.ndarray,
    beta: np.ndarray,
    alpha: float,
    gamma: float,
    kappa: float,
    rng: np.random.Generator,
    first_from_beta: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """One Gibbs sweep of the global weights and transition rows given the state path.

    Parameters
    ----------
    states : ndarray of int, shape (T,)
        The state chain (``states[0]`` is the first state).
    beta : ndarray, shape (L,)
        Current global state weights.
    alpha, gamma, kappa : float
        HDP concentrations and self-transition bias.
    rng : numpy.random.Generator
    first_from_beta : bool
        The first state is a draw from ``beta`` (adds one count to its global weight).

    Returns
    -------
    beta : ndarray, shape (L,)
    trans : ndarray, shape (L, L)
    """
    L = beta.shape[0]
    n = transition_counts(states, L)
    conc = alpha * beta[None, :] + kappa * np.eye(L)
    m = sample_crt(n.astype(np.int64), conc, rng)
    rho = kappa / (alpha + kappa)
    diag = np.diag(m).astype(np.int64)
    p_override = rho / (rho + beta * (1 - rho))
    w = rng.binomial(diag, p_override)
    mbar = m.astype(float)
    mbar[np.diag_indices(L)] -= w
    counts = mbar.sum(0)
    if first_from_beta and len(states):
        counts[states[0]] += 1.0
    beta = sample_dirichlet(gamma / L + counts, rng)
    trans = sample_dirichlet(alpha * beta[None, :] + kappa * np.eye(L) + n, rng)
    return beta, trans
