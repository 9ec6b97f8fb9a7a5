"""Forward filtering, backward sampling (FFBS) of switching linear-Gaussian latents.

Model (t = 0..T-1, latent dimension D)::

    X_0 ~ N(m0, P0)
    X_t = b[s_t] + A[s_t] X_{t-1} + e_t,   e_t ~ N(0, Q[s_t])      (t >= 1)
    log p(obs_t | X_t) = -1/2 X_t' J_t X_t + h_t' X_t + const      (Gaussian information)

The observations enter in information form, which is what Polya-gamma augmentation gives:
``J_t = sum_i omega_it l_i l_i'`` and ``h_t = sum_i l_i (kappa_it - omega_it offset_it)``.
The dynamics of bin t are those of its own state ``s_t`` (the state of bin t governs the move
from t-1 to t), the same convention as the state sampler in :mod:`.hmm`.

:func:`ffbs` draws the whole path at once from its block-tridiagonal posterior precision by a
banded Cholesky factorisation (``scipy.linalg.cholesky_banded``, ``2 D - 1`` super-diagonals):
the same distribution as forward filtering and backward sampling, in compiled code instead of a
Python loop over bins (3x faster at D = 9 with one BLAS thread; :func:`.fit.run_chain` runs each
chain with one). :func:`rts_smoother` is the covariance-form oracle for the tests.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve_banded, cholesky_banded, solve_banded


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
    """Draw the latent path X from its Gaussian conditional (one joint draw, banded Cholesky).

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
    Qib = (Qi @ b[:, :, None])[:, :, 0]
    AtQib = (AtQi @ b[:, :, None])[:, :, 0]
    # block-tridiagonal posterior precision of the stacked path and its information vector
    diag = np.array(J_obs, float, copy=True)
    info = np.array(h_obs, float, copy=True)
    diag[0] += P0i
    info[0] += P0i @ m0
    nxt = states[1:]                                       # regime of each move t -> t + 1
    diag[1:] += Qi[nxt]
    diag[:-1] += AtQiA[nxt]
    info[1:] += Qib[nxt]
    info[:-1] -= AtQib[nxt]
    ab = _banded_upper(_sym(diag), -AtQi[nxt])
    # J = U'U: the mean solves J m = h, and m + U^-1 z has covariance J^-1 -- one joint draw,
    # the same distribution as forward filtering, backward sampling
    U = cholesky_banded(ab)
    mean = cho_solve_banded((U, False), info.reshape(-1))
    z = rng.standard_normal(T * D)
    return (mean + solve_banded((0, ab.shape[0] - 1), U, z)).reshape(T, D)


def _banded_upper(diag: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Upper banded storage (``scipy.linalg`` layout) of a block-tridiagonal symmetric matrix.

    Parameters
    ----------
    diag : ndarray, shape (T, D, D)
        Diagonal blocks.
    upper : ndarray, shape (T - 1, D, D)
        Blocks above the diagonal (block row t, block column t + 1).

    Returns
    -------
    ndarray, shape (2 D, T D)
        ``ab[u + i - j, j] = M[i, j]`` for ``i <= j``, with ``u = 2 D - 1`` super-diagonals.
    """
    T, D, _ = diag.shape
    u = 2 * D - 1
    ab = np.zeros((u + 1, T * D))
    r, c = np.triu_indices(D)
    t = np.arange(T)[:, None]
    ab[u + r - c, t * D + c] = diag[:, r, c]
    if T > 1:
        r, c = np.indices((D, D)).reshape(2, -1)
        t = np.arange(T - 1)[:, None]
        ab[u - (D + c - r), (t + 1) * D + c] = upper[:, r, c]
    return ab


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


class _Messages:
    """Information-form forward/backward messages of the latent Gaussian chain given states.

    Forward at t: ``alpha_t(X) = exp(lf[t] - X' Jf[t] X / 2 + hf[t]' X)`` integrates everything up to
    and including bin t; backward: ``beta_t(X) = exp(lb[t] - X' Jb[t] X / 2 + hb[t]' X)`` is the
    evidence of bins t+1.. given X_t. ``log Z = log int alpha_t beta_t`` for any t.
    """

    def __init__(self, J_obs, h_obs, A, b, Q):
        self.J, self.h = J_obs, h_obs
        T, D = h_obs.shape
        self.T, self.D = T, D
        self.Qi = np.linalg.inv(Q)
        self.AtQi = np.swapaxes(A, 1, 2) @ self.Qi
        self.AtQiA = self.AtQi @ A
        self.Qib = np.einsum("lde,le->ld", self.Qi, b)
        self.AtQib = np.einsum("lde,le->ld", self.AtQi, b)
        self.bQib = np.einsum("ld,ld->l", b, self.Qib)
        self.ldQ = np.linalg.slogdet(Q)[1]
        self.Jf = np.empty((T, D, D))
        self.hf = np.empty((T, D))
        self.lf = np.empty(T)
        self.Jb = np.empty((T, D, D))
        self.hb = np.empty((T, D))
        self.lb = np.empty(T)

    def forward_step(self, Jp, hp, lp, s, t):
        """Message at t from the one at t-1 under state s (governing the move into t)."""
        G = self.AtQi[s]
        M = Jp + self.AtQiA[s]
        C = np.linalg.cholesky(M)
        w = hp - self.AtQib[s]
        Mi = np.linalg.inv(M)
        Jn = self.Qi[s] - G.T @ Mi @ G + self.J[t]
        hn = self.Qib[s] + G.T @ (Mi @ w) + self.h[t]
        ln = (lp - 0.5 * self.ldQ[s] - np.log(np.diagonal(C)).sum() + 0.5 * w @ Mi @ w
              - 0.5 * self.bQib[s])
        return 0.5 * (Jn + Jn.T), hn, ln

    def forward(self, states, stop=None):
        """Forward messages for t = 0 .. ``stop`` - 1 (all bins by default); X_0 ~ N(0, I)."""
        self.Jf[0] = np.eye(self.D) + self.J[0]
        self.hf[0] = self.h[0]
        self.lf[0] = 0.0
        for t in range(1, self.T if stop is None else stop):
            self.Jf[t], self.hf[t], self.lf[t] = self.forward_step(
                self.Jf[t - 1], self.hf[t - 1], self.lf[t - 1], states[t], t)

    def backward(self, states, stop=0):
        """Backward messages for t = T-1 down to ``stop``."""
        T = self.T
        self.Jb[T - 1], self.hb[T - 1], self.lb[T - 1] = 0.0, 0.0, 0.0
        for t in range(T - 1, max(stop, 1) - 1, -1):
            s = states[t]
            K = self.J[t] + self.Jb[t]
            k = self.h[t] + self.hb[t]
            N = self.Qi[s] + K
            C = np.linalg.cholesky(N)
            Ni = np.linalg.inv(N)
            u = self.Qib[s] + k
            G = self.AtQi[s]
            Jn = self.AtQiA[s] - G @ Ni @ G.T
            self.Jb[t - 1] = 0.5 * (Jn + Jn.T)
            self.hb[t - 1] = -self.AtQib[s] + G @ (Ni @ u)
            self.lb[t - 1] = (self.lb[t] - 0.5 * self.ldQ[s] - np.log(np.diagonal(C)).sum()
                              + 0.5 * u @ Ni @ u - 0.5 * self.bQib[s])

    @staticmethod
    def combine(J1, h1, l1, J2, h2, l2):
        """``log int exp(l1 + l2 - X'(J1+J2)X/2 + (h1+h2)'X) dX`` (up to D/2 log 2 pi)."""
        Jt = J1 + J2
        C = np.linalg.cholesky(Jt)
        v = np.linalg.solve(C, h1 + h2)
        return l1 + l2 - np.log(np.diagonal(C)).sum() + 0.5 * v @ v


def log_evidence(J_obs, h_obs, states, A, b, Q) -> float:
    """``log int N(X_0; 0, I) prod_t N(X_t; b + A X_{t-1}, Q) exp(-X_t'J_t X_t/2 + h_t'X_t) dX``.

    Up to the constant ``D/2 log 2 pi`` (the same for every state path).
    """
    m = _Messages(J_obs, h_obs, A, b, Q)
    m.forward(states)
    T, D = h_obs.shape
    return float(m.combine(m.Jf[T - 1], m.hf[T - 1], m.lf[T - 1], np.zeros((D, D)), np.zeros(D),
                           0.0))


def sample_window_states(trans, left, right, n, rng, init=None):
    """Draw n states from the Markov chain ``trans`` between fixed ``left`` and ``right`` states.

    ``left`` is the state before the window (None: the window starts at the first move, whose
    state has distribution ``init``, uniform if None); ``right`` the state after it (None: no
    right end).
    Returns the states and the log probability of the draw under this conditional.
    """
    L = trans.shape[0]
    # backward messages m[i] = P(right | s_i)
    msg = np.ones((n + 1, L))
    if right is not None:
        msg[n] = trans[:, right]
    for i in range(n - 1, 0, -1):
        msg[i] = trans @ msg[i + 1]
        msg[i] /= msg[i].sum()
    out = np.empty(n, np.int64)
    logq = 0.0
    prev = left
    for i in range(n):
        w = _row(trans, prev, init) * msg[i + 1]
        w = w / w.sum()
        k = min(int(np.searchsorted(np.cumsum(w), rng.random())), L - 1)
        out[i] = k
        logq += np.log(w[k])
        prev = k
    return out, logq


def _row(trans, prev, init):
    """Distribution of the next state: ``trans[prev]``, or ``init`` for the first move."""
    if prev is not None:
        return trans[prev]
    return np.full(trans.shape[0], 1.0 / trans.shape[0]) if init is None else np.asarray(init)


def window_log_q(trans, left, right, seg, init=None):
    """Log probability of ``seg`` under :func:`sample_window_states`' conditional."""
    n, L = len(seg), trans.shape[0]
    msg = np.ones((n + 1, L))
    if right is not None:
        msg[n] = trans[:, right]
    for i in range(n - 1, 0, -1):
        msg[i] = trans @ msg[i + 1]
        msg[i] /= msg[i].sum()
    logq, prev = 0.0, left
    for i in range(n):
        w = _row(trans, prev, init) * msg[i + 1]
        logq += np.log(w[seg[i]] / w.sum())
        prev = seg[i]
    return logq


def window_state_moves(J_obs, h_obs, states, A, b, Q, trans, rng, max_len: int = 30,
                       init=None):
    """Metropolis-Hastings moves of the states with the latent path integrated out.

    Target: ``p(states | J, h, A, b, Q, trans)`` with X marginalised by Kalman filtering (the
    Polya-gamma Gaussian pseudo-likelihood ``J, h``). [1, T) is cut into consecutive windows of
    random lengths (uniform on 1..max_len, independent of the states); left to right, each
    window's states are proposed from the transition chain conditioned on the states on both
    sides (the first move's state from ``init``, uniform if None; bin 0 copies bin 1), so the
    Hastings ratio is the evidence ratio ``Z(new) / Z(old)``, evaluated from cached
    forward messages (left) and backward messages (right, unaffected by changes to the left).

    Returns
    -------
    states : ndarray of int, shape (T,)
    n_accepted : int
    """
    T, D = h_obs.shape
    states = np.array(states, dtype=np.int64, copy=True)
    if T < 2:
        return states, 0
    m = _Messages(J_obs, h_obs, A, b, Q)
    m.backward(states)
    m.forward(states, stop=1)                  # message at bin 0 only
    valid = 0                                  # forward messages valid up to this bin
    t1 = 1 + int(rng.integers(0, max_len))     # random offset of the first window
    n_acc = 0
    while t1 < T:
        t2 = min(T, t1 + 1 + int(rng.integers(0, max_len)))
        # bring forward messages up to t1 - 1
        for t in range(valid + 1, t1):
            m.Jf[t], m.hf[t], m.lf[t] = m.forward_step(m.Jf[t - 1], m.hf[t - 1], m.lf[t - 1],
                                                       states[t], t)
        valid = t1 - 1
        left = states[t1 - 1] if t1 > 1 else None     # bin 0 carries no move
        right = states[t2] if t2 < T else None
        new, _ = sample_window_states(trans, left, right, t2 - t1, rng, init)
        if not np.array_equal(new, states[t1:t2]):
            Jn, hn, ln = m.Jf[t1 - 1], m.hf[t1 - 1], m.lf[t1 - 1]
            for t in range(t1, t2):
                Jn, hn, ln = m.forward_step(Jn, hn, ln, new[t - t1], t)
            e = t2 - 1
            z_new = m.combine(Jn, hn, ln, m.Jb[e], m.hb[e], m.lb[e])
            # the backward message at t1 - 1 still holds for the current states (all changes so
            # far lie to its left)
            z_old = m.combine(m.Jf[t1 - 1], m.hf[t1 - 1], m.lf[t1 - 1], m.Jb[t1 - 1],
                              m.hb[t1 - 1], m.lb[t1 - 1])
            # proposal = prior conditional: prior and proposal ratios cancel
            if np.log(rng.random()) < z_new - z_old:
                states[t1:t2] = new
                n_acc += 1
        t1 = t2
    states[0] = states[1]
    return states, n_acc
