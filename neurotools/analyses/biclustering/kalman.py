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

:func:`window_state_moves` moves runs of states with the latent path integrated out. The
Kalman messages it needs are carried across each run of bins by the same banded factorisation
(the Schur complement of a run's precision onto its end block is the message there), so a sweep
costs two or three factorisations per window instead of three Python Kalman steps per bin
(3-4x faster at T = 500-2000, D = 9).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.linalg import cho_solve_banded, cholesky_banded, solve_banded
from scipy.linalg.lapack import dpbtrf, dtbtrs


def symmetrize(m: np.ndarray) -> np.ndarray:
    """Symmetric part of a stack of square matrices (the last two axes)."""
    return 0.5 * (m + np.swapaxes(m, -1, -2))


def dynamics_information(
    states: np.ndarray,
    A: np.ndarray,
    b: np.ndarray,
    Q: np.ndarray,
    m0: np.ndarray | None = None,
    P0: np.ndarray | None = None,
    J_obs: np.ndarray | None = None,
    h_obs: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Information form of a path's switching linear-Gaussian prior, plus any observations.

    Parameters
    ----------
    states : ndarray of int, shape (T,)
        Dynamics regime of each bin (entry 0 is unused).
    A, b, Q : ndarray, shapes (L, D, D), (L, D), (L, D, D)
        Transition matrices, offsets and innovation covariances per regime.
    m0, P0 : ndarray, shapes (D,) and (D, D), optional
        Prior of X_0 (default N(0, I)).
    J_obs, h_obs : ndarray, shapes (T, D, D) and (T, D), optional
        Gaussian observation terms in information form, added in (default none).

    Returns
    -------
    diag : ndarray, shape (T, D, D)
        Diagonal blocks of the path's block-tridiagonal (posterior) precision.
    upper : ndarray, shape (T - 1, D, D)
        Its blocks above the diagonal (block row t, block column t + 1).
    info : ndarray, shape (T, D)
        Its information vector (precision times mean).
    """
    T, D = len(states), A.shape[1]
    m0 = np.zeros(D) if m0 is None else m0
    P0i = np.eye(D) if P0 is None else np.linalg.inv(P0)
    Qi = np.linalg.inv(Q)
    AtQi = np.swapaxes(A, 1, 2) @ Qi                       # (L, D, D)
    nxt = states[1:]                                       # regime of each move t -> t + 1
    diag = np.zeros((T, D, D)) if J_obs is None else np.array(J_obs, float, copy=True)
    info = np.zeros((T, D)) if h_obs is None else np.array(h_obs, float, copy=True)
    diag[0] += P0i
    info[0] += P0i @ m0
    diag[1:] += Qi[nxt]
    diag[:-1] += (AtQi @ A)[nxt]
    info[1:] += (Qi @ b[:, :, None])[nxt, :, 0]
    info[:-1] -= (AtQi @ b[:, :, None])[nxt, :, 0]
    return diag, -AtQi[nxt], info


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
    # block-tridiagonal posterior precision of the stacked path and its information vector
    diag, upper, info = dynamics_information(states, A, b, Q, m0, P0, J_obs, h_obs)
    ab = banded_upper(symmetrize(diag), upper)
    # J = U'U: the mean solves J m = h, and m + U^-1 z has covariance J^-1 -- one joint draw,
    # the same distribution as forward filtering, backward sampling
    U = cholesky_banded(ab)
    mean = cho_solve_banded((U, False), info.reshape(-1))
    z = rng.standard_normal(T * D)
    return (mean + solve_banded((0, ab.shape[0] - 1), U, z)).reshape(T, D)


@lru_cache(maxsize=64)
def _band_positions(T: int, D: int):
    """Where the diagonal and upper blocks' entries go in :func:`banded_upper`'s storage."""
    u = 2 * D - 1
    r, c = np.triu_indices(D)
    t = np.arange(T)[:, None]
    diagonal = (u + r - c, t * D + c, r, c)
    ru, cu = np.indices((D, D)).reshape(2, -1)
    t = np.arange(max(T - 1, 0))[:, None]
    upper = (u - (D + cu - ru), (t + 1) * D + cu, ru, cu)
    return diagonal, upper


def banded_upper(diag: np.ndarray, upper: np.ndarray) -> np.ndarray:
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
    (rows_d, cols_d, r, c), (rows_u, cols_u, ru, cu) = _band_positions(T, D)
    ab[rows_d, cols_d] = diag[:, r, c]
    if T > 1:
        ab[rows_u, cols_u] = upper[:, ru, cu]
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
        P = symmetrize(np.linalg.inv(Pi + J_obs[t]))
        m = P @ (Pi @ m + h_obs[t])
        mf[t], Pf[t] = m, P
    ms = mf.copy()
    Ps = Pf.copy()
    for t in range(T - 2, -1, -1):
        s = states[t + 1]
        G = Pf[t] @ A[s].T @ np.linalg.inv(Pp[t + 1])
        ms[t] = mf[t] + G @ (ms[t + 1] - mp[t + 1])
        Ps[t] = symmetrize(Pf[t] + G @ (Ps[t + 1] - Pp[t + 1]) @ G.T)
    return ms, Ps


class _Dynamics:
    """Per-regime pieces of the transition density ``N(X_t; b + A X_{t-1}, Q)`` in information form.

    For a move under regime s the log density expands into ``-X_t' Qi X_t / 2
    - X_{t-1}' AtQiA X_{t-1} / 2 + X_{t-1}' AtQi X_t + Qib' X_t - AtQib' X_{t-1} + const[s]``
    with ``const = -(log det Q + b' Qi b) / 2`` (the ``-D/2 log 2 pi`` of each move cancels the
    ``+D/2 log 2 pi`` of integrating out the previous latent, so it is left out throughout).
    """

    def __init__(self, A: np.ndarray, b: np.ndarray, Q: np.ndarray):
        self.Qi = np.linalg.inv(Q)
        self.AtQi = np.swapaxes(A, 1, 2) @ self.Qi
        self.AtQiA = self.AtQi @ A
        self.Qib = np.einsum("lde,le->ld", self.Qi, b)
        self.AtQib = np.einsum("lde,le->ld", self.AtQi, b)
        self.const = -0.5 * (np.linalg.slogdet(Q)[1] + np.einsum("ld,ld->l", b, self.Qib))


def _chain_to_last(diag: np.ndarray, upper: np.ndarray, info: np.ndarray, const: float
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """Integrate a Gaussian chain over all its blocks but the last.

    The chain is ``exp(const - x' P x / 2 + info' x)`` over stacked blocks ``x = (x_0 .. x_m-1)``
    with block-tridiagonal ``P`` (``diag`` on the diagonal, ``upper[k]`` at block (k, k + 1)).
    The first ``m - 1`` blocks ("rest", positive definite) are factorised, ``P_rest = U' U``
    (banded Cholesky); only the last of them couples to the last block, so with
    ``W = U_kk'^-1 upper[-1]`` (``U_kk`` the last diagonal block of ``U``) and
    ``v = U'^-1 info_rest`` the message on the last block is ``J = diag[-1] - W' W``,
    ``h = info[-1] - W' v_k`` and the integral adds ``|v|^2 / 2 - log det U`` (up to
    ``D/2 log 2 pi`` per block integrated). The last block's own precision need not be
    positive definite (a backward message usually is not).

    Returns
    -------
    J, h, l : the message ``exp(l - y' J y / 2 + h' y)`` on the last block y.
    """
    m, D, _ = diag.shape
    if m == 1:
        return diag[0], info[0], const
    U, fail = dpbtrf(banded_upper(diag[:-1], upper[:-1]), lower=0)
    if fail:
        raise np.linalg.LinAlgError("latent chain precision is not positive definite")
    u = U.shape[0] - 1
    v, _ = dtbtrs(U, info[:-1].reshape(-1, 1), uplo="U", trans="T")
    v = v[:, 0]
    # last diagonal block of U from its banded storage: U[k + i, k + j] = U_b[u + i - j, k + j]
    k = (m - 2) * D
    r, c = np.triu_indices(D)
    last = np.zeros((D, D))
    last[r, c] = U[u + r - c, k + c]
    W = np.linalg.solve(last.T, upper[-1])
    J = diag[-1] - W.T @ W
    h = info[-1] - W.T @ v[k:]
    lval = const + 0.5 * v @ v - np.log(U[u]).sum()
    return 0.5 * (J + J.T), h, lval


def _combine(J1, h1, l1, J2, h2, l2) -> float:
    """``log int exp(l1 + l2 - y'(J1 + J2) y / 2 + (h1 + h2)' y) dy`` (up to D/2 log 2 pi)."""
    C = np.linalg.cholesky(J1 + J2)
    v = np.linalg.solve(C, h1 + h2)
    return l1 + l2 - np.log(np.diagonal(C)).sum() + 0.5 * v @ v


class _WindowChain:
    """Messages of the latent chain given the states, carried across windows of bins.

    Forward message at bin t: ``alpha_t(X_t) = exp(l - X_t' J X_t / 2 + h' X_t)`` integrates
    the prior of X_0, every move up to t and the observations of bins 0..t. Backward message:
    ``beta_t(X_t)`` is the evidence of bins t+1.. given X_t. ``log Z = log int alpha_t beta_t``
    for any t. A message is carried across a run of bins in one banded Cholesky factorisation
    (:func:`_chain_to_last`) instead of a Python loop over bins.
    """

    def __init__(self, J_obs: np.ndarray, h_obs: np.ndarray, dyn: _Dynamics):
        self.J, self.h, self.dyn = J_obs, h_obs, dyn

    def _run(self, a: int, seg: np.ndarray):
        """Blocks of the latents of bins a .. a + len(seg): the moves into bins a+1.. under
        states ``seg`` and the observations of bins a+1.. (bin a's own are left out)."""
        d, n = self.dyn, len(seg)
        diag = self.J[a:a + n + 1].copy()
        info = self.h[a:a + n + 1].copy()
        diag[0] = 0.0
        info[0] = 0.0
        diag[1:] += d.Qi[seg]
        diag[:-1] += d.AtQiA[seg]
        info[1:] += d.Qib[seg]
        info[:-1] -= d.AtQib[seg]
        return diag, info, d.const[seg].sum()

    def forward(self, msg, a: int, seg: np.ndarray):
        """alpha at ``a + len(seg)`` from alpha at ``a``; ``seg`` the states of bins a+1...."""
        diag, info, const = self._run(a, seg)
        diag[0] += msg[0]
        info[0] += msg[1]
        return _chain_to_last(diag, -self.dyn.AtQi[seg], info, msg[2] + const)

    def backward(self, msg, a: int, seg: np.ndarray):
        """beta at ``a`` from beta at ``a + len(seg)``; ``seg`` the states of bins a+1...."""
        diag, info, const = self._run(a, seg)
        diag[-1] += msg[0]
        info[-1] += msg[1]
        # reverse the block order so that bin a is the last block
        return _chain_to_last(diag[::-1], np.swapaxes(-self.dyn.AtQi[seg], 1, 2)[::-1],
                              info[::-1], msg[2] + const)


def _first_message(J_obs: np.ndarray, h_obs: np.ndarray):
    """alpha_0: the prior X_0 ~ N(0, I) times bin 0's observation."""
    return np.eye(J_obs.shape[1]) + J_obs[0], h_obs[0].copy(), 0.0


def log_evidence(J_obs, h_obs, states, A, b, Q) -> float:
    """``log int N(X_0; 0, I) prod_t N(X_t; b + A X_{t-1}, Q) exp(-X_t'J_t X_t/2 + h_t'X_t) dX``.

    Up to the constant ``D/2 log 2 pi`` (the same for every state path).
    """
    T, D = h_obs.shape
    chain = _WindowChain(J_obs, h_obs, _Dynamics(A, b, Q))
    alpha = chain.forward(_first_message(J_obs, h_obs), 0, np.asarray(states)[1:])
    return float(_combine(*alpha, np.zeros((D, D)), np.zeros(D), 0.0))


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
    # weights[i, p] = P(s_i = . | s_{i-1} = p, right), unnormalised, for every p at once
    weights = trans[None, :, :] * msg[1:, None, :]
    cums = np.cumsum(weights, axis=2)
    out = np.empty(n, np.int64)
    uniforms = rng.random(n)
    logq = 0.0
    prev = left
    for i in range(n):
        if prev is None:
            w = _row(trans, None, init) * msg[1]
            cum = np.cumsum(w)
        else:
            w, cum = weights[i, prev], cums[i, prev]
        k = min(int(cum.searchsorted(uniforms[i] * cum[-1])), L - 1)
        out[i] = k
        logq += np.log(w[k] / cum[-1])
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
    random lengths (uniform on 1..max_len, independent of the states; the first window starts at
    a random offset); left to right, each window's states are proposed from the transition
    chain conditioned on the states on both sides (the first move's state from ``init``, uniform
    if None; bin 0 copies bin 1), so the Hastings ratio is the evidence ratio
    ``Z(new) / Z(old)``. Both come from the forward message at the window's left edge (current
    states to its left) and the backward messages at its edges (states to its right, not yet
    visited, unchanged); each message is carried across a window in one banded Cholesky
    factorisation.

    Returns
    -------
    states : ndarray of int, shape (T,)
    n_accepted : int
    """
    T, D = h_obs.shape
    states = np.array(states, dtype=np.int64, copy=True)
    if T < 2:
        return states, 0
    # window edges, drawn before any state is touched: windows are [edges[k], edges[k + 1])
    edges = [1 + int(rng.integers(0, max_len))]
    while edges[-1] < T:
        edges.append(min(T, edges[-1] + 1 + int(rng.integers(0, max_len))))
    chain = _WindowChain(J_obs, h_obs, _Dynamics(A, b, Q))
    # backward messages at the last bin before each window (bin edges[k] - 1), right to left
    beta = {T - 1: (np.zeros((D, D)), np.zeros(D), 0.0)}
    for k in range(len(edges) - 2, -1, -1):
        a, e = edges[k] - 1, edges[k + 1] - 1
        beta[a] = chain.backward(beta[e], a, states[a + 1:e + 1])
    alpha = _first_message(J_obs, h_obs)
    if edges[0] > 1:                               # bins before the first window stay as they are
        alpha = chain.forward(alpha, 0, states[1:edges[0]])
    n_acc = 0
    for k in range(len(edges) - 1):
        t1, t2 = edges[k], edges[k + 1]
        a, e = t1 - 1, t2 - 1
        left = states[a] if t1 > 1 else None       # bin 0 carries no move
        right = states[t2] if t2 < T else None
        new, _ = sample_window_states(trans, left, right, t2 - t1, rng, init)
        accepted = False
        if not np.array_equal(new, states[t1:t2]):
            alpha_new = chain.forward(alpha, a, new)
            z_new = _combine(*alpha_new, *beta[e])
            z_old = _combine(*alpha, *beta[a])
            # proposal = prior conditional: prior and proposal ratios cancel
            if np.log(rng.random()) < z_new - z_old:
                states[t1:t2] = new
                alpha = alpha_new
                n_acc += 1
                accepted = True
        if not accepted and k < len(edges) - 2:
            alpha = chain.forward(alpha, a, states[t1:t2])
    states[0] = states[1]
    return states, n_acc
