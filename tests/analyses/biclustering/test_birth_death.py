"""Birth and death of short states: the move leaves its target exactly invariant.

The target is the state path's marginal with every state's (A, b, Q) and every transition row
integrated out. On a tiny problem (6 bins, so 5 moves, and 3 states: 243 paths) the paths are
drawn i.i.d. from the enumerated target, one birth-or-death proposal is applied to each, and the
distribution afterwards must still be the target. The same move aimed at a target without the
transition term fails the comparison.
"""

import numpy as np

from neurotools.analyses.biclustering import birthdeath
from neurotools.analyses.biclustering.birthdeath import birth_death_moves
from neurotools.analyses.biclustering.dynamics import mniw_log_marginal
from neurotools.analyses.biclustering.hmm import transitions_log_marginal
from tests.analyses.biclustering.enumerated import chi2, counts_after_move, enumerated_target

ALPHA, KAPPA = 1.0, 2.0


def _problem():
    X = np.random.default_rng(5).normal(0, 0.3, (6, 1))
    beta = np.array([0.5, 0.3, 0.2])
    first, paths, exact = enumerated_target(X, beta, ALPHA, KAPPA)
    return X, beta, first, paths, exact


def _after_one_move(n, seed):
    X, beta, first, paths, exact = _problem()
    counts, (accepted,) = counts_after_move(
        paths, exact, lambda st, rng: birth_death_moves(X, st, beta, ALPHA, KAPPA, first, rng,
                                                        n_moves=1, max_len=2),
        n, np.random.default_rng(seed))
    return counts, exact, accepted


def test_transition_marginal_matches_a_monte_carlo_average_over_rows():
    rng = np.random.default_rng(1)
    beta = np.array([0.6, 0.3, 0.1])
    moves = np.array([0, 0, 1, 1, 1, 2, 0, 0])
    conc = ALPHA * beta[None] + KAPPA * np.eye(3)
    rows = np.stack([rng.dirichlet(c, size=200000) for c in conc], 1)      # (S, 3, 3)
    prob = np.prod(rows[:, moves[:-1], moves[1:]], axis=1)
    assert np.isclose(np.log(prob.mean()), transitions_log_marginal(moves, beta, ALPHA, KAPPA),
                      atol=0.02)


def test_stats_log_marginal_equals_the_closed_form():
    rng = np.random.default_rng(2)
    X = rng.normal(0, 0.4, (12, 3))
    moves = rng.integers(0, 3, 11)
    moves[2:5] = 0                         # one source state for the moved run
    stats = birthdeath.MniwStats(X, moves, 3, 0.01, 2.0, 10.0)
    Z = np.hstack([X[:-1], np.ones((11, 1))])
    for k in range(3):
        m = moves == k
        assert np.isclose(stats.logml[k], mniw_log_marginal(X[1:][m], Z[m], v0=10.0))
    lm_src, lm_dst, _ = stats.move(2, 5, 0, 1)
    moved = moves.copy()
    moved[2:5] = 1
    for k, lm in ((0, lm_src), (1, lm_dst)):
        m = moved == k
        assert np.isclose(lm, mniw_log_marginal(X[1:][m], Z[m], v0=10.0) if m.any() else 0.0)


def test_birth_death_leaves_the_exact_path_marginal_invariant():
    counts, exact, accepted = _after_one_move(15000, seed=0)
    stat, df = chi2(counts, exact)
    assert accepted > 750                         # the move does move
    # chi-square with df ~ 60-120: mean df, sd sqrt(2 df); 5 sd allowance
    assert stat < df + 5 * np.sqrt(2 * df), (stat, df)


def test_a_kernel_that_ignores_the_transition_rows_fails_the_same_check(monkeypatch):
    # the check has power: the same move aimed at a target without the transition term
    monkeypatch.setattr(birthdeath, "transitions_log_marginal", lambda *args: 0.0)
    counts, exact, _ = _after_one_move(15000, seed=0)
    stat, df = chi2(counts, exact)
    assert stat > df + 5 * np.sqrt(2 * df), (stat, df)
