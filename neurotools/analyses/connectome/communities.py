"""Communities of a component's pair factor: WSBM (default) or Leiden, and partition agreement."""

from __future__ import annotations

import numpy as np

from neurotools.analyses.connectome.wsbm import fit_wsbm
from neurotools.errors import UserError

METHODS = ("wsbm", "leiden")


def pairs_to_matrix(values: np.ndarray, n: int) -> np.ndarray:
    """Symmetric (n, n) matrix from pair values in ``numpy.triu_indices(n, 1)`` order.

    Parameters
    ----------
    values : ndarray, shape (n * (n - 1) / 2,)
    n : int

    Returns
    -------
    ndarray, shape (n, n)
        Zero diagonal.
    """
    iu = np.triu_indices(n, 1)
    if len(values) != len(iu[0]):
        raise ValueError(f"{len(values)} pair values do not fit {n} neurons ({len(iu[0])} pairs)")
    M = np.zeros((n, n))
    M[iu] = values
    return M + M.T


def leiden(W: np.ndarray, seed: int = 0) -> np.ndarray:
    """Modularity communities of a weighted graph by the Leiden algorithm (leidenalg).

    Parameters
    ----------
    W : ndarray, shape (N, N)
        Symmetric non-negative weights.
    seed : int

    Returns
    -------
    ndarray of int, shape (N,)
    """
    try:
        import igraph as ig
        import leidenalg
    except ImportError:
        raise UserError(
            "The 'leiden' community method needs the leidenalg and igraph packages; install them "
            "with 'pip install leidenalg igraph' or use community=wsbm."
        ) from None
    n = W.shape[0]
    iu = np.triu_indices(n, 1)
    w = np.asarray(W, float)[iu]
    keep = w > 0
    if not keep.any():
        return np.zeros(n, int)
    g = ig.Graph(n=n, edges=list(zip(iu[0][keep].tolist(), iu[1][keep].tolist())))
    g.es["weight"] = (w[keep] / w[keep].mean()).tolist()
    part = leidenalg.find_partition(
        g, leidenalg.ModularityVertexPartition, weights="weight", seed=int(seed) % (2**31)
    )
    return np.asarray(part.membership, int)


def detect(W: np.ndarray, method: str = "wsbm", seed: int = 0, max_groups: int = 10) -> np.ndarray:
    """Community label of every node of a weighted graph.

    Parameters
    ----------
    W : ndarray, shape (N, N)
    method : str
        ``"wsbm"`` (number of groups by ICL) or ``"leiden"``.
    seed : int
    max_groups : int
        Largest number of WSBM groups tried.

    Returns
    -------
    ndarray of int, shape (N,)
    """
    if method == "wsbm":
        return fit_wsbm(W, max_groups=max_groups, seed=seed).labels
    if method == "leiden":
        return leiden(W, seed=seed)
    raise UserError(f"Unknown community method {method!r}; choose one of {', '.join(METHODS)}.")


def core_community(W: np.ndarray, labels: np.ndarray) -> int:
    """The community with the highest mean within-community weight (the component's core).

    Singletons count only when no community has two members.
    """
    best, best_val = int(labels[0]) if len(labels) else 0, -np.inf
    sizes = np.bincount(labels)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2 and sizes.max() >= 2:
            continue
        sub = W[np.ix_(idx, idx)]
        val = sub.sum() / max(len(idx) * (len(idx) - 1), 1)
        if val > best_val:
            best, best_val = int(c), val
    return best


def adjusted_rand_index(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two partitions (Hubert & Arabie 1985); 1 = identical, ~0 = chance.

    Parameters
    ----------
    a, b : array-like of int, shape (N,)

    Returns
    -------
    float
    """
    a = np.unique(np.asarray(a), return_inverse=True)[1]
    b = np.unique(np.asarray(b), return_inverse=True)[1]
    n = len(a)
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), 1)

    def comb2(x):
        return x * (x - 1) / 2.0

    s = comb2(table).sum()
    sa = comb2(table.sum(1)).sum()
    sb = comb2(table.sum(0)).sum()
    expected = sa * sb / comb2(n) if n > 1 else 0.0
    top = 0.5 * (sa + sb)
    if top == expected:
        return 1.0
    return float((s - expected) / (top - expected))
