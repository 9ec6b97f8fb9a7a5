"""Weighted stochastic block model (WSBM) with exponential edge weights, by variational EM.

Model (Aicher, Jacobs & Clauset 2015, the "edge existence + weight" WSBM): every node i has a
group z_i ~ Categorical(pi); for a pair i<j in groups (k, l) an edge exists with probability
p_kl and, when it exists, its weight is Exponential with rate lam_kl. Exact zeros are thus
"no edge", which suits sparse non-negative factors; a complete graph simply has p_kl = 1.

Inference is mean-field variational EM (Daudin, Picard & Robin 2008) from a spectral start and a
few random starts; the number of groups K is chosen by the integrated classification likelihood
(ICL), which penalises the (K - 1) mixing and the block parameters by half their log sample size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.vq import kmeans2
from scipy.special import logsumexp

_EPS = 1e-10


@dataclass
class WSBMFit:
    """A fitted WSBM.

    Attributes
    ----------
    labels : ndarray of int, shape (N,)
        Group of each node (0..K-1, ordered by first appearance).
    n_groups : int
        Chosen number of groups K.
    responsibilities : ndarray, shape (N, K)
        Variational posterior of each node's group.
    edge_prob : ndarray, shape (K, K)
        Probability that a pair between two groups has a non-zero weight.
    mean_weight : ndarray, shape (K, K)
        Mean of the non-zero weights between two groups (1 / rate), in the input's units.
    icl : dict of int to float
        ICL of every K tried (higher is better).
    """

    labels: np.ndarray
    n_groups: int
    responsibilities: np.ndarray
    edge_prob: np.ndarray
    mean_weight: np.ndarray
    icl: dict


def _check_graph(W: np.ndarray) -> np.ndarray:
    W = np.asarray(W, float)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"expected a square weight matrix, got shape {W.shape}")
    if not np.all(np.isfinite(W)) or (W.size and W.min() < 0):
        raise ValueError("weights must be finite and non-negative")
    W = 0.5 * (W + W.T)
    np.fill_diagonal(W, 0.0)
    return W


def _m_step(tau: np.ndarray, E: np.ndarray, W: np.ndarray):
    tot = tau.sum(0)
    n = np.outer(tot, tot) - tau.T @ tau
    e = tau.T @ E @ tau
    s = tau.T @ W @ tau
    p = np.clip(e / np.maximum(n, _EPS), _EPS, 1 - _EPS)
    lam = np.where(e > _EPS, e / np.maximum(s, _EPS), 1.0)
    pi = np.clip(tot / tot.sum(), _EPS, None)
    return pi, p, lam, n, e, s


def _block_loglik(p, lam, n, e, s) -> float:
    # 0.5: ordered pairs count each unordered pair twice
    return 0.5 * float(np.sum(e * (np.log(p) + np.log(lam)) - s * lam + (n - e) * np.log1p(-p)))


def _vem(E, W, NE, tau, n_iter: int = 200, tol: float = 1e-7):
    elbo_old = -np.inf
    for _ in range(n_iter):
        pi, p, lam, n, e, s = _m_step(tau, E, W)
        A = np.log(p) + np.log(lam)
        B = -lam
        C = np.log1p(-p)
        logt = np.log(pi)[None, :] + (E @ tau) @ A.T + (W @ tau) @ B.T + (NE @ tau) @ C.T
        logt -= logsumexp(logt, axis=1, keepdims=True)
        tau = np.exp(logt)
        pi, p, lam, n, e, s = _m_step(tau, E, W)
        ent = -float(np.sum(tau * np.log(np.clip(tau, 1e-300, None))))
        elbo = float(np.sum(tau @ np.log(pi))) + ent + _block_loglik(p, lam, n, e, s)
        if elbo - elbo_old < tol * abs(elbo):
            break
        elbo_old = elbo
    return tau, elbo


def _icl(labels: np.ndarray, K: int, E, W, complete: bool) -> float:
    N = len(labels)
    tau = np.eye(K)[labels]
    pi, p, lam, n, e, s = _m_step(tau, E, W)
    counts = tau.sum(0)
    ll = float(np.sum(counts[counts > 0] * np.log(counts[counts > 0] / N)))
    ll += _block_loglik(p, lam, n, e, s)
    n_block = K * (K + 1) // 2 * (1 if complete else 2)
    return ll - 0.5 * (K - 1) * np.log(N) - 0.5 * n_block * np.log(N * (N - 1) / 2)


def _spectral_start(vecs: np.ndarray, K: int, rng: np.random.Generator) -> np.ndarray:
    _, lab = kmeans2(vecs[:, :K], K, minit="++", seed=rng, iter=50)
    return lab


def _eigenvectors(W: np.ndarray) -> np.ndarray:
    """Eigenvectors of W, largest eigenvalue first (the spectral embedding)."""
    vals, vecs = np.linalg.eigh(W)
    return vecs[:, np.argsort(-vals)]


def fit_wsbm_k(
    W: np.ndarray, K: int, seed: int = 0, starts: int = 8, vecs: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Fit a WSBM with exactly ``K`` groups; return (responsibilities [N, K], ELBO).

    ``vecs`` (the eigenvectors of W, largest first) can be passed to skip recomputing them.
    """
    W = _check_graph(W)
    N = W.shape[0]
    scale = W[W > 0].mean() if np.any(W > 0) else 1.0
    Ws = W / scale
    E = (Ws > 0).astype(float)
    NE = 1.0 - E
    np.fill_diagonal(NE, 0.0)
    rng = np.random.default_rng(seed)
    best = (None, -np.inf)
    for s in range(starts):
        # mostly spectral starts (k-means on the leading eigenvectors, new seeds), one random
        if s < max(starts - 1, 1):
            if vecs is None:
                vecs = _eigenvectors(Ws)
            lab = _spectral_start(vecs, K, rng)
        else:
            lab = rng.integers(0, K, N)
        tau = 0.9 * np.eye(K)[lab] + 0.1 / K
        tau, elbo = _vem(E, Ws, NE, tau)
        if elbo > best[1]:
            best = (tau, elbo)
    return best


def _relabel(labels: np.ndarray) -> np.ndarray:
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first)
    mapping = np.empty(labels.max() + 1, int)
    mapping[np.unique(labels)[order]] = np.arange(len(order))
    return mapping[labels]


def fit_wsbm(W: np.ndarray, max_groups: int = 10, seed: int = 0, starts: int = 8) -> WSBMFit:
    """Weighted community detection: the number of groups is chosen by ICL.

    Parameters
    ----------
    W : ndarray, shape (N, N)
        Symmetric non-negative weights (the diagonal is ignored; zero = no edge).
    max_groups : int
        Largest K tried (K runs from 1 upward and stops after two ICL decreases in a row).
    seed : int
        Seed of the k-means and random starts.
    starts : int
        Variational EM starts per K (spectral k-means starts with new seeds, the last random).

    Returns
    -------
    WSBMFit
    """
    W = _check_graph(W)
    N = W.shape[0]
    if N < 2 or not np.any(W > 0):
        return WSBMFit(np.zeros(N, int), 1, np.ones((N, 1)), np.zeros((1, 1)), np.zeros((1, 1)), {1: 0.0})
    scale = W[W > 0].mean()
    Ws = W / scale
    E = (Ws > 0).astype(float)
    complete = bool(E.sum() == N * (N - 1))
    icl: dict[int, float] = {}
    fits: dict[int, np.ndarray] = {}
    drops = 0
    vecs = _eigenvectors(Ws)
    for K in range(1, min(max_groups, N) + 1):
        tau, _ = fit_wsbm_k(W, K, seed=seed + K, starts=starts if K > 1 else 1, vecs=vecs)
        lab = np.argmax(tau, axis=1)
        used = np.unique(lab)
        lab = np.searchsorted(used, lab)
        icl[K] = _icl(lab, len(used), E, Ws, complete)
        fits[K] = tau[:, used]
        if K > 1 and icl[K] <= max(icl[k] for k in range(1, K)):
            drops += 1
            if drops >= 2:
                break
        else:
            drops = 0
    Kbest = max(icl, key=icl.get)
    tau = fits[Kbest]
    raw = np.argmax(tau, axis=1)
    labels = _relabel(raw)
    perm = np.zeros(tau.shape[1], int)
    for old, new in zip(raw, labels):
        perm[new] = old
    tau = tau[:, perm[: labels.max() + 1]]
    k = labels.max() + 1
    _, p, lam, *_ = _m_step(np.eye(k)[labels], E, Ws)
    return WSBMFit(labels, int(k), tau, p, scale / lam, icl)
