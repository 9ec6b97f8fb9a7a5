"""Hungarian matching of state labels across fits, restarts and ground truth."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def match_cost(cost: np.ndarray) -> np.ndarray:
    """Permutation minimising the total cost of a square assignment.

    Parameters
    ----------
    cost : ndarray, shape (K, K)
        ``cost[i, j]``: cost of matching reference state i with candidate state j.

    Returns
    -------
    ndarray of int, shape (K,)
        ``perm[i]`` is the candidate state matched to reference state i.
    """
    rows, cols = linear_sum_assignment(np.asarray(cost, float))
    perm = np.empty(len(rows), dtype=np.int64)
    perm[rows] = cols
    return perm


def confusion(reference: np.ndarray, candidate: np.ndarray, k: int) -> np.ndarray:
    """Counts ``C[i, j]`` of bins with reference state i and candidate state j (labels >= 0)."""
    ref, cand = np.ravel(reference), np.ravel(candidate)
    ok = (ref >= 0) & (cand >= 0)
    c = np.zeros((k, k))
    np.add.at(c, (ref[ok], cand[ok]), 1)
    return c


def match_states(reference: np.ndarray, candidate: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """Match candidate state labels to reference labels by maximal overlap.

    Returns
    -------
    perm : ndarray of int, shape (K,)
        Candidate state matched to each reference state.
    accuracy : float
        Fraction of labelled bins whose matched labels agree.
    """
    c = confusion(reference, candidate, k)
    perm = match_cost(-c)
    total = c.sum()
    return perm, float(c[np.arange(k), perm].sum() / total) if total else float("nan")


def match_weights(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Match states by the squared distance between their weight matrices (K, ...)."""
    k = reference.shape[0]
    r = reference.reshape(k, -1)
    c = candidate.reshape(candidate.shape[0], -1)
    cost = ((r[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    return match_cost(cost)
