"""Regime dynamics (A, b, Q) from their matrix-normal-inverse-Wishart conditionals.

Per regime, ``X_t = W [X_{t-1}; 1] + e``, ``W = [A b]``, ``e ~ N(0, Q)`` with prior
``Q ~ IW(S0, nu0)``, ``W | Q ~ MN(M0, Q, V0)``; defaults ``M0 = [I 0]``, ``V0 = I``,
``S0 = 0.01 I``, ``nu0 = D + 2`` (the paper's choice). ``V0`` is diagonal: one scale for A's
columns and one for the offset column b (:data:`ColumnScales`).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import invwishart

#: column covariance scales of the MNIW prior: one scale for every column of ``W = [A b]``, or
#: a pair (scale of A's columns, scale of the offset column b)
ColumnScales = float | tuple[float, float]


def column_variances(E: int, v0: ColumnScales) -> np.ndarray:
    """Diagonal of the column covariance ``V0`` of ``W = [A b]`` (``E = D + 1`` columns)."""
    if np.ndim(v0) == 0:
        return np.full(E, float(v0))
    out = np.full(E, float(v0[0]))
    out[-1] = float(v0[1])
    return out


def column_precision(E: int, v0: ColumnScales) -> np.ndarray:
    """``V0^-1``, shape (E, E), of :func:`column_variances`."""
    return np.diag(1.0 / column_variances(E, v0))


def state_cross_sums(onehot: np.ndarray, U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``out[l] = sum_t onehot[t, l] U_t V_t'`` for every state l, shape (L, du, dv)."""
    return (onehot.T[:, None, :] * U.T[None]) @ V


def sample_iw(S: np.ndarray, nu: float, rng: np.random.Generator) -> np.ndarray:
    """One inverse-Wishart(S, nu) draw (mean ``S / (nu - D - 1)``), shape (D, D)."""
    D = S.shape[0]
    if D == 1:
        return np.array([[S[0, 0] / rng.chisquare(nu)]])
    return np.atleast_2d(invwishart.rvs(df=nu, scale=S, random_state=rng))


def sample_dynamics(
    X: np.ndarray,
    states: np.ndarray,
    L: int,
    rng: np.random.Generator,
    s0: float = 0.01,
    nu_extra: float = 2.0,
    v0: ColumnScales = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw (A, b, Q) of every regime given the latent path and the states.

    Parameters
    ----------
    X : ndarray, shape (T, D)
        Latent path.
    states : ndarray of int, shape (T,)
        Regime of each bin (bin t's regime governs the move t-1 -> t).
    L : int
        Number of regimes (unused ones are drawn from the prior).
    rng : numpy.random.Generator
    s0, nu_extra : float
        Prior scale ``S0 = s0 I``, ``nu0 = D + nu_extra``.
    v0 : float or (float, float)
        Column covariance ``V0 = v0 I``, or ``diag(v0[0], ..., v0[0], v0[1])`` (b's column
        last).

    Returns
    -------
    A : ndarray, shape (L, D, D)
    b : ndarray, shape (L, D)
    Q : ndarray, shape (L, D, D)
    """
    T, D = X.shape
    Z = np.hstack([X[:-1], np.ones((T - 1, 1))])            # (T-1, D+1) regressors
    Y = X[1:]
    s = states[1:]
    M0 = np.hstack([np.eye(D), np.zeros((D, 1))])
    V0i = column_precision(D + 1, v0)
    S0 = s0 * np.eye(D)
    nu0 = D + nu_extra
    A = np.empty((L, D, D))
    b = np.empty((L, D))
    Q = np.empty((L, D, D))
    onehot = (s[:, None] == np.arange(L)[None, :]).astype(float)     # (T-1, L)
    Szz = state_cross_sums(onehot, Z, Z) + V0i
    Syz = state_cross_sums(onehot, Y, Z) + M0 @ V0i
    Syy = state_cross_sums(onehot, Y, Y) + M0 @ V0i @ M0.T
    n = onehot.sum(0)
    for k in range(L):
        Szz_i = np.linalg.inv(Szz[k])
        Mn = Syz[k] @ Szz_i
        Sn = S0 + Syy[k] - Mn @ Syz[k].T
        Sn = 0.5 * (Sn + Sn.T)
        Qk = sample_iw(Sn, nu0 + n[k], rng)
        Lq = np.linalg.cholesky(Qk)
        Lv = np.linalg.cholesky(0.5 * (Szz_i + Szz_i.T))
        W = Mn + Lq @ rng.standard_normal((D, D + 1)) @ Lv.T
        A[k], b[k], Q[k] = W[:, :D], W[:, D], Qk
    return A, b, Q


def sample_path_from_prior(
    T: int,
    D: int,
    states: np.ndarray,
    rng: np.random.Generator,
    s0: float = 0.01,
    nu_extra: float = 2.0,
    v0: ColumnScales = 1.0,
) -> np.ndarray:
    """One latent path from its prior: ``X_0 ~ N(0, I)``, every state's (A, b, Q) from the MNIW.

    This is an exact draw of ``p(X | states)`` with the dynamics integrated out (the density of
    :func:`.scalemoves.dynamics_log_marginal`); prior-only checks of the cluster moves use it.

    Parameters
    ----------
    T, D : int
        Number of bins and dimension of the stacked path.
    states : ndarray of int, shape (T,)
        State of each bin (bin t's state governs the move t-1 -> t).

    Returns
    -------
    ndarray, shape (T, D)
    """
    L = int(states.max()) + 1 if len(states) else 1
    M0 = np.hstack([np.eye(D), np.zeros((D, 1))])
    W, chol_q = [], []
    for _ in range(L):
        chol_q.append(np.linalg.cholesky(sample_iw(s0 * np.eye(D), D + nu_extra, rng)))
        W.append(M0 + chol_q[-1] @ rng.standard_normal((D, D + 1))
                 * np.sqrt(column_variances(D + 1, v0)))
    X = np.empty((T, D))
    X[0] = rng.standard_normal(D)
    for t in range(1, T):
        k = states[t]
        X[t] = W[k][:, :D] @ X[t - 1] + W[k][:, D] + chol_q[k] @ rng.standard_normal(D)
    return X


def mniw_log_marginal_from_sums(
    zz: np.ndarray, yz: np.ndarray, yy: np.ndarray, n: float, s0: float = 0.01,
    nu_extra: float = 2.0, v0: ColumnScales = 1.0
) -> float:
    """``log p(Y | Z)`` of n moves from their sums ``Z'Z`` (E, E), ``Y'Z`` (D, E), ``Y'Y`` (D, D).

    The MNIW marginal of :func:`mniw_log_marginal` (``E = D + 1``); 0 for no moves.
    """
    from scipy.special import multigammaln

    if n <= 0:
        return 0.0
    D = yy.shape[0]
    M0 = np.hstack([np.eye(D), np.zeros((D, 1))])
    V0i = column_precision(D + 1, v0)
    S0 = s0 * np.eye(D)
    nu0 = D + nu_extra
    Szz = zz + V0i
    Syz = yz + M0 @ V0i
    Syy = yy + M0 @ V0i @ M0.T
    Mn = Syz @ np.linalg.inv(Szz)
    Sn = S0 + Syy - Mn @ Syz.T
    return float(-0.5 * n * D * np.log(np.pi)
                 + 0.5 * D * (np.linalg.slogdet(V0i)[1] - np.linalg.slogdet(Szz)[1])
                 + 0.5 * nu0 * np.linalg.slogdet(S0)[1] - 0.5 * (nu0 + n) * np.linalg.slogdet(Sn)[1]
                 + multigammaln(0.5 * (nu0 + n), D) - multigammaln(0.5 * nu0, D))


def mniw_log_marginal(
    Y: np.ndarray, Z: np.ndarray, s0: float = 0.01, nu_extra: float = 2.0, v0: ColumnScales = 1.0
) -> float:
    """``log p(Y | Z)`` of moves ``Y = W Z + e`` with ``W = [A b]`` and Q integrated out (MNIW).

    Parameters
    ----------
    Y : ndarray, shape (n, D)
        Targets ``X_t`` of the moves.
    Z : ndarray, shape (n, D + 1)
        Regressors ``[X_{t-1}, 1]``.

    Closed form (checks :func:`sample_states_collapsed`'s Student-t predictives).
    """
    return mniw_log_marginal_from_sums(Z.T @ Z, Y.T @ Z, Y.T @ Y, Y.shape[0], s0, nu_extra, v0)


def sample_states_collapsed(
    X: np.ndarray,
    states: np.ndarray,
    trans: np.ndarray,
    rng: np.random.Generator,
    s0: float = 0.01,
    nu_extra: float = 2.0,
    v0: ColumnScales = 1.0,
    init: np.ndarray | None = None,
) -> np.ndarray:
    """One collapsed Gibbs sweep over the states with every regime's (A, b, Q) integrated out.

    Site t (t >= 1) carries the move ``X_{t-1} -> X_t``; its conditional given all other states,
    the latents and the transition matrix is proportional to
    ``trans[s_{t-1}, l] trans[l, s_{t+1}]`` times the MNIW posterior predictive (a multivariate
    Student-t) of the move under regime l's other moves; the first move (t = 1) has distribution
    ``init`` (uniform if None) and bin 0 (no move) is given bin 1's state. Each regime's posterior is kept by rank-one up/down-dates (refreshed every
    sweep). The sweep leaves ``p(states | X, trans)`` invariant; drawing (A, b, Q) from their
    conditional afterwards completes a valid block update of (states, A, b, Q).

    Parameters
    ----------
    X : ndarray, shape (T, D)
    states : ndarray of int, shape (T,)
    trans : ndarray, shape (L, L)
    rng : numpy.random.Generator
    s0, nu_extra : float
        MNIW prior, as in :func:`sample_dynamics`.
    v0 : float or (float, float)
        Column covariance scales of the same prior (:data:`.dynamics.ColumnScales`).
    init : ndarray, shape (L,), optional
        Distribution of the first move's state (uniform if None).

    Returns
    -------
    ndarray of int, shape (T,)
    """
    from scipy.special import gammaln

    T, D = X.shape
    L = trans.shape[0]
    states = np.array(states, dtype=np.int64, copy=True)
    if T < 2:
        return states
    E = D + 1
    Z = np.hstack([X[:-1], np.ones((T - 1, 1))])
    Y = X[1:]
    s = states[1:]
    M0 = np.hstack([np.eye(D), np.zeros((D, 1))])
    V0i = column_precision(E, v0)
    onehot = (s[:, None] == np.arange(L)[None, :]).astype(float)
    Szz = state_cross_sums(onehot, Z, Z) + V0i
    Syz = state_cross_sums(onehot, Y, Z) + M0 @ V0i
    Syy = state_cross_sums(onehot, Y, Y) + M0 @ V0i @ M0.T
    P = np.linalg.inv(Szz)
    P = 0.5 * (P + np.swapaxes(P, 1, 2))
    M = Syz @ P
    Sn = s0 * np.eye(D) + Syy - M @ np.swapaxes(Syz, 1, 2)
    Sn = 0.5 * (Sn + np.swapaxes(Sn, 1, 2))
    Si = np.linalg.inv(Sn)
    ldS = np.linalg.slogdet(Sn)[1]
    nu = D + nu_extra + onehot.sum(0)
    logT = np.log(trans)
    lg_half = {}

    def lg(v):
        # lgamma((v + D) / 2) - lgamma(v / 2) - D/2 log(v pi), cached by dof
        key = float(v)
        if key not in lg_half:
            lg_half[key] = float(gammaln(0.5 * (v + D)) - gammaln(0.5 * v)
                                 - 0.5 * D * np.log(v * np.pi))
        return lg_half[key]

    u_all = rng.random(T)
    for t in range(1, T):
        z, y = Z[t - 1], Y[t - 1]
        a = states[t]
        # remove the move from regime a (rank-one downdate)
        Pz = P[a] @ z
        h = z @ Pz
        g0 = 1.0 / (1.0 - h)
        r = y - M[a] @ z
        M[a] = M[a] - np.outer(r, g0 * Pz)          # = M - r (P0 z)', P0 z = g0 P z
        P[a] = P[a] + g0 * np.outer(Pz, Pz)
        Sir = Si[a] @ r
        q = g0 * (r @ Sir)
        Si[a] = Si[a] + g0 * np.outer(Sir, Sir) / (1.0 - q)
        ldS[a] = ldS[a] + np.log1p(-q)
        nu[a] -= 1
        # Student-t predictive of the move under every regime
        PZ = P @ z                                            # (L, E)
        g = 1.0 + PZ @ z                                      # (L,)
        e = y[None, :] - M @ z                                # (L, D)
        Se = np.einsum("lij,lj->li", Si, e)
        quad = np.einsum("li,li->l", e, Se) / g
        v = nu - D + 1
        const = np.array([lg(vv) for vv in v])
        logp = const - 0.5 * (ldS + D * np.log(g / v)) - 0.5 * (v + D) * np.log1p(quad)
        if t > 1:
            logp = logp + logT[states[t - 1]]
        elif init is not None:                      # the first move's state ~ init
            logp = logp + np.log(init)
        if t + 1 < T:
            logp = logp + logT[:, states[t + 1]]
        p = np.exp(logp - logp.max())
        b = min(int(np.searchsorted(np.cumsum(p), u_all[t] * p.sum())), L - 1)
        states[t] = b
        # add the move to regime b (rank-one update)
        gb = g[b]
        eb = e[b]
        P[b] = P[b] - np.outer(PZ[b], PZ[b]) / gb
        M[b] = M[b] + np.outer(eb, PZ[b] / gb)
        Sie = Se[b]
        qb = (eb @ Sie) / gb
        Si[b] = Si[b] - np.outer(Sie, Sie) / (gb * (1.0 + qb))
        ldS[b] = ldS[b] + np.log1p(qb)
        nu[b] += 1
    states[0] = states[1]                           # bin 0 carries no move
    return states
