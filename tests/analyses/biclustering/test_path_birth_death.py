"""Moves of short runs of states with the path around them: the move leaves its target invariant.

The target is the chain's joint density of (states, path, every state's dynamics, transition
rows) given Gaussian pseudo-observations of the path. On a tiny problem (6 bins, one latent
dimension, 3 states) exact i.i.d. draws come from the prior (rows, states, MNIW dynamics, path)
and rejection against the pseudo-observations. Five proposals are applied to each draw of one set,
which is then compared with an independent exact set: the state paths by a chi-square test of
homogeneity, the path, the dynamics and the rows by two-sample Kolmogorov-Smirnov tests. The same
move aimed at a wrong MNIW prior (ten times the noise scale) fails the comparison.
"""

import numpy as np
import pytest
from scipy import stats

from neurotools.analyses.biclustering.dynamics import sample_iw
from neurotools.analyses.biclustering.hmm import sample_dirichlet
from neurotools.analyses.biclustering.pathbirthdeath import (
    HmmParams,
    MniwPrior,
    jump_scores,
    path_birth_death_moves,
)

T, L = 6, 3
ALPHA, KAPPA = 1.0, 2.0
BETA = np.array([0.5, 0.3, 0.2])
PRIOR = MniwPrior(s0=0.1, nu_extra=2.0, v0=1.0)
J_OBS = np.full((T, 1, 1), 0.5)
H_OBS = np.array([[0.3], [-0.2], [0.5], [0.0], [-0.4], [0.2]])
START_WEIGHTS = np.array([1.0, 3.0, 0.5, 2.0, 1.0])     # sub-runs start by these (moves 0-4)


def _exact_draw(rng):
    """(states, X, hmm) from the target: prior draws accepted against the pseudo-observations."""
    bound = 0.5 * float(np.sum(H_OBS[:, 0] ** 2 / J_OBS[:, 0, 0]))
    while True:
        trans = sample_dirichlet(ALPHA * BETA[None] + KAPPA * np.eye(L), rng)
        moves = [int(rng.choice(L, p=BETA))]
        for _ in range(T - 2):
            moves.append(int(rng.choice(L, p=trans[moves[-1]])))
        A, b, Q = np.empty((L, 1, 1)), np.empty((L, 1)), np.empty((L, 1, 1))
        for k in range(L):
            Q[k] = sample_iw(PRIOR.s0 * np.eye(1), 1 + PRIOR.nu_extra, rng)
            w = np.array([1.0, 0.0]) + np.sqrt(Q[k, 0, 0] * PRIOR.v0) * rng.standard_normal(2)
            A[k, 0, 0], b[k, 0] = w
        X = np.empty((T, 1))
        X[0] = rng.standard_normal(1)
        for t in range(1, T):
            k = moves[t - 1]
            X[t] = A[k] @ X[t - 1] + b[k] + np.sqrt(Q[k, 0, 0]) * rng.standard_normal(1)
        log_l = float(np.sum(H_OBS * X) - 0.5 * np.sum(J_OBS[:, 0, 0] * X[:, 0] ** 2))
        if np.log(rng.random()) < log_l - bound:
            states = np.array([moves[0]] + moves)
            hmm = HmmParams(A=A, b=b, Q=Q, trans=trans, beta=BETA, first=BETA, alpha=ALPHA,
                            kappa=KAPPA)
            return states, X, hmm


def _summaries(states, X, hmm):
    k = states[3]
    return (tuple(states[1:]), X[3, 0], float(np.max(np.abs(np.diff(X[:, 0])))),
            float(np.log(hmm.Q[k, 0, 0])), float(hmm.A[k, 0, 0]), float(hmm.trans[k, k]))


def _sets(n, seed, prior):
    rng = np.random.default_rng(seed)
    fresh = [_summaries(*_exact_draw(rng)) for _ in range(n)]
    moved, accepted = [], 0
    for _ in range(n):
        states, X, hmm = _exact_draw(rng)
        X, states, acc = path_birth_death_moves(X, states, J_OBS, H_OBS, hmm, rng, n_moves=5,
                                                max_len=2, margin=1, inflation=4.0,
                                                prior=prior, start_weights=START_WEIGHTS)
        accepted += acc
        moved.append(_summaries(states, X, hmm))
    return fresh, moved, accepted


def _p_values(fresh, moved):
    paths = sorted({f[0] for f in fresh} | {m[0] for m in moved})
    index = {p: i for i, p in enumerate(paths)}
    table = np.zeros((2, len(paths)))
    for row, sample in enumerate((fresh, moved)):
        for s in sample:
            table[row, index[s[0]]] += 1
    keep = table.sum(0) >= 10
    out = {"paths": stats.chi2_contingency(table[:, keep])[1]}
    names = ["X_3", "largest step", "log Q", "A", "self-transition"]
    for j, name in enumerate(names, start=1):
        out[name] = stats.ks_2samp([f[j] for f in fresh], [m[j] for m in moved]).pvalue
    return out


@pytest.fixture(scope="module")
def right_and_wrong():
    right = _sets(4000, 11, PRIOR)
    wrong = _sets(4000, 12, MniwPrior(s0=1.0, nu_extra=2.0, v0=1.0))
    return right, wrong


def test_the_move_keeps_exact_draws_exact(right_and_wrong):
    (fresh, moved, accepted), _ = right_and_wrong
    assert accepted > 2000, accepted                   # the move does change the draws
    p = _p_values(fresh, moved)
    assert min(p.values()) > 1e-3, p


def test_the_same_move_with_a_wrong_prior_is_detected(right_and_wrong):
    _, (fresh, moved, accepted) = right_and_wrong
    p = _p_values(fresh, moved)
    assert min(p.values()) < 1e-6, p


def test_jump_scores_peak_where_the_counts_jump():
    rng = np.random.default_rng(3)
    n_bins, dim = 60, 3
    J = np.repeat(4.0 * np.eye(dim)[None], n_bins, 0)
    level = np.where(np.arange(n_bins)[:, None] >= 30, 2.0, 0.0) * np.ones(dim)
    h = np.einsum("tde,te->td", J, level) + 2.0 * rng.standard_normal((n_bins, dim))
    w = jump_scores(J, h)
    assert w.shape == (n_bins - 1,) and np.all(w >= 0.1)
    assert int(np.argmax(w)) == 29                    # the move from bin 29 to bin 30
    assert w[29] > 5 * np.median(w)
