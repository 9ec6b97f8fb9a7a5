"""Mixture of finite mixtures (Miller & Harrison 2018) for the neuron clusters.

``K ~ Geometric(r_K)`` on {1, 2, ...}, weights ``~ Dirichlet(gamma, ..., gamma)``. The induced
partition prior is ``p(C) = V_n(t) prod_{c in C} gamma^(|c|)`` (rising factorials), with

    V_n(t) = sum_{k >= t} k_(t) / (gamma k)^(n) p_K(k)

(``k_(t)`` falling, ``x^(n)`` rising factorial). A Dirichlet process (concentration ``alpha``)
is the alternative prior.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, logsumexp


def log_geometric_pmf(k: np.ndarray, r_k: float) -> np.ndarray:
    """log P(K = k) for K ~ Geometric(r_k) on {1, 2, ...}."""
    k = np.asarray(k, float)
    return np.log(r_k) + (k - 1) * np.log1p(-r_k)


def log_v_coefficients(n: int, gamma: float, r_k: float, t_max: int | None = None,
                       k_max: int | None = None) -> np.ndarray:
    """The MFM coefficients ``log V_n(t)`` for t = 0..t_max (entry 0 is -inf).

    Parameters
    ----------
    n : int
        Number of items (neurons).
    gamma : float
        Dirichlet concentration per component.
    r_k : float
        Success probability of the geometric prior on K.
    t_max : int, optional
        Largest number of clusters needed (default ``n + 1``).
    k_max : int, optional
        Truncation of the sum over K (default: far enough that the remaining terms are below
        1e-16 of the total).

    Returns
    -------
    ndarray, shape (t_max + 1,)
    """
    t_max = n + 1 if t_max is None else t_max
    if k_max is None:
        # p_K decays like (1-r)^k: keep terms down to e^-40 of the head.
        k_max = int(t_max + 40.0 / max(-np.log1p(-r_k), 1e-6) + 50)
    k = np.arange(1, k_max + 1, dtype=float)
    log_rise = gammaln(gamma * k + n) - gammaln(gamma * k)          # log (gamma k)^(n)
    base = log_geometric_pmf(k, r_k) - log_rise
    out = np.full(t_max + 1, -np.inf)
    for t in range(1, t_max + 1):
        ok = k >= t
        log_fall = gammaln(k[ok] + 1) - gammaln(k[ok] - t + 1)      # log k_(t)
        out[t] = logsumexp(log_fall + base[ok])
    return out


def log_prior_n_clusters(n: int, gamma: float, r_k: float) -> np.ndarray:
    """Prior of the number of occupied clusters t = 0..n under the MFM, as log probabilities.

    Uses ``p(t) = V_n(t) * sum over partitions with t blocks of prod gamma^(|c|)``, the inner sum
    computed by a recursion over items (generalised Stirling numbers).
    """
    log_v = log_v_coefficients(n, gamma, r_k, t_max=n)
    # w[m][t]: sum over partitions of m items into t blocks of prod_c gamma^(|c|), in logs.
    logw = np.full(n + 1, -np.inf)
    logw[0] = 0.0
    for m in range(n):
        new = np.full(n + 1, -np.inf)
        for t in range(0, m + 1):
            if not np.isfinite(logw[t]):
                continue
            # item m+1 joins one of t blocks (sum of sizes m, each block grows: factor |c| + gamma)
            if t > 0:
                new[t] = np.logaddexp(new[t], logw[t] + np.log(m + gamma * t))
            # or opens a new block (factor gamma)
            new[t + 1] = np.logaddexp(new[t + 1], logw[t] + np.log(gamma))
        logw = new
    out = log_v + logw
    out[0] = -np.inf
    return out - logsumexp(out[1:])


def new_cluster_log_weights(
    sizes: np.ndarray, n: int, prior: str, gamma: float, log_v: np.ndarray, alpha_dp: float
) -> tuple[np.ndarray, float]:
    """Log prior weights of joining each existing cluster, and of opening a new one.

    Parameters
    ----------
    sizes : ndarray of int, shape (t,)
        Sizes of the other clusters (the moving item removed), all > 0.
    n : int
        Total number of items.
    prior : str
        ``"mfm"`` or ``"dp"``.
    gamma : float
        MFM Dirichlet concentration.
    log_v : ndarray
        ``log V_n(t)`` from :func:`log_v_coefficients`.
    alpha_dp : float
        DP concentration.

    Returns
    -------
    existing : ndarray, shape (t,)
    new : float
    """
    t = len(sizes)
    if prior == "dp":
        return np.log(sizes.astype(float)), float(np.log(alpha_dp))
    return np.log(sizes + gamma), float(np.log(gamma) + log_v[t + 1] - log_v[t])


def log_partition_prior(sizes: np.ndarray, prior: str, gamma: float, log_v: np.ndarray,
                        alpha_dp: float) -> float:
    """Log prior probability of one partition of ``n = sum(sizes)`` items (exchangeable).

    MFM (Miller & Harrison 2018): ``V_n(t) prod_c gamma^(|c|)`` (rising factorials); DP:
    ``alpha^t Gamma(alpha) / Gamma(alpha + n) prod_c (|c| - 1)!``.

    Parameters
    ----------
    sizes : ndarray of int, shape (t,)
        Block sizes, all > 0.
    prior : str
        ``"mfm"`` or ``"dp"``.
    gamma, log_v, alpha_dp
        As in :func:`new_cluster_log_weights`.
    """
    sizes = np.asarray(sizes, float)
    t, n = len(sizes), float(sizes.sum())
    if prior == "dp":
        return float(t * np.log(alpha_dp) + gammaln(alpha_dp) - gammaln(alpha_dp + n)
                     + gammaln(sizes).sum())
    return float(log_v[t] + (gammaln(gamma + sizes) - gammaln(gamma)).sum())
