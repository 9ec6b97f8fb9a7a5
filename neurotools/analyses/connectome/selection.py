"""Comparing CP models and choosing the rank.

The factor match score (Williams et al. 2018, Neuron) pairs the components of two CP models by the
Hungarian algorithm on the product over modes of the cosine similarities of their factors,
optionally penalised by the mismatch of their weights; 1 means identical models up to permutation
and scaling. Rank selection fits several random restarts per rank and looks at two curves: the
best reconstruction error and the similarity of the restarts to the best one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

#: Restart similarity (factor match score, 0-1) a rank needs to be suggested.
MIN_SIMILARITY = 0.8
#: Fraction of the whole error drop over the scan a rank must add to be suggested.
MIN_GAIN = 0.2


def _unit(f: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(f, axis=0)
    return f / np.where(n > 0, n, 1.0)


def factor_match(
    factors_a: list[np.ndarray],
    factors_b: list[np.ndarray],
    weights_a: np.ndarray | None = None,
    weights_b: np.ndarray | None = None,
    modes: list[int] | None = None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Factor match score between two CP models and the matching of their components.

    Parameters
    ----------
    factors_a, factors_b : list of ndarray
        Factor matrices (I_n, R_a) and (I_n, R_b) of the same modes.
    weights_a, weights_b : ndarray or None
        Component weights; when both are given, a pair's score is multiplied by
        ``1 - |w_a - w_b| / max(w_a, w_b)`` (computed after normalising the factors).
    modes : list of int or None
        Modes to compare (default: all).

    Returns
    -------
    score : float
        Mean matched similarity over the components of ``a`` (unmatched ones count 0), in [0, 1].
    idx_a, idx_b : ndarray of int
        Matched component indices.
    """
    modes = list(range(len(factors_a))) if modes is None else modes
    ra = factors_a[0].shape[1]
    rb = factors_b[0].shape[1]
    sim = np.ones((ra, rb))
    wa = np.ones(ra) if weights_a is None else np.asarray(weights_a, float).copy()
    wb = np.ones(rb) if weights_b is None else np.asarray(weights_b, float).copy()
    for m in range(len(factors_a)):
        na = np.linalg.norm(factors_a[m], axis=0)
        nb = np.linalg.norm(factors_b[m], axis=0)
        wa = wa * na
        wb = wb * nb
        if m in modes:
            sim = sim * np.abs(_unit(factors_a[m]).T @ _unit(factors_b[m]))
    if weights_a is not None and weights_b is not None:
        top = np.maximum(wa[:, None], wb[None, :])
        sim = sim * (1 - np.abs(wa[:, None] - wb[None, :]) / np.where(top > 0, top, 1.0))
    ia, ib = linear_sum_assignment(-sim)
    return float(sim[ia, ib].sum() / max(ra, 1)), ia, ib


@dataclass
class RankScan:
    """Rank selection curves.

    Attributes
    ----------
    ranks : ndarray of int, shape (K,)
        Ranks that were fitted.
    errors : ndarray, shape (K, restarts)
        Final relative error of every restart (sorted, best first).
    similarity : ndarray, shape (K,)
        Mean factor match score of the other restarts to the best one (1 when one restart).
    suggested : int
        Suggested rank.
    """

    ranks: np.ndarray
    errors: np.ndarray
    similarity: np.ndarray
    suggested: int


def suggest_rank(
    ranks: np.ndarray,
    best_errors: np.ndarray,
    similarity: np.ndarray,
    min_similarity: float = MIN_SIMILARITY,
    min_gain: float = MIN_GAIN,
) -> int:
    """Suggest a rank from the error and restart-similarity curves.

    The suggestion is the largest rank that (a) is stable, i.e. its restarts agree with a factor
    match score of at least ``min_similarity`` and (b) still lowers the best relative error by at
    least ``min_gain`` times the whole drop of the error over the scanned range. Rank 1 (or the
    lowest scanned) when none qualifies.

    Parameters
    ----------
    ranks : ndarray of int, shape (K,)
        Increasing ranks.
    best_errors : ndarray, shape (K,)
        Best relative error per rank.
    similarity : ndarray, shape (K,)
        Restart similarity per rank.
    min_similarity : float
        Stability threshold in [0, 1].
    min_gain : float
        Fraction of the total error drop a rank must add to be worth it.

    Returns
    -------
    int
    """
    ranks = np.asarray(ranks)
    err = np.asarray(best_errors, float)
    if len(ranks) == 1:
        return int(ranks[0])
    total = err[0] - np.min(err)
    best = int(ranks[0])
    for k in range(1, len(ranks)):
        gain = err[k - 1] - err[k]
        if total > 0 and gain >= min_gain * total and similarity[k] >= min_similarity:
            best = int(ranks[k])
        elif total <= 0:
            break
    return best
