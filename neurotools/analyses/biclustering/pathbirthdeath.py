"""Short runs of states change state together with the latent path around them.

The short states that the chains keep for long stretches are *jumps*: the state has large-noise
dynamics fitted to a few moves, and the latent path jumps inside it. With the path fixed, handing
such a run to a neighbouring state costs tens to hundreds of nats (the path's jump is then
unlikely); with the state's dynamics fixed, the path integrated out, it costs a few nats, and
neither the window moves nor :mod:`.birthdeath` see the state's dynamics go (docs: "Why the
occupied-state count mixes slowly"). A spare state can also hold several such runs.

This move changes the state of a short run, the latent path on a window around it, and the
dynamics and transition row of the state ``u`` that loses or gains the run, in one
Metropolis-Hastings step (reversible jump when ``u`` is born or dies). Given the Polya-gamma draws
(Gaussian pseudo-observations ``J, h``) the target is the chain's joint density::

    pi(s, X, theta, pi_rows) = p(s | rows, first) p(rows | beta) prod_l p(theta_l)
        N(X_0; 0, I) prod_t N(X_t; b + A X_{t-1}, Q)[s_t] exp(h_t'X_t - X_t'J_t X_t / 2) w(X)

(``w`` is the Poisson correction of the Poisson model, else 1). A proposal
(:func:`propose_run_move`: a short segment joins a neighbour, or a sub-run of a segment takes
another state)

- redraws the path on the window (the run's bins and ``margin`` bins each side) from its Gaussian
  conditional given the path outside, the pseudo-observations and the proposed states' dynamics;
  the moves of ``u`` use a proxy (the host state's ``A, b`` and its ``Q`` times ``inflation``),
  which depends only on what the move leaves unchanged;
- draws ``u``'s dynamics and transition row from their conditional given the proposed path and
  states (the prior when ``u`` is left empty).

Those draws cancel ``u``'s dynamics and row from the ratio: they enter it as the MNIW marginal of
all of ``u``'s moves and the Dirichlet-multinomial marginal of its row, so the Hastings ratio is::

    [pi~(s', X') / q(X'_W | s')] / [pi~(s, X) / q(X_W | s)] * q_discrete ratio

with ``pi~`` the target with ``theta_u`` and row ``u`` integrated out. Every other state's
dynamics and row, the global weights and the pseudo-observations stay fixed. Moves are indexed as
in the sampler: bin t (t >= 1) carries the move ``X_{t-1} -> X_t``; bin 0 copies bin 1's state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_solve_banded, cholesky_banded, solve_banded
from scipy.special import gammaln

from neurotools.analyses.biclustering.birthdeath import neighbours, segments
from neurotools.analyses.biclustering.dynamics import (
    ColumnScales,
    mniw_log_marginal_from_sums,
    sample_dynamics,
)
from neurotools.analyses.biclustering.hmm import sample_dirichlet, transition_counts
from neurotools.analyses.biclustering.kalman import banded_upper, symmetrize


@dataclass
class HmmParams:
    """The chain's state dynamics and transition rows (changed in place by the move).

    Attributes
    ----------
    A, b, Q : ndarray, shapes (L, D, D), (L, D), (L, D, D)
        Affine dynamics and noise covariance of every state.
    trans : ndarray, shape (L, L)
        Transition rows.
    beta : ndarray, shape (L,)
        Global HDP weights (fixed by the move).
    first : ndarray, shape (L,)
        Distribution of the first move's state (fixed by the move).
    alpha, kappa : float
        HDP concentration and self-transition bias.
    """

    A: np.ndarray
    b: np.ndarray
    Q: np.ndarray
    trans: np.ndarray
    beta: np.ndarray
    first: np.ndarray
    alpha: float
    kappa: float


@dataclass(frozen=True)
class MniwPrior:
    """MNIW prior of every state's ``(A, b, Q)``, as in :func:`.dynamics.sample_dynamics`."""

    s0: float = 0.01
    nu_extra: float = 2.0
    v0: ColumnScales = 1.0


class _Problem:
    """Everything one call needs: data, parameters and cached inverses of the state noises."""

    def __init__(self, J_obs, h_obs, hmm: HmmParams, prior: MniwPrior, inflation: float,
                 log_weight: Callable[[np.ndarray], float] | None):
        self.J, self.h, self.hmm, self.prior = J_obs, h_obs, hmm, prior
        self.inflation = inflation
        self.log_weight = log_weight
        self.L = hmm.beta.shape[0]
        self.Qi = np.empty_like(hmm.Q)
        self.logdet_q = np.empty(self.L)
        for k in range(self.L):
            self.refresh(k)

    def refresh(self, k: int) -> None:
        """Recompute the cached inverse and log-determinant of state k's noise."""
        self.Qi[k] = np.linalg.inv(self.hmm.Q[k])
        self.logdet_q[k] = np.linalg.slogdet(self.hmm.Q[k])[1]

    def dynamics(self, u: int, host: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(A, b, Q^-1)`` of every state, state ``u``'s replaced by the proxy from ``host``."""
        A, b, Qi = self.hmm.A.copy(), self.hmm.b.copy(), self.Qi.copy()
        A[u], b[u], Qi[u] = A[host], b[host], Qi[host] / self.inflation
        return A, b, Qi

    def log_states(self, moves: np.ndarray, u: int) -> float:
        """``log p(moves | rows, first)`` with row ``u`` integrated out."""
        hmm = self.hmm
        n = transition_counts(moves, self.L)
        others = np.arange(self.L) != u
        value = float(np.sum(n[others] * np.log(hmm.trans[others]))) + np.log(hmm.first[moves[0]])
        conc = hmm.alpha * hmm.beta + hmm.kappa * (np.arange(self.L) == u)
        nu = n[u]
        value += (gammaln(conc.sum()) - gammaln(conc.sum() + nu.sum())
                  + np.sum(gammaln(conc + nu) - gammaln(conc)))
        return float(value)


def _sub_run_lengths(moves: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Per start move: the longest sub-run starting there and whether length 1.. includes a
    whole segment (which is not a strict sub-run).

    Returns
    -------
    longest : ndarray of int, shape (n,)
        ``min(max_len, end of the start's segment - start)``.
    whole : ndarray of bool, shape (n,)
        The start opens its segment and the segment has at most ``max_len`` moves.
    """
    starts, ends = segments(moves)
    lengths = ends - starts
    seg_end = np.repeat(ends, lengths)
    seg_start = np.repeat(starts, lengths)
    idx = np.arange(len(moves))
    longest = np.minimum(max_len, seg_end - idx)
    whole = (idx == seg_start) & (seg_end - seg_start <= max_len)
    return longest, whole


def _sub_run_total(moves: np.ndarray, max_len: int, weights: np.ndarray) -> float:
    """Normaliser of the sub-run proposal: sum over strict sub-runs of their start's weight."""
    longest, whole = _sub_run_lengths(moves, max_len)
    return float(np.sum(weights * (longest - whole)))


def propose_run_move(moves: np.ndarray, L: int, max_len: int, rng: np.random.Generator,
                     weights: np.ndarray | None = None
                     ) -> tuple[np.ndarray, int, int, int, int, float] | None:
    """One proposal: a short segment joins a neighbour, or a sub-run of a segment changes state.

    With probability 1/2 a segment of at most ``max_len`` moves (uniformly among them; at least
    two segments) is handed to one of its distinct neighbouring states (uniformly); else a strict
    sub-run of a segment (length 1..``max_len``; probability proportional to the weight of its
    first move, uniform when ``weights`` is None) is given one of the other ``L - 1`` states
    (uniformly). The two are each other's reverse; a sub-run next to a run of its new state has
    no reverse and is not proposed (None). A state that loses its only run dies; a state that
    gets its first is born. ``weights`` must not depend on the states or the path.

    Returns
    -------
    None, or ``(proposal, a, b, u, host, log_q_ratio)``: the proposed moves, the run ``[a, b)``
    that changes, the state ``u`` that loses or gains it, the state ``host`` that holds it in the
    other configuration, and ``log q(reverse) - log q(forward)``.
    """
    n = len(moves)
    weights = np.ones(n) if weights is None else weights
    starts, ends = segments(moves)
    if rng.random() < 0.5:                                    # a short segment joins a neighbour
        short = np.flatnonzero(ends - starts <= max_len) if len(starts) > 1 else []
        if len(short) == 0:
            return None
        i = int(short[int(rng.integers(len(short)))])
        a, b = int(starts[i]), int(ends[i])
        u = int(moves[a])
        nbrs = neighbours(moves, a, b)
        host = nbrs[int(rng.integers(len(nbrs)))]
        proposal = moves.copy()
        proposal[a:b] = host
        log_q_ratio = (np.log(weights[a]) - np.log(_sub_run_total(proposal, max_len, weights))
                       - np.log(L - 1) + np.log(len(short)) + np.log(len(nbrs)))
        return proposal, a, b, u, host, float(log_q_ratio)
    longest, whole = _sub_run_lengths(moves, max_len)      # a sub-run changes state
    mass = weights * (longest - whole)
    total = float(mass.sum())
    if total <= 0:
        return None
    a = int(rng.choice(n, p=mass / total))
    # lengths 1..longest, without the whole segment (then longest) when the start opens it
    b = a + int(rng.integers(int(longest[a] - whole[a]))) + 1
    host = int(moves[a])
    u = int(rng.integers(L - 1))
    u += u >= host
    if (a > 0 and moves[a - 1] == u) or (b < n and moves[b] == u):
        return None
    proposal = moves.copy()
    proposal[a:b] = u
    p_s, p_e = segments(proposal)
    n_short = int(np.sum(p_e - p_s <= max_len))
    log_q_ratio = (-np.log(n_short) - np.log(len(neighbours(proposal, a, b)))
                   + np.log(total) - np.log(weights[a]) + np.log(L - 1))
    return proposal, a, b, u, host, float(log_q_ratio)


def jump_scores(J_obs: np.ndarray, h_obs: np.ndarray, floor: float = 0.1) -> np.ndarray:
    """Weight of every move as the start of a new run: how far the counts alone make it jump.

    Each bin's counts alone (with the ``N(0, I)`` scale of the path) give the path a Gaussian
    ``N(m_t, P_t^-1)``, ``P_t = J_t + I``, ``m_t = P_t^-1 h_t``. A move's jump is the squared
    change ``m_{t+1} - m_t`` in units of its own uncertainty, per dimension (about 1 where the
    counts do not jump); its score is that squared (so that jumps stand out), plus ``floor`` so
    that every move can start a run.

    Parameters
    ----------
    J_obs, h_obs : ndarray, shapes (T, D, D) and (T, D)
        Gaussian pseudo-observations of the path.
    floor : float
        Added to every score.

    Returns
    -------
    ndarray, shape (T - 1,)
    """
    T, D = h_obs.shape
    P = J_obs + np.eye(D)[None]
    cov = np.linalg.inv(P)
    m = np.einsum("tde,te->td", cov, h_obs)
    jump = m[1:] - m[:-1]
    prec = np.linalg.inv(cov[1:] + cov[:-1])
    return (np.einsum("td,tde,te->t", jump, prec, jump) / D) ** 2 + floor


def _window_bins(T: int, a: int, b: int, margin: int) -> tuple[int, int]:
    """First and last bin of the path window of the run of moves ``[a, b)``."""
    return max(0, a - margin), min(T - 1, b + margin)


def _touching_moves(T: int, lo: int, hi: int) -> np.ndarray:
    """Moves ``m`` (``X_m -> X_{m+1}``) with an end in the bins ``lo..hi``."""
    return np.arange(max(lo - 1, 0), min(hi, T - 2) + 1)


def _conditional(prob: _Problem, X: np.ndarray, moves: np.ndarray, lo: int, hi: int, u: int,
                 host: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``p(X[lo..hi] | rest)`` under the states ``moves``: a block-tridiagonal Gaussian.

    The precision collects the pseudo-observations of the window's bins, the prior of ``X_0``
    when the window starts at bin 0, and every move with an end in the window (the moves of ``u``
    with the proxy dynamics).

    Returns
    -------
    diag, upper : ndarray, shapes (n, D, D) and (n - 1, D, D)
        Blocks of the precision (``n = hi - lo + 1``).
    chol : ndarray
        Its upper Cholesky factor in banded storage (:func:`.kalman.banded_upper`).
    mean : ndarray, shape (n D,)
    """
    T, D = X.shape
    A, b, Qi = prob.dynamics(u, host)
    AtQi = np.swapaxes(A, 1, 2) @ Qi
    AtQiA = AtQi @ A
    Qib = np.einsum("lde,le->ld", Qi, b)
    AtQib = np.einsum("lde,le->ld", AtQi, b)
    diag = np.array(prob.J[lo:hi + 1], dtype=float, copy=True)
    info = np.array(prob.h[lo:hi + 1], dtype=float, copy=True)
    if lo == 0:
        diag[0] += np.eye(D)
    k = moves[lo:hi]                                       # moves with both ends in the window
    diag[1:] += Qi[k]
    diag[:-1] += AtQiA[k]
    info[1:] += Qib[k]
    info[:-1] -= AtQib[k]
    upper = -AtQi[k]
    if lo >= 1:                                            # X_{lo-1} fixed
        kl = moves[lo - 1]
        diag[0] += Qi[kl]
        info[0] += Qi[kl] @ (A[kl] @ X[lo - 1] + b[kl])
    if hi <= T - 2:                                        # X_{hi+1} fixed
        kr = moves[hi]
        diag[-1] += AtQiA[kr]
        info[-1] += AtQi[kr] @ (X[hi + 1] - b[kr])
    chol = cholesky_banded(banded_upper(symmetrize(diag), upper))
    mean = cho_solve_banded((chol, False), info.reshape(-1))
    return diag, upper, chol, mean


def _gaussian_log_density(x: np.ndarray, diag: np.ndarray, upper: np.ndarray,
                          chol: np.ndarray, mean: np.ndarray) -> float:
    """Log density of ``x`` (flat) under the Gaussian of :func:`_conditional`."""
    e = (x - mean).reshape(diag.shape[0], -1)
    quad = (np.einsum("td,tde,te->", e, diag, e)
            + 2.0 * np.einsum("td,tde,te->", e[:-1], upper, e[1:]))
    return float(np.log(chol[-1]).sum() - 0.5 * quad - 0.5 * x.size * np.log(2 * np.pi))


def _log_target(prob: _Problem, X: np.ndarray, moves: np.ndarray, lo: int, hi: int,
                u: int) -> float:
    """Terms of ``log pi~`` that depend on the window's path or on the states (see module)."""
    T, D = X.shape
    W = X[lo:hi + 1]
    value = float(np.einsum("td,td->", prob.h[lo:hi + 1], W)
                  - 0.5 * np.einsum("td,tde,te->", W, prob.J[lo:hi + 1], W))
    if lo == 0:
        value -= 0.5 * float(X[0] @ X[0])
    m = _touching_moves(T, lo, hi)
    k = moves[m]
    m, k = m[k != u], k[k != u]
    mine = np.flatnonzero(moves == u)                      # all of u's moves: one MNIW marginal
    e = X[m + 1] - np.einsum("mde,me->md", prob.hmm.A[k], X[m]) - prob.hmm.b[k]
    value -= 0.5 * float(np.einsum("md,mde,me->", e, prob.Qi[k], e)
                         + prob.logdet_q[k].sum() + len(m) * D * np.log(2 * np.pi))
    if len(mine):
        Z = np.hstack([X[mine], np.ones((len(mine), 1))])
        Y = X[mine + 1]
        value += mniw_log_marginal_from_sums(Z.T @ Z, Y.T @ Z, Y.T @ Y, float(len(mine)),
                                             prob.prior.s0, prob.prior.nu_extra, prob.prior.v0)
    value += prob.log_states(moves, u)
    if prob.log_weight is not None:
        value += prob.log_weight(X)
    return value


def path_birth_death_moves(
    X: np.ndarray,
    states: np.ndarray,
    J_obs: np.ndarray,
    h_obs: np.ndarray,
    hmm: HmmParams,
    rng: np.random.Generator,
    n_moves: int = 10,
    max_len: int = 20,
    margin: int = 10,
    inflation: float = 25.0,
    prior: MniwPrior = MniwPrior(),
    log_weight: Callable[[np.ndarray], float] | None = None,
    start_weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Moves of short runs of states with the path around them (see the module docstring).

    Parameters
    ----------
    X : ndarray, shape (T, D)
        Stacked latent path.
    states : ndarray of int, shape (T,)
        State of each bin; bin 0 copies bin 1's state.
    J_obs, h_obs : ndarray, shapes (T, D, D) and (T, D)
        Gaussian pseudo-observations of the path (one Polya-gamma draw).
    hmm : HmmParams
        Dynamics and transition rows; the dynamics and row of a state that loses or gains a run
        are redrawn in place.
    rng : numpy.random.Generator
    n_moves : int
        Proposals (:func:`propose_run_move`).
    max_len : int
        Longest run (moves) that changes state.
    margin : int
        Bins of path redrawn on each side of the run (bins).
    inflation : float
        Factor on the host state's noise covariance in the proxy dynamics of the new state.
    prior : MniwPrior
        MNIW prior of the dynamics.
    log_weight : callable or None
        Extra log factor of the target as a function of the whole path (Poisson correction).
    start_weights : ndarray, shape (T - 1,), optional
        Positive weight of each move as the start of a sub-run that changes state (uniform if
        None); it must not depend on the states or the path (:func:`jump_scores`).

    Returns
    -------
    X : ndarray, shape (T, D)
    states : ndarray of int, shape (T,)
    accepted : int
        Number of accepted moves.
    """
    T, D = X.shape
    L = hmm.beta.shape[0]
    X = np.array(X, dtype=float, copy=True)
    states = np.array(states, dtype=np.int64, copy=True)
    if T < 3 or L < 2:
        return X, states, 0
    prob = _Problem(J_obs, h_obs, hmm, prior, inflation, log_weight)
    moves = states[1:].copy()
    accepted = 0
    for _ in range(n_moves):
        proposed = propose_run_move(moves, L, max_len, rng, start_weights)
        if proposed is None:
            continue
        proposal, a, b, u, host, log_q_ratio = proposed
        lo, hi = _window_bins(T, a, b, margin)
        diag, upper, chol, mean = _conditional(prob, X, proposal, lo, hi, u, host)
        draw = mean + solve_banded((0, chol.shape[0] - 1), chol,
                                   rng.standard_normal(mean.shape))
        X_new = X.copy()
        X_new[lo:hi + 1] = draw.reshape(-1, D)
        log_ratio = (_log_target(prob, X_new, proposal, lo, hi, u)
                     - _gaussian_log_density(draw, diag, upper, chol, mean)
                     - _log_target(prob, X, moves, lo, hi, u)
                     + _gaussian_log_density(X[lo:hi + 1].reshape(-1),
                                             *_conditional(prob, X, moves, lo, hi, u, host))
                     + log_q_ratio)
        if np.log(rng.random()) < log_ratio:
            X, moves = X_new, proposal
            accepted += 1
            _redraw_state(prob, X, moves, u, rng)
    states[1:] = moves
    states[0] = moves[0]
    return X, states, accepted


def _redraw_state(prob: _Problem, X: np.ndarray, moves: np.ndarray, u: int,
                  rng: np.random.Generator) -> None:
    """Draw state u's dynamics and transition row from their conditional (prior if empty)."""
    hmm, prior = prob.hmm, prob.prior
    only_u = np.where(moves == u, 0, 1)
    states = np.concatenate([only_u[:1], only_u])
    A, b, Q = sample_dynamics(X, states, 1, rng, prior.s0, prior.nu_extra, prior.v0)
    hmm.A[u], hmm.b[u], hmm.Q[u] = A[0], b[0], Q[0]
    prob.refresh(u)
    n = transition_counts(moves, prob.L)[u]
    conc = hmm.alpha * hmm.beta + hmm.kappa * (np.arange(prob.L) == u) + n
    hmm.trans[u] = sample_dirichlet(conc, rng)
