"""Forward filtering, backward sampling (FFBS) of switching linear-Gaussian latents.

Model (t = 0..T-1, latent dimension D)::

    X_0 ~ N(m0, P0)
    X_t = b[s_t] + A[s_t] X_{t-1} + e_t,   e_t ~ N(0, Q[s_t])      (t >= 1)
    log p(obs_t | X_t) = -1/2 X_t' J_t X_t + h_t' X_t + const      (Gaussian information)

The observations enter in information form, which is what Polya-gamma augmentation gives:
``J_t = sum_i omega_it l_i l_i'`` and ``h_t = sum_i l_i (kappa_it - omega_it offset_it)``.
The dynamics of bin t are those of its own state ``s_t`` (the state of bin t governs the move
from t-1 to t), the same convention as the state sampler in :mod:`.hmm`.
"""

from __future__ import annotations

import numpy as np


def _sym(m: np.ndarray) -> np.ndarray:
    return 0.5 * (m + np.swapaxes(m, -1, -2))


def ffbs(
    J_obs: np.ndarray,
    h_obs: np.ndarray,
    states: np.ndarray,
    A: np.ndarray,
    b: np.ndarray,
    Q: np.ndarray,
    rng: np.random.Generator,
    m0: np.ndarray | None = None,
    P0: np.ndarray | None = None,
) -> np.ndarray:
    """Draw the latent path X from its Gaussian conditional.

    Parameters
    ----------
    J_obs : ndarray, shape (T, D, D)
        Observation precision per bin.
    h_obs : ndarray, shape (T, D)
        Observation information vector per bin.
    states : ndarray of int, shape (T,)
        Dynamics regime of each bin (entry 0 is unused).
    A : ndarray, shape (L, D, D)
        Transition matrices per regime.
    b : ndarray, shape (L, D)
        Offsets per regime.
    Q : ndarray, shape (L, D, D)
        Innovation covariances per regime.
    rng : numpy.random.Generator
    m0, P0 : ndarray, shapes (D,) and (D, D), optional
        Prior of X_0 (default N(0, I)).

    Returns
    -------
    ndarray, shape (T, D)
        One joint draw of the latent path.
    """
    T, D = h_obs.shape
    m0 = np.zeros(D) if m0 is None else m0
    P0i = np.eye(D) if P0 is None else np.linalg.inv(P0)
    Qi = np.linalg.inv(Q)
    AtQi = np.swapaxes(A, 1, 2) @ Qi                       # (L, D, D)
    AtQiA = AtQi @ A
    Qib = np.einsum("lde,le->ld", Qi, b)
    AtQib = np.einsum("lde,le->ld", AtQi, b)
    Jf = np.empty((T, D, D))
    hf = np.empty((T, D))
    Minv = np.empty((max(T - 1, 0), D, D))
    Jf[0] = P0i + J_obs[0]
    hf[0] = P0i @ m0 + h_obs[0]
    inv = np.linalg.inv
    for t in range(1, T):
        s = states[t]
        Mi = inv(Jf[t - 1] + AtQiA[s])
        Minv[t - 1] = Mi
        G = AtQi[s]
        Jf[t] = Qi[s] - G.T @ Mi @ G + J_obs[t]
        hf[t] = Qib[s] + G.T @ (Mi @ (hf[t - 1] - AtQib[s])) + h_obs[t]
    z = rng.standard_normal((T, D))
    X = np.empty((T, D))
    PT = _sym(inv(Jf[T - 1]))
    X[T - 1] = PT @ hf[T - 1] + np.linalg.cholesky(PT) @ z[T - 1]
    if T > 1:
        Lc = np.linalg.cholesky(_sym(Minv))
        noise = np.einsum("tde,te->td", Lc, z[:-1])
        for t in range(T - 2, -1, -1):
            s = states[t + 1]
            X[t] = Minv[t] @ (hf[t] + AtQi[s] @ X[t + 1] - AtQib[s]) + noise[t]
    return X


def rts_smoother(
    J_obs: np.ndarray,
    h_obs: np.ndarray,
    states: np.ndarray,
    A: np.ndarray,
    b: np.ndarray,
    Q: np.ndarray,
    m0: np.ndarray | None = None,
    P0: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and covariances of X by a covariance-form Kalman filter + RTS smoother.

    Same arguments as :func:`ffbs` (without ``rng``). Returns ``means`` (T, D) and ``covs``
    (T, D, D); the oracle for the FFBS draws.
    """
    T, D = h_obs.shape
    m = np.zeros(D) if m0 is None else np.asarray(m0, float)
    P = np.eye(D) if P0 is None else np.asarray(P0, float)
    mf = np.empty((T, D))
    Pf = np.empty((T, D, D))
    mp = np.empty((T, D))
    Pp = np.empty((T, D, D))
    for t in range(T):
        if t > 0:
            s = states[t]
            m = b[s] + A[s] @ m
            P = A[s] @ P @ A[s].T + Q[s]
        mp[t], Pp[t] = m, P
        Pi = np.linalg.inv(P)
        P = _sym(np.linalg.inv(Pi + J_obs[t]))
        m = P @ (Pi @ m + h_obs[t])
        mf[t], Pf[t] = m, P
    ms = mf.copy()
    Ps = Pf.copy()
    for t in range(T - 2, -1, -1):
        s = states[t + 1]
        G = Pf[t] @ A[s].T @ np.linalg.inv(Pp[t + 1])
        ms[t] = mf[t] + G @ (ms[t + 1] - mp[t + 1])
        Ps[t] = _sym(Pf[t] + G @ (Ps[t + 1] - Pp[t + 1]) @ G.T)
    return ms, Ps
