"""Merge and split of whole states: the move leaves its target exactly invariant.

The target is the state path's marginal with every state's (A, b, Q) and every transition row
integrated out (as for the birth/death move). On a tiny problem (7 bins, so 6 moves, and 3
states: 729 paths, :mod:`.enumerated`) paths are drawn i.i.d. from the enumerated target, five merge-or-split proposals
is applied to each, and the distribution afterwards must still be the target. Kernels with a
wrong proposal ratio fail the same comparison.
"""

import numpy as np
import pytest

from neurotools.analyses.biclustering import statemerge
from neurotools.analyses.biclustering.statemerge import state_merge_split_moves
from tests.analyses.biclustering.enumerated import chi2, counts_after_move, enumerated_target

ALPHA, KAPPA = 1.0, 0.5          # little stickiness: many paths with states of several runs
N_MOVES = 5                         # proposals per draw (each leaves the target invariant)


def _problem():
    X = np.random.default_rng(7).normal(0, 0.3, (7, 1))
    beta = np.array([0.4, 0.35, 0.25])
    first, paths, exact = enumerated_target(X, beta, ALPHA, KAPPA)
    return X, beta, first, paths, exact


def _after_one_move(n, seed):
    X, beta, first, paths, exact = _problem()
    counts, (merges, splits) = counts_after_move(
        paths, exact, lambda st, rng: state_merge_split_moves(X, st, beta, ALPHA, KAPPA, first,
                                                              rng, n_moves=N_MOVES),
        n, np.random.default_rng(seed))
    return counts, exact, merges, splits


def test_split_choices_count_the_strict_subsets():
    for runs in (2, 3, 7):
        assert np.isclose(np.exp(statemerge._log_split_choices(runs)), 2 ** runs - 2)


def test_merge_split_leaves_the_exact_path_marginal_invariant():
    counts, exact, merges, splits = _after_one_move(20000, seed=0)
    stat, df = chi2(counts, exact)
    assert merges > 2000 and splits > 2000         # the move does move, both ways
    assert stat < df + 5 * np.sqrt(2 * df), (stat, df)


@pytest.mark.parametrize("broken", ["split_choices", "transitions"])
def test_a_wrong_ratio_fails_the_same_check(monkeypatch, broken):
    # the check has power: a proposal ratio without the subset count, or a target without
    # the transition term, is detected
    if broken == "split_choices":
        monkeypatch.setattr(statemerge, "_log_split_choices", lambda runs: 0.0)
    else:
        monkeypatch.setattr(statemerge, "transitions_log_marginal", lambda *args: 0.0)
    counts, exact, _, _ = _after_one_move(20000, seed=0)
    stat, df = chi2(counts, exact)
    assert stat > df + 5 * np.sqrt(2 * df), (stat, df)
