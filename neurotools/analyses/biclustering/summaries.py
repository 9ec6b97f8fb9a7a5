"""Posterior summaries: similarity matrices, point partitions, cluster-count posteriors, diagnostics.

- Partitions: Dahl's least-squares clustering (the draw closest to the posterior similarity matrix)
  and maxPEAR (Fritsch & Ickstadt 2009: the partition with the largest posterior expected
  adjusted Rand index). maxPEAR's candidates are the stored draws and, when the similarity matrix
  is available, every cut of its average- and complete-linkage trees; the best few are then
  polished by single-item moves that raise the PEAR (:func:`pear_local_search`). Without the
  similarity matrix everything is computed from contingency tables, so a T x T matrix is never
  needed for long state sequences.
- Convergence: rank-normalised split R-hat and bulk effective sample size (Vehtari et al. 2021)
  on label-invariant scalars.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from scipy.special import ndtri


def relabel(z: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..K-1 by order of first appearance."""
    z = np.asarray(z)
    _, first, inv = np.unique(z, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return rank[inv.ravel()].astype(np.int64)


def coclustering(z: np.ndarray) -> np.ndarray:
    """Indicator matrix ``z_i == z_j``, shape (n, n), float."""
    z = np.asarray(z)
    return (z[:, None] == z[None, :]).astype(float)


def _pair_sum(a: np.ndarray, b: np.ndarray) -> float:
    """``sum_{i<j} 1(a_i = a_j) 1(b_i = b_j)`` from the contingency table."""
    a, b = relabel(a), relabel(b)
    ka, kb = a.max() + 1, b.max() + 1
    n = np.bincount(a * kb + b, minlength=ka * kb).astype(float)
    return float((n * (n - 1)).sum() / 2)


def _self_pairs(a: np.ndarray) -> float:
    n = np.bincount(relabel(a)).astype(float)
    return float((n * (n - 1)).sum() / 2)


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index between two partitions (1 = identical up to labels)."""
    n = len(a)
    pairs = n * (n - 1) / 2
    sa, sb, sab = _self_pairs(a), _self_pairs(b), _pair_sum(a, b)
    expected = sa * sb / pairs if pairs else 0.0
    top = 0.5 * (sa + sb) - expected
    if top == 0:
        return 1.0
    return float((sab - expected) / top)


def partition_scores(candidates: np.ndarray, draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dahl loss and posterior expected adjusted Rand (PEAR) of each candidate partition.

    Parameters
    ----------
    candidates : ndarray of int, shape (C, n)
    draws : ndarray of int, shape (M, n)
        Posterior draws of the partition.

    Returns
    -------
    dahl_loss : ndarray, shape (C,)
        ``sum_{i<j} (1(c_i = c_j) - pi_ij)^2`` up to a constant common to all candidates.
    pear : ndarray, shape (C,)
        Posterior expected adjusted Rand index.
    """
    n = candidates.shape[1]
    pairs = n * (n - 1) / 2
    draws = np.array([relabel(d) for d in draws])
    M = len(draws)
    kb = int(draws.max()) + 1
    pi_sum = np.mean([_self_pairs(d) for d in draws])                # sum_{i<j} pi_ij
    loss = np.empty(len(candidates))
    pear = np.empty(len(candidates))
    for k, c in enumerate(candidates):
        c = relabel(c)
        ka = int(c.max()) + 1
        idx = (np.arange(M)[:, None] * (ka * kb) + c[None, :] * kb + draws).ravel()
        cnt = np.bincount(idx, minlength=M * ka * kb).astype(float)
        cross = float((cnt * (cnt - 1)).sum() / 2) / M                # sum_{i<j} I_ij pi_ij
        ic = _self_pairs(c)
        loss[k] = ic - 2 * cross
        expected = ic * pi_sum / pairs if pairs else 0.0
        denom = 0.5 * (ic + pi_sum) - expected
        pear[k] = (cross - expected) / denom if denom else 1.0
    return loss, pear


def pear_from_psm(c: np.ndarray, psm: np.ndarray) -> float:
    """Posterior expected adjusted Rand index of partition ``c`` given the similarity matrix.

    Parameters
    ----------
    c : ndarray of int, shape (n,)
    psm : ndarray, shape (n, n)
        Posterior similarity matrix (``psm[i, j]`` = P(i and j share a cluster)).
    """
    c = relabel(np.asarray(c))
    n = len(c)
    pairs = n * (n - 1) / 2
    iu = np.triu_indices(n, 1)
    same = (c[:, None] == c[None, :])[iu]
    pi = np.asarray(psm, float)[iu]
    return float(_pear(float(same.sum()), float(pi[same].sum()), float(pi.sum()), pairs))


def _pear(ic, cross, pi_sum: float, pairs: float):
    """PEAR from ``sum I_ij``, ``sum I_ij pi_ij`` and ``sum pi_ij`` over pairs (arrays allowed)."""
    expected = np.asarray(ic) * pi_sum / pairs if pairs else 0.0
    denom = 0.5 * (np.asarray(ic) + pi_sum) - expected
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom != 0, (np.asarray(cross) - expected) / np.where(denom != 0, denom, 1),
                        1.0)


def pear_local_search(c: np.ndarray, psm: np.ndarray, max_sweeps: int = 100) -> np.ndarray:
    """Raise the PEAR of a partition by single-item moves until none helps.

    Each sweep visits the items in order and moves each to the cluster (an existing one or a new
    singleton) that gives the largest posterior expected adjusted Rand index, keeping its place
    on ties. Every accepted move strictly raises the PEAR, so the search ends at a partition
    whose PEAR is at least that of ``c`` and that no single move improves (the greedy sweeps of
    Dahl, Johnson & Mueller 2022, applied to the PEAR criterion of Fritsch & Ickstadt 2009).

    Parameters
    ----------
    c : ndarray of int, shape (n,)
        Starting partition.
    psm : ndarray, shape (n, n)
        Posterior similarity matrix.
    max_sweeps : int
        Upper bound on the number of sweeps over the items.

    Returns
    -------
    ndarray of int, shape (n,)
        The improved partition, relabelled 0..K-1 in order of first appearance.
    """
    z = relabel(np.asarray(c)).copy()
    n = len(z)
    if n < 3:
        return z
    P = np.array(psm, float)
    np.fill_diagonal(P, 0.0)
    pairs = n * (n - 1) / 2
    pi_sum = float(P.sum() / 2)
    sizes = np.bincount(z, minlength=n).astype(float)           # cluster slots 0..n-1
    S = np.zeros((n, n))                                        # S[i, k] = sum_{j in k} pi_ij
    np.add.at(S.T, z, P)
    ic = float((sizes * (sizes - 1) / 2).sum())
    cross = float(S[np.arange(n), z].sum() / 2)
    for _ in range(max_sweeps):
        moved = False
        for i in range(n):
            a = z[i]
            ic_out = ic - (sizes[a] - 1)
            cross_out = cross - S[i, a]
            others = sizes.copy()
            others[a] -= 1                                       # sizes without i
            occupied = others > 0
            cand = np.flatnonzero(occupied)
            empty = np.flatnonzero(~occupied)
            ics = np.concatenate([ic_out + others[cand], [ic_out]])
            crosses = np.concatenate([cross_out + S[i, cand], [cross_out]])
            vals = _pear(ics, crosses, pi_sum, pairs)
            targets = np.concatenate([cand, empty[:1]])
            stay = int(np.flatnonzero(targets == a)[0]) if sizes[a] > 1 else len(cand)
            best = int(np.argmax(vals))
            if vals[best] <= vals[stay] + 1e-12:
                continue
            b = int(targets[best])
            S[:, a] -= P[:, i]
            S[:, b] += P[:, i]
            sizes[a] -= 1
            sizes[b] += 1
            z[i] = b
            ic, cross = float(ics[best]), float(crosses[best])
            moved = True
        if not moved:
            break
    return relabel(z)


def point_partitions(draws: np.ndarray, psm: np.ndarray | None = None,
                     max_candidates: int = 400, refine: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """maxPEAR and Dahl point estimates from posterior draws (and optionally the PSM).

    Parameters
    ----------
    draws : ndarray of int, shape (M, n)
        Stored partition draws (pooled over chains).
    psm : ndarray, shape (n, n), optional
        Posterior similarity matrix. Adds the cuts of its average- and complete-linkage trees as
        candidates, and the ``refine`` best candidates are then improved by
        :func:`pear_local_search`; the polished one with the largest PEAR on the PSM is returned.
    max_candidates : int
        Largest number of distinct draws scored as candidates.
    refine : int
        Number of best-scoring candidates polished by local search (with ``psm`` only).

    Returns
    -------
    maxpear : ndarray of int, shape (n,)
    dahl : ndarray of int, shape (n,)
    """
    draws = np.asarray(draws)
    uniq = np.unique(np.array([relabel(d) for d in draws]), axis=0)
    if len(uniq) > max_candidates:
        uniq = uniq[np.linspace(0, len(uniq) - 1, max_candidates).astype(int)]
    dahl_loss, _ = partition_scores(uniq, draws)
    dahl = uniq[int(np.argmin(dahl_loss))]
    cands = [uniq]
    if psm is not None and psm.shape[0] > 2:
        dist = np.clip(1 - 0.5 * (psm + psm.T), 0, 1)
        np.fill_diagonal(dist, 0)
        n = psm.shape[0]
        for method in ("average", "complete"):
            link = linkage(squareform(dist, checks=False), method)
            cuts = np.array([relabel(fcluster(link, k, "maxclust"))
                             for k in range(1, min(n, 40) + 1)])
            cands.append(np.unique(cuts, axis=0))
    allc = np.concatenate(cands)
    _, pear = partition_scores(allc, draws)
    if psm is None or psm.shape[0] <= 2 or refine <= 0:
        return relabel(allc[int(np.argmax(pear))]), relabel(dahl)
    top = allc[np.argsort(-pear, kind="stable")[:refine]]
    # the search never lowers the PEAR, so the best candidate's polish is at least as good as it
    polished = np.array([pear_local_search(c, psm) for c in top])
    scores = np.array([pear_from_psm(c, psm) for c in polished])
    return relabel(polished[int(np.argmax(scores))]), relabel(dahl)


def _rank_normalise(x: np.ndarray) -> np.ndarray:
    flat = x.ravel()
    ranks = np.empty(flat.size)
    order = np.argsort(flat, kind="mergesort")
    ranks[order] = np.arange(1, flat.size + 1)
    # average ranks of ties
    _, inv, counts = np.unique(flat, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    ranks = (sums / counts)[inv]
    return ndtri((ranks - 0.375) / (flat.size + 0.25)).reshape(x.shape)


def _split(x: np.ndarray) -> np.ndarray:
    n = x.shape[1] // 2
    return np.concatenate([x[:, :n], x[:, x.shape[1] - n:]], 0)


def split_rhat(x: np.ndarray) -> float:
    """Rank-normalised split R-hat of draws ``x`` (chains, iterations); nan if undefined."""
    x = np.asarray(x, float)
    if x.shape[1] < 4:
        return float("nan")
    z = _split(_rank_normalise(x))
    n = z.shape[1]
    w = z.var(1, ddof=1).mean()
    b = n * z.mean(1).var(ddof=1)
    # the rank-normalised draws are O(1): a within-chain variance at rounding level means every
    # (split) chain is constant, e.g. chains that never change their number of clusters
    if w < 1e-12:
        return 1.0 if b < 1e-12 else float("inf")
    return float(np.sqrt(((n - 1) / n * w + b / n) / w))


def bulk_ess(x: np.ndarray) -> float:
    """Bulk effective sample size (rank-normalised, split chains, Geyer's monotone sequence);
    nan if undefined (fewer than 4 draws per chain, or every split chain constant)."""
    x = np.asarray(x, float)
    if x.shape[1] < 4:
        return float("nan")
    z = _split(_rank_normalise(x))
    m, n = z.shape
    zc = z - z.mean(1, keepdims=True)
    var_c = zc.var(1)
    if np.all(var_c == 0):
        return float("nan")  # every (split) chain is constant: no autocorrelation to measure
    f = np.fft.rfft(zc, 2 * n, axis=1)
    acov = np.fft.irfft(f * np.conj(f), axis=1)[:, :n] / n
    w = z.var(1, ddof=1).mean()
    var_plus = (n - 1) / n * w + z.mean(1).var(ddof=1) if m > 1 else w
    rho = 1 - (w - acov.mean(0)) / var_plus
    rho[0] = 1.0
    tau, prev = -1.0, np.inf
    for t in range(0, n - 1, 2):
        pair = rho[t] + rho[t + 1]
        if pair < 0:
            break
        pair = min(pair, prev)
        prev = pair
        tau += 2 * pair
    tau = max(tau, 1.0 / np.log10(m * n + 10))
    return float(m * n / tau)


#: A state is "major" when it holds at least this fraction of the bins (and at least one bin).
MAJOR_STATE_FRACTION = 0.01


def major_state_min_bins(n_bins: int) -> int:
    """Fewest bins a major state holds: ``MAJOR_STATE_FRACTION`` of ``n_bins``, at least 1."""
    return max(1, int(np.ceil(MAJOR_STATE_FRACTION * n_bins - 1e-9)))


def major_state_count(states: np.ndarray, min_bins: int) -> int:
    """Number of states that hold at least ``min_bins`` bins of the state sequence ``states``.

    With ``min_bins = 1`` this is the number of occupied states. With a prior that lets a
    state fit short jumps of the latent path cheaply (``offset_prior_scale`` as small as
    ``dynamics_prior_scale``), chains differ mostly in states of one or two bins, which dominate
    the occupied count; a count with ``min_bins`` at 1% of the bins leaves them out.
    """
    return int(np.sum(np.bincount(np.asarray(states)) >= min_bins))


#: Quantities whose split R-hat is checked, with the words a user reads.
RHAT_CHECKS = (("rhat_logjoint", "the log-joint density"),
               ("rhat_loglik", "the log-likelihood"),
               ("rhat_n_clusters", "the number of neuron clusters"),
               ("rhat_n_states", "the number of occupied states"),
               ("rhat_n_major_states", "the number of states that hold at least "
                f"{MAJOR_STATE_FRACTION:.0%} of the bins"))


def convergence_warnings(metrics: dict, rhat_max: float = 1.05, ari_min: float = 0.9,
                         ess_min: float = 100.0) -> list[str]:
    """Plain-language warnings when the chains have not converged (Vehtari et al. 2021 limits).

    Parameters
    ----------
    metrics : dict
        A bi-clustering result's metrics (``rhat_*``, ``ess_bulk_loglik``,
        ``min_pairwise_chain_ari``).
    rhat_max : float
        Largest acceptable split R-hat.
    ari_min : float
        Smallest acceptable adjusted Rand index between two chains' neuron partitions.
    ess_min : float
        Smallest acceptable bulk ESS of the log-likelihood.

    Returns
    -------
    list of str
        One sentence per failed check (empty when every check passes or cannot be computed).
    """
    out = []
    for key, words in RHAT_CHECKS:
        # log-joints of chains with different numbers of clusters have different dimensions
        # (the latent paths' density): comparable only when every chain kept one and the same K
        if key == "rhat_logjoint" and metrics.get("rhat_n_clusters") != 1.0:
            continue
        v = metrics.get(key)
        if v is not None and not np.isnan(v) and v > rhat_max:
            # infinite: every chain held one value of its own (e.g. its starting cluster count)
            shown = (f"split R-hat {v:.2f} > {rhat_max}" if np.isfinite(v)
                     else "split R-hat infinite: each chain stayed at a value of its own")
            text = (f"The chains disagree on {words} ({shown}): "
                    "treat it as uncertain; run more iterations or chains.")
            major = metrics.get("rhat_n_major_states")
            if key == "rhat_n_states" and major is not None and np.isfinite(major) \
                    and major <= rhat_max:
                text += (f" They agree on the states that hold at least "
                         f"{MAJOR_STATE_FRACTION:.0%} of the bins (R-hat {major:.2f}): the "
                         "disagreement is about short states of a few bins.")
            out.append(text)
    ari = metrics.get("min_pairwise_chain_ari")
    if ari is not None and np.isfinite(ari) and ari < ari_min:
        out.append(f"Two chains end in different neuron partitions (ARI {ari:.2f} < {ari_min}): "
                   "the clusters depend on the start; compare the chains' partitions.")
    ess = metrics.get("ess_bulk_loglik")
    if ess is not None and np.isfinite(ess) and ess < ess_min:
        out.append(f"Few effective draws of the log-likelihood (bulk ESS {ess:.0f} < "
                   f"{ess_min:.0f}): posterior summaries are noisy; run more iterations.")
    return out
