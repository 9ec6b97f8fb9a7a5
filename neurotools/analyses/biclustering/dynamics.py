"""Regime dynamics (A, b, Q) from their matrix-normal-inverse-Wishart conditionals.

Per regime, ``X_t = W [X_{t-1}; 1] + e``, ``W = [A b]``, ``e ~ N(0, Q)`` with prior
``Q ~ IW(S0, nu0)``, ``W | Q ~ MN(M0, Q, V0)``; defaults ``M0 = [I 0]``, ``V0 = I``,
``S0 = 0.01 I``, ``nu0 = D + 2`` (the paper's choice).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import invwishart


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
    v0: float = 1.0,
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
    s0, nu_extra, v0 : float
        Prior scale ``S0 = s0 I``, ``nu0 = D + nu_extra``, column covariance ``V0 = v0 I``.

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
    V0i = np.eye(D + 1) / v0
    S0 = s0 * np.eye(D)
    nu0 = D + nu_extra
    A = np.empty((L, D, D))
    b = np.empty((L, D))
    Q = np.empty((L, D, D))
    onehot = (s[:, None] == np.arange(L)[None, :]).astype(float)     # (T-1, L)
    Szz = np.einsum("tl,ti,tj->lij", onehot, Z, Z) + V0i
    Syz = np.einsum("tl,ti,tj->lij", onehot, Y, Z) + M0 @ V0i
    Syy = np.einsum("tl,ti,tj->lij", onehot, Y, Y) + M0 @ V0i @ M0.T
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
