"""Birth and death of short states, with the dynamics and the transition rows integrated out.

A state that holds a few bins is slow to appear and to vanish under the other state moves:
an empty state's ``(A, b, Q)`` is a prior draw that rarely fits any bin, and a state holding a
few bins has dynamics fitted to them, so it keeps them. The chains then disagree on how often
such a short state is present (split R-hat of the occupied-state count).

This move proposes, given the latent path ``X`` and the global weights ``beta``:

- *birth*: a run of consecutive moves strictly inside one segment (length 1..``max_len``, not
  the whole segment), uniformly among all such runs, is given a state that no move holds,
  uniformly among those;
- *death*: a state whose moves form one run of at most ``max_len`` moves, uniformly among such
  states (when another state is occupied), hands its run to one of the run's neighbouring states
  (uniformly among the distinct ones).

The two are each other's reverse. The target is the state path's marginal with every state's
``(A, b, Q)`` (MNIW) and every transition row (``pi_j ~ Dir(alpha beta + kappa e_j)``)
integrated out::

    p(s_1 | first) prod_j DirMult(n_j. | alpha beta + kappa e_j) prod_l MNIW(moves of l)

so a sweep that follows with the global weights and transition rows given the path, then
``(A, b, Q)`` given the path and the latents, stays exact. Moves are indexed as in the sampler:
bin t (t >= 1) carries the move ``X_{t-1} -> X_t``; bin 0 copies bin 1's state.
"""

from __future__ import annotations

import numpy as np

from neurotools.analyses.biclustering.dynamics import (
    ColumnScales,
    mniw_log_marginal_from_sums,
    state_cross_sums,
)
from neurotools.analyses.biclustering.hmm import transitions_log_marginal


class MniwStats:
    """Sufficient statistics of the moves of every state and their MNIW log marginals."""

    def __init__(self, X: np.ndarray, moves: np.ndarray, L: int, s0: float, nu_extra: float,
                 v0: ColumnScales):
        T, D = X.shape
        Z = np.hstack([X[:-1], np.ones((T - 1, 1))])
        Y = X[1:]
        self.prior = dict(s0=s0, nu_extra=nu_extra, v0=v0)
        # cumulative sums over the moves: run [a, b) has sums cum[b] - cum[a]
        self.czz = np.concatenate([np.zeros((1, D + 1, D + 1)),
                                   np.cumsum(Z[:, :, None] * Z[:, None, :], 0)])
        self.cyz = np.concatenate([np.zeros((1, D, D + 1)),
                                   np.cumsum(Y[:, :, None] * Z[:, None, :], 0)])
        self.cyy = np.concatenate([np.zeros((1, D, D)),
                                   np.cumsum(Y[:, :, None] * Y[:, None, :], 0)])
        onehot = (moves[:, None] == np.arange(L)[None]).astype(float)
        self.zz = state_cross_sums(onehot, Z, Z)
        self.yz = state_cross_sums(onehot, Y, Z)
        self.yy = state_cross_sums(onehot, Y, Y)
        self.n = onehot.sum(0)
        self.logml = np.array([self.log_marginal(self.zz[k], self.yz[k], self.yy[k], self.n[k])
                               for k in range(L)])

    def run(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Sums of the moves ``a .. b-1`` (move indices)."""
        return (self.czz[b] - self.czz[a], self.cyz[b] - self.cyz[a], self.cyy[b] - self.cyy[a],
                float(b - a))

    def log_marginal(self, zz: np.ndarray, yz: np.ndarray, yy: np.ndarray, n: float) -> float:
        """MNIW log marginal of moves with sums ``zz, yz, yy`` (0 for no moves)."""
        return mniw_log_marginal_from_sums(zz, yz, yy, n, **self.prior)

    def move(self, a: int, b: int, src: int, dst: int) -> tuple[float, float, tuple]:
        """Log marginals of ``src`` and ``dst`` after moving the run ``[a, b)`` from src to dst.

        Returns the two values and an opaque update for :meth:`commit`.
        """
        zz, yz, yy, n = self.run(a, b)
        new_src = (self.zz[src] - zz, self.yz[src] - yz, self.yy[src] - yy, self.n[src] - n)
        new_dst = (self.zz[dst] + zz, self.yz[dst] + yz, self.yy[dst] + yy, self.n[dst] + n)
        lm_src = self.log_marginal(*new_src)
        lm_dst = self.log_marginal(*new_dst)
        return lm_src, lm_dst, (src, dst, new_src, new_dst, lm_src, lm_dst)

    def commit(self, update: tuple) -> None:
        """Apply an update returned by :meth:`move`."""
        src, dst, new_src, new_dst, lm_src, lm_dst = update
        for k, (zz, yz, yy, n), lm in ((src, new_src, lm_src), (dst, new_dst, lm_dst)):
            if n <= 0:
                zz, yz, yy = np.zeros_like(zz), np.zeros_like(yz), np.zeros_like(yy)
            self.zz[k], self.yz[k], self.yy[k], self.n[k], self.logml[k] = zz, yz, yy, n, lm


def segments(moves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of every maximal run of equal states."""
    change = np.flatnonzero(np.diff(moves)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(moves)]])
    return starts, ends


def _birth_options(lengths: np.ndarray, max_len: int) -> np.ndarray:
    """Number of strict sub-runs of length 1..max_len in segments of the given lengths."""
    out = np.zeros(len(lengths))
    for i, S in enumerate(lengths):
        m = min(max_len, int(S) - 1)
        if m >= 1:
            ls = np.arange(1, m + 1)
            out[i] = float((S - ls + 1).sum())
    return out


def single_run_states(moves: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                      max_len: int) -> list[tuple[int, int, int]]:
    """States held by one run of at most ``max_len`` moves: ``(state, start, end)``.

    Empty when fewer than two states are occupied. ``starts, ends`` come from :func:`segments`.
    """
    seg_state = moves[starts]
    if len(np.unique(seg_state)) < 2:
        return []
    counts = np.bincount(seg_state)
    out = []
    for a, b, k in zip(starts, ends, seg_state):
        if counts[k] == 1 and b - a <= max_len:
            out.append((int(k), int(a), int(b)))
    return out


def neighbours(moves: np.ndarray, a: int, b: int) -> list[int]:
    """Distinct states just left and right of the run ``[a, b)``."""
    out = []
    if a > 0:
        out.append(int(moves[a - 1]))
    if b < len(moves) and int(moves[b]) not in out:
        out.append(int(moves[b]))
    return out


def birth_death_moves(
    X: np.ndarray,
    states: np.ndarray,
    beta: np.ndarray,
    alpha: float,
    kappa: float,
    first: np.ndarray,
    rng: np.random.Generator,
    n_moves: int = 20,
    max_len: int = 20,
    s0: float = 0.01,
    nu_extra: float = 2.0,
    v0: ColumnScales = 1.0,
) -> tuple[np.ndarray, int]:
    """Metropolis-Hastings birth and death moves of short states (see the module docstring).

    Parameters
    ----------
    X : ndarray, shape (T, D)
        Stacked latent path.
    states : ndarray of int, shape (T,)
        State of each bin; bin 0 copies bin 1's state.
    beta : ndarray, shape (L,)
        Global HDP weights.
    alpha, kappa : float
        HDP concentration and self-transition bias.
    first : ndarray, shape (L,)
        Distribution of the first move's state.
    rng : numpy.random.Generator
    n_moves : int
        Proposals (each a birth or a death with probability 1/2).
    max_len : int
        Longest run (moves) that is born or dies.
    s0, nu_extra : float
        MNIW prior, as in :func:`.dynamics.sample_dynamics`.
    v0 : float or (float, float)
        Column covariance scales of the same prior (:data:`.dynamics.ColumnScales`).

    Returns
    -------
    states : ndarray of int, shape (T,)
    accepted : int
        Number of accepted moves.
    """
    T = X.shape[0]
    L = beta.shape[0]
    states = np.array(states, dtype=np.int64, copy=True)
    if T < 3 or L < 2:
        return states, 0
    moves = states[1:].copy()
    stats = MniwStats(X, moves, L, s0, nu_extra, v0)
    log_first = np.log(first)
    trans_lm = transitions_log_marginal(moves, beta, alpha, kappa)
    accepted = 0
    for _ in range(n_moves):
        starts, ends = segments(moves)
        birth = rng.random() < 0.5
        if birth:
            empty = np.flatnonzero(np.bincount(moves, minlength=L) == 0)
            options = _birth_options(ends - starts, max_len)
            total = options.sum()
            if len(empty) == 0 or total == 0:
                continue
            seg = int(rng.choice(len(options), p=options / total))
            S = int(ends[seg] - starts[seg])
            ls = np.arange(1, min(max_len, S - 1) + 1)
            w = (S - ls + 1).astype(float)
            length = int(rng.choice(ls, p=w / w.sum()))
            a = int(starts[seg]) + int(rng.integers(S - length + 1))
            b = a + length
            src, dst = int(moves[a]), int(rng.choice(empty))
            proposal = moves.copy()
            proposal[a:b] = dst
            # reverse: a death of dst, whose run has src among its neighbours
            p_s, p_e = segments(proposal)
            n_dead = len(single_run_states(proposal, p_s, p_e, max_len))
            log_q_ratio = (-np.log(n_dead) - np.log(len(neighbours(proposal, a, b)))
                           + np.log(total) + np.log(len(empty)))
        else:
            cands = single_run_states(moves, starts, ends, max_len)
            if not cands:
                continue
            src, a, b = cands[int(rng.integers(len(cands)))]
            nbrs = neighbours(moves, a, b)
            dst = nbrs[int(rng.integers(len(nbrs)))]
            proposal = moves.copy()
            proposal[a:b] = dst
            p_s, p_e = segments(proposal)
            empty_after = int(np.sum(np.bincount(proposal, minlength=L) == 0))
            log_q_ratio = (-np.log(_birth_options(p_e - p_s, max_len).sum())
                           - np.log(empty_after)
                           + np.log(len(cands)) + np.log(len(nbrs)))
        lm_src, lm_dst, update = stats.move(a, b, src, dst)
        prop_trans = transitions_log_marginal(proposal, beta, alpha, kappa)
        log_ratio = (lm_src + lm_dst - stats.logml[src] - stats.logml[dst]
                     + prop_trans - trans_lm
                     + log_first[proposal[0]] - log_first[moves[0]] + log_q_ratio)
        if np.log(rng.random()) < log_ratio:
            moves = proposal
            stats.commit(update)
            trans_lm = prop_trans
            accepted += 1
    states[1:] = moves
    states[0] = moves[0]
    return states, accepted
