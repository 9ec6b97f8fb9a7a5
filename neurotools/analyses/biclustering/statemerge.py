"""Merge and split of whole states, with the dynamics and the transition rows integrated out.

The chains add short "jump" states (a state with large noise ``Q`` in which the latent path
follows a fluctuation of the counts for one or two bins). A chain that has found two or three
such states keeps them apart: their runs lie in different segments, and every other state move
changes one run at a time, so gathering them into one state means first removing every run of
one of them. The chains then disagree on the number of occupied states for hundreds of sweeps.

This move changes the labels of whole states at once, given the latent path ``X`` and the global
weights ``beta``:

- *merge*: an ordered pair ``(u, v)`` of occupied states, uniformly among all such pairs; every
  move of ``u`` goes to ``v``. The pair must not be adjacent anywhere (no move ``u -> v`` or
  ``v -> u``), else the proposal is the current path;
- *split*: an occupied state ``v`` with at least two runs, uniformly among such states, and an
  empty state ``u``, uniformly among those; a non-empty, strict subset of ``v``'s runs, uniformly
  among the ``2^R - 2`` such subsets, goes to ``u``.

A split leaves ``u`` and ``v`` non-adjacent (``v``'s runs are separated by other states), so the
two are each other's reverse. The target is that of :mod:`.birthdeath`::

    p(s_1 | first) prod_j DirMult(n_j. | alpha beta + kappa e_j) prod_l MNIW(moves of l)

Moves are indexed as in the sampler: bin t (t >= 1) carries the move ``X_{t-1} -> X_t``; bin 0
copies bin 1's state.
"""

from __future__ import annotations

import numpy as np

from neurotools.analyses.biclustering.birthdeath import MniwStats, segments
from neurotools.analyses.biclustering.dynamics import ColumnScales
from neurotools.analyses.biclustering.hmm import transitions_log_marginal


def _adjacent(moves: np.ndarray, u: int, v: int) -> bool:
    """Whether a move of ``u`` is followed or preceded by a move of ``v``."""
    a, b = moves[:-1], moves[1:]
    return bool(np.any((a == u) & (b == v)) or np.any((a == v) & (b == u)))


def _multi_run_states(seg_state: np.ndarray) -> np.ndarray:
    """States that hold at least two runs."""
    runs = np.bincount(seg_state)
    return np.flatnonzero(runs >= 2)


def _log_split_choices(n_runs: int) -> float:
    """``log(2^R - 2)``: the non-empty strict subsets of R runs."""
    return float(n_runs * np.log(2.0) + np.log1p(-2.0 ** (1 - n_runs)))


def _sums_of_runs(stats: MniwStats, starts: np.ndarray, ends: np.ndarray) -> tuple:
    """Summed sufficient statistics of the runs ``[starts[i], ends[i])``."""
    parts = [stats.run(int(a), int(b)) for a, b in zip(starts, ends)]
    return tuple(sum(p[i] for p in parts) for i in range(4))


def state_merge_split_moves(
    X: np.ndarray,
    states: np.ndarray,
    beta: np.ndarray,
    alpha: float,
    kappa: float,
    first: np.ndarray,
    rng: np.random.Generator,
    n_moves: int = 10,
    s0: float = 0.01,
    nu_extra: float = 2.0,
    v0: ColumnScales = 1.0,
) -> tuple[np.ndarray, int, int]:
    """Metropolis-Hastings merges and splits of whole states (see the module docstring).

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
        Proposals (each a merge or a split with probability 1/2).
    s0, nu_extra : float
        MNIW prior, as in :func:`.dynamics.sample_dynamics`.
    v0 : float or (float, float)
        Column covariance scales of the same prior (:data:`.dynamics.ColumnScales`).

    Returns
    -------
    states : ndarray of int, shape (T,)
    merges, splits : int
        Accepted merges and splits.
    """
    T = X.shape[0]
    L = beta.shape[0]
    states = np.array(states, dtype=np.int64, copy=True)
    if T < 3 or L < 2:
        return states, 0, 0
    moves = states[1:].copy()
    stats = MniwStats(X, moves, L, s0, nu_extra, v0)
    log_first = np.log(first)
    trans_lm = transitions_log_marginal(moves, beta, alpha, kappa)
    merges = splits = 0
    for _ in range(n_moves):
        starts, ends = segments(moves)
        seg_state = moves[starts]
        occupied = np.unique(seg_state)
        n_occ = len(occupied)
        if rng.random() < 0.5:                                    # merge u into v
            if n_occ < 2:
                continue
            u, v = (int(k) for k in rng.choice(occupied, size=2, replace=False))
            if _adjacent(moves, u, v):
                continue
            proposal = np.where(moves == u, v, moves)
            n_runs = int(np.sum(seg_state == u) + np.sum(seg_state == v))
            n_multi = len(_multi_run_states(proposal[segments(proposal)[0]]))
            n_empty = L - n_occ + 1
            log_q_ratio = (-np.log(n_multi) - np.log(n_empty) - _log_split_choices(n_runs)
                           + np.log(n_occ * (n_occ - 1)))
            src_new = (0.0 * stats.zz[u], 0.0 * stats.yz[u], 0.0 * stats.yy[u], 0.0)
            dst_new = (stats.zz[u] + stats.zz[v], stats.yz[u] + stats.yz[v],
                       stats.yy[u] + stats.yy[v], stats.n[u] + stats.n[v])
            merge = True
        else:                                                     # split part of v into u
            multi = _multi_run_states(seg_state)
            empty = np.flatnonzero(np.bincount(moves, minlength=L) == 0)
            if len(multi) == 0 or len(empty) == 0:
                continue
            v, u = int(rng.choice(multi)), int(rng.choice(empty))
            mine = np.flatnonzero(seg_state == v)
            while True:                                           # uniform strict subset
                take = rng.random(len(mine)) < 0.5
                if 0 < take.sum() < len(mine):
                    break
            proposal = moves.copy()
            for i in mine[take]:
                proposal[starts[i]:ends[i]] = u
            log_q_ratio = (-np.log((n_occ + 1) * n_occ)
                           + np.log(len(multi)) + np.log(len(empty))
                           + _log_split_choices(len(mine)))
            src_new = _sums_of_runs(stats, starts[mine[take]], ends[mine[take]])
            dst_new = tuple(a - b for a, b in zip((stats.zz[v], stats.yz[v], stats.yy[v],
                                                   stats.n[v]), src_new))
            merge = False
        lm_u = stats.log_marginal(*src_new)
        lm_v = stats.log_marginal(*dst_new)
        prop_trans = transitions_log_marginal(proposal, beta, alpha, kappa)
        log_ratio = (lm_u + lm_v - stats.logml[u] - stats.logml[v]
                     + prop_trans - trans_lm
                     + log_first[proposal[0]] - log_first[moves[0]] + log_q_ratio)
        if np.log(rng.random()) < log_ratio:
            moves = proposal
            stats.commit((u, v, src_new, dst_new, lm_u, lm_v))
            trans_lm = prop_trans
            merges += merge
            splits += not merge
    states[1:] = moves
    states[0] = moves[0]
    return states, merges, splits
