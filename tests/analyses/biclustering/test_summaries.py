"""Point partitions, adjusted Rand, R-hat and ESS against brute force and known cases."""

import itertools

import numpy as np
import pytest

from neurotools.analyses.biclustering.fit import permuted_accuracy
from neurotools.analyses.biclustering.summaries import (
    adjusted_rand,
    bulk_ess,
    convergence_warnings,
    major_state_count,
    major_state_min_bins,
    partition_scores,
    pear_from_psm,
    pear_local_search,
    point_partitions,
    split_rhat,
)


def _ari_bruteforce(a, b):
    n = len(a)
    pairs = list(itertools.combinations(range(n), 2))
    ia = np.array([a[i] == a[j] for i, j in pairs], float)
    ib = np.array([b[i] == b[j] for i, j in pairs], float)
    exp = ia.sum() * ib.sum() / len(pairs)
    return ((ia * ib).sum() - exp) / (0.5 * (ia.sum() + ib.sum()) - exp)


def test_adjusted_rand_matches_pair_counting():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.integers(0, 3, 12), rng.integers(0, 4, 12)
        assert adjusted_rand(a, b) == pytest.approx(_ari_bruteforce(a, b), abs=1e-12)
    assert adjusted_rand([0, 0, 1, 1], [5, 5, 2, 2]) == 1.0


def test_scores_match_the_psm_definitions():
    rng = np.random.default_rng(1)
    draws = rng.integers(0, 3, (30, 9))
    cands = rng.integers(0, 3, (5, 9))
    psm = np.mean([(d[:, None] == d[None]) for d in draws], 0)
    iu = np.triu_indices(9, 1)
    loss, pear = partition_scores(cands, draws)
    for k, c in enumerate(cands):
        ic = (c[:, None] == c[None])[iu].astype(float)
        pi = psm[iu]
        ref_loss = ((ic - pi) ** 2).sum() - (pi**2).sum()
        assert loss[k] == pytest.approx(ref_loss)
        exp = ic.sum() * pi.sum() / len(pi)
        assert pear[k] == pytest.approx(((ic * pi).sum() - exp) / (0.5 * (ic.sum() + pi.sum()) - exp))


def test_point_partitions_recover_a_noisy_truth():
    rng = np.random.default_rng(2)
    truth = np.repeat([0, 1, 2], 8)
    draws = []
    for _ in range(200):
        d = truth.copy()
        flip = rng.random(24) < 0.1
        d[flip] = rng.integers(0, 4, flip.sum())
        draws.append(d)
    draws = np.array(draws)
    psm = np.mean([(d[:, None] == d[None]) for d in draws], 0)
    maxpear, dahl = point_partitions(draws, psm)
    assert adjusted_rand(maxpear, truth) == 1.0
    assert adjusted_rand(dahl, truth) > 0.7
    assert permuted_accuracy(truth, (maxpear + 1) % 3) == 1.0


def _all_partitions(n):
    """Every partition of n items as label lists (restricted growth strings)."""
    if n == 0:
        yield []
        return
    for head in _all_partitions(n - 1):
        for lab in range((max(head) + 1 if head else 0) + 1):
            yield head + [lab]


def test_maxpear_finds_the_best_partition_of_all():
    rng = np.random.default_rng(4)
    every = np.array(list(_all_partitions(8)))                      # 4140 partitions
    for _ in range(6):
        truth = rng.integers(0, 3, 8)
        noise = rng.random((60, 8)) < 0.35
        draws = np.where(noise, rng.integers(0, 4, (60, 8)), truth)
        psm = np.mean([(d[:, None] == d[None]) for d in draws], 0)
        _, pear = partition_scores(every, draws)
        maxpear, _ = point_partitions(draws, psm)
        assert pear_from_psm(maxpear, psm) == pytest.approx(pear.max(), abs=1e-12)
        assert pear_from_psm(every[7], psm) == pytest.approx(pear[7], abs=1e-12)


def test_local_search_only_raises_the_pear_and_ends_where_no_move_helps():
    rng = np.random.default_rng(5)
    truth = np.repeat([0, 1, 2, 3], 10)
    draws = np.where(rng.random((80, 40)) < 0.3, rng.integers(0, 5, (80, 40)), truth)
    psm = np.mean([(d[:, None] == d[None]) for d in draws], 0)
    start = rng.integers(0, 6, 40)
    out = pear_local_search(start, psm)
    best = pear_from_psm(out, psm)
    assert best > pear_from_psm(start, psm)
    assert adjusted_rand(out, truth) == 1.0
    for i in range(40):                                              # no single move improves
        for lab in range(int(out.max()) + 2):
            moved = out.copy()
            moved[i] = lab
            assert pear_from_psm(moved, psm) <= best + 1e-12


def test_rhat_and_ess():
    rng = np.random.default_rng(3)
    iid = rng.standard_normal((4, 1000))
    assert split_rhat(iid) < 1.01
    assert bulk_ess(iid) == pytest.approx(4000, rel=0.15)
    shifted = iid + np.arange(4)[:, None]
    assert split_rhat(shifted) > 1.5
    rho = 0.8
    ar = np.zeros((4, 4000))
    e = rng.standard_normal((4, 4000))
    for t in range(1, 4000):
        ar[:, t] = rho * ar[:, t - 1] + e[:, t]
    assert bulk_ess(ar) == pytest.approx(16000 * (1 - rho) / (1 + rho), rel=0.25)


def test_convergence_warnings_name_each_failed_check():
    good = {"rhat_loglik": 1.01, "rhat_n_clusters": 1.0, "rhat_n_states": 1.04,
            "min_pairwise_chain_ari": 1.0, "ess_bulk_loglik": 400.0}
    assert convergence_warnings(good) == []
    bad = {**good, "rhat_n_states": 1.5, "min_pairwise_chain_ari": 0.47, "ess_bulk_loglik": 16.0}
    w = convergence_warnings(bad)
    assert len(w) == 3
    assert "number of occupied states" in w[0] and "1.50" in w[0]
    assert "different neuron partitions" in w[1] and "0.47" in w[1]
    assert "bulk ESS 16" in w[2]
    # one chain: R-hat and chain ARI are undefined (nan) and say nothing
    assert convergence_warnings({**good, "rhat_loglik": float("nan"),
                                 "min_pairwise_chain_ari": float("nan")}) == []


def test_major_states_hold_one_percent_of_the_bins():
    assert [major_state_min_bins(t) for t in (50, 100, 101, 500, 10000)] == [1, 1, 2, 5, 100]
    states = np.array([0, 0, 0, 1, 2, 2, 2, 2, 4])          # bins: 3, 1, 4, 0, 1
    assert [major_state_count(states, m) for m in (1, 2, 3, 4, 5)] == [4, 2, 2, 1, 0]


def test_warning_on_the_state_count_says_when_only_short_states_differ():
    good = {"rhat_loglik": 1.01, "rhat_n_clusters": 1.0, "rhat_n_states": 1.33,
            "min_pairwise_chain_ari": 1.0, "ess_bulk_loglik": 400.0}
    (w,) = convergence_warnings({**good, "rhat_n_major_states": 1.005})
    assert "number of occupied states" in w and "1.33" in w
    assert "agree on the states that hold at least 1% of the bins (R-hat 1.00)" in w
    # both counts disagree: two warnings, and no claim of agreement
    w = convergence_warnings({**good, "rhat_n_major_states": 1.2})
    assert len(w) == 2 and not any("They agree on" in x for x in w)
    assert "at least 1% of the bins (split R-hat 1.20" in w[1]


def test_split_rhat_of_constant_chains_is_one_or_infinite():
    from neurotools.analyses.biclustering.summaries import split_rhat

    same = np.full((4, 750), 3.0)
    assert split_rhat(same) == 1.0
    apart = np.repeat(np.array([[3.0], [4.0], [2.0], [5.0]]), 750, axis=1)  # frozen at 4 values
    assert split_rhat(apart) == float("inf")
    # and the user is warned about it (an infinite R-hat is the worst disagreement, not "none")
    good = {"rhat_loglik": 1.01, "rhat_n_states": 1.0, "min_pairwise_chain_ari": 1.0,
            "ess_bulk_loglik": 400.0}
    (w,) = convergence_warnings({**good, "rhat_n_clusters": split_rhat(apart)})
    assert "number of neuron clusters" in w and "infinite" in w
    assert "> 1.05" not in w  # "infinite" is not compared with the limit in words


def test_constant_chains_have_no_ess_and_the_table_says_not_defined():
    from types import SimpleNamespace

    from neurotools.figures.biclustering import diagnostics_rows, format_rhat

    assert np.isnan(bulk_ess(np.full((2, 40), 3.0)))       # not the "perfect" 80 draws
    # a result read back from disk stores non-finite numbers as null
    result = SimpleNamespace(metrics={"rhat_loglik": 1.2346, "rhat_n_clusters": None,
                                      "ess_bulk_n_clusters": None, "seconds_per_iteration": 0.08},
                             info={})
    rows = {r["diagnostic"]: r["value"] for r in diagnostics_rows(result)}
    assert rows["split R-hat, log-likelihood"] == "1.235"
    assert rows["split R-hat, number of neuron clusters"].startswith("not defined")
    assert rows["bulk ESS, number of neuron clusters (draws)"].startswith("not defined")
    assert rows["seconds per iteration and chain (s)"] == "0.08"
    # an infinite R-hat read back from disk (null) is named in info["infinite_metrics"]
    result.info["infinite_metrics"] = ["rhat_n_clusters"]
    rows = {r["diagnostic"]: r["value"] for r in diagnostics_rows(result)}
    assert rows["split R-hat, number of neuron clusters"] == "infinite"
    assert [format_rhat(v) for v in (None, float("nan"), float("inf"), 1.0456)] == [
        "not defined", "not defined", "infinite", "1.046"]


def test_the_log_joint_is_checked_too():
    good = {"rhat_logjoint": 1.01, "rhat_loglik": 1.01, "rhat_n_clusters": 1.0,
            "rhat_n_states": 1.04, "min_pairwise_chain_ari": 1.0, "ess_bulk_loglik": 400.0}
    assert convergence_warnings(good) == []
    (w,) = convergence_warnings({**good, "rhat_logjoint": 2.24})
    assert "log-joint density (split R-hat 2.24 > 1.05)" in w
    # chains with different numbers of clusters: their log-joints have different dimensions
    varying = {**good, "rhat_logjoint": 2.24, "rhat_n_clusters": 1.01}
    assert not any("log-joint" in x for x in convergence_warnings(varying))
