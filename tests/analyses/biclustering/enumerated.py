"""Enumerated targets for exact-invariance checks of the state moves on tiny problems.

The target is the state path's marginal with every state's (A, b, Q) (MNIW) and every
transition row (sticky weak-limit HDP) integrated out; on a few bins it can be listed path by
path, so i.i.d. exact draws can be pushed through a move and compared with it.
"""

import itertools

import numpy as np

from neurotools.analyses.biclustering.dynamics import mniw_log_marginal
from neurotools.analyses.biclustering.hmm import transitions_log_marginal


def log_path_target(path, X, beta, first, alpha, kappa):
    """Log target of one state path (bin 0 copies bin 1, as in the sampler)."""
    moves = np.asarray(path[1:])
    v = np.log(first[moves[0]]) + transitions_log_marginal(moves, beta, alpha, kappa)
    Z = np.hstack([X[:-1], np.ones((len(X) - 1, 1))])
    for k in np.unique(moves):
        m = moves == k
        v += mniw_log_marginal(X[1:][m], Z[m])
    return v


def enumerated_target(X, beta, alpha, kappa):
    """Every state path of ``len(X)`` bins over ``len(beta)`` states and its probability."""
    first = beta / beta.sum()
    paths = [(p[0],) + p for p in itertools.product(range(len(beta)), repeat=len(X) - 1)]
    lp = np.array([log_path_target(p, X, beta, first, alpha, kappa) for p in paths])
    exact = np.exp(lp - lp.max())
    return first, paths, exact / exact.sum()


def chi2(counts, exact):
    """Pearson statistic of ``counts`` against ``exact`` over cells expecting > 5, and its df."""
    n = counts.sum()
    keep = exact * n > 5
    stat = float((((counts - n * exact) ** 2) / (n * exact))[keep].sum())
    return stat, int(keep.sum()) - 1


def counts_after_move(paths, exact, move, n, rng):
    """Push ``n`` i.i.d. draws of the enumerated target through ``move`` once each.

    ``move(states, rng)`` returns the new states and any number of acceptance counts. Returns
    the counts per path afterwards and the summed acceptance counts.
    """
    index = {p: i for i, p in enumerate(paths)}
    draws = rng.choice(len(paths), size=n, p=exact)
    counts = np.zeros(len(paths))
    accepted = None
    for i in draws:
        new, *acc = move(np.array(paths[i]), rng)
        accepted = np.array(acc) if accepted is None else accepted + acc
        counts[index[tuple(new)]] += 1
    return counts, accepted
