"""Length-stratified training batches: little padding, every window once per epoch, deterministic."""

from __future__ import annotations

import numpy as np

from neurotools.analyses.neuroformer.training import (
    BatchPlan,
    TrainConfig,
    batch_indices,
    bucketed_batches,
    padding_fraction,
    target_counts,
)


def _lengths(n: int = 1000, seed: int = 0) -> np.ndarray:
    """Spike counts of simulated windows: Poisson around a rate that varies ~6x between windows."""
    rng = np.random.default_rng(seed)
    return rng.poisson(rng.lognormal(np.log(60.0), 0.6, n))


def test_micro_batches_have_under_ten_percent_padding():
    n_tok, max_len, cfg = _lengths(), 200, TrainConfig()
    real = target_counts(n_tok, max_len)
    for bs in (32, 128):
        plan = BatchPlan(real, bs, cfg.bucket, 0, cfg.micro)
        new = [m for s in range(64) for m in plan.micro_batches(s)]
        old = [batch_indices(s, len(n_tok), bs, 0) for s in range(64)]
        assert padding_fraction(new, n_tok, max_len) < 0.10
        assert padding_fraction(old, n_tok, max_len) > 0.30  # what random batches waste


def test_every_window_is_seen_once_per_epoch():
    n_tok = _lengths(1000)
    plan = BatchPlan(target_counts(n_tok, 200), 25, 8, 3, 4)  # 200 windows per group: 5 per epoch
    for epoch in range(3):
        seen = np.concatenate([plan(s) for s in range(epoch * 40, (epoch + 1) * 40)])
        assert np.array_equal(np.bincount(seen, minlength=1000), np.ones(1000, int))
    # epochs not aligned with groups: over whole groups (18 x 7 x 24 = 3024 draws = 3 epochs and
    # 24 windows) every window is seen 3 times, 24 of them a 4th time
    plan = BatchPlan(target_counts(n_tok, 200), 24, 7, 3, 5)
    counts = np.bincount(np.concatenate([plan(s) for s in range(126)]), minlength=1000)
    assert set(counts.tolist()) == {3, 4} and (counts == 4).sum() == 24
    assert all(len(plan(s)) == 24 and len(plan.micro_batches(s)) == 5 for s in range(126))


def test_every_step_spans_all_length_strata():
    real = target_counts(_lengths(2000), 200)
    steps = bucketed_batches(0, real, 32, 4, 4, 0)
    pool = np.sort(np.concatenate([np.concatenate(s) for s in steps]))
    assert len(pool) == 128 and len(np.unique(pool)) == 128
    for s in steps:  # micro-batch k of every step comes from the k-th quarter of the sorted pool
        assert [len(m) for m in s] == [8, 8, 8, 8]
        assert all(real[a].max() <= real[b].min() for a, b in zip(s[:-1], s[1:]))


def test_batches_depend_on_seed_and_step_only():
    real = target_counts(_lengths(500), 200)
    a = BatchPlan(real, 16, 4, 5, 4)
    first = [a(s).copy() for s in range(40)]
    b = BatchPlan(real, 16, 4, 5, 4)
    for s in (37, 3, 20, 0):  # any order, fresh plan: same batch
        assert np.array_equal(b(s), first[s])
    assert np.array_equal(np.concatenate(bucketed_batches(5, real, 16, 4, 4, 5)[0]), first[20])
    c = BatchPlan(real, 16, 4, 6, 4)
    assert not all(np.array_equal(c(s), first[s]) for s in range(16))
    plain = BatchPlan(real, 50, 1, 5, 1)  # no bucketing: still one visit per epoch
    assert np.array_equal(np.sort(np.concatenate([plain(s) for s in range(10)])), np.arange(500))


def test_target_counts_match_truncation():
    assert np.array_equal(target_counts(np.array([0, 5, 10, 11]), 10), [1, 6, 11, 10])
    assert np.array_equal(target_counts(np.array([0, 5]), None), [1, 6])
