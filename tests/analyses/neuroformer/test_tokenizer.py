"""Tokenizer: exact tokens on hand-made counts, agreement with a loop, speed."""

from __future__ import annotations

import time

import numpy as np

from neurotools.analyses.neuroformer.tokenizer import collate, make_windows, tokenize_counts


def _loop_tokens(counts, start, n_dt, n_past):
    """Brute force: walk bins then neurons."""
    cur, past = [], []
    for t in range(start - n_past, start + n_dt):
        for j in range(counts.shape[1]):
            for _ in range(counts[t, j]):
                (past if t < start else cur).append((t, j))
    return cur, past


def test_window_tokens_are_sorted_joint_codes_with_eos():
    counts = np.zeros((10, 3), dtype=int)
    counts[2, 1] = 1  # past
    counts[4, 2] = 1  # window starts at 4 -> dt 0
    counts[5, 0] = 2  # dt 1, twice
    counts[6, 1] = 1  # dt 2
    stream = tokenize_counts(counts)
    win = make_windows(stream, np.array([4]), n_dt=3, n_past=3)
    b = collate(stream, win)
    n = 3
    assert b.target[0].tolist() == [0 * n + 2, 1 * n + 0, 1 * n + 0, 2 * n + 1, 3 * n]  # EOS = 9
    assert b.inp_id[0].tolist() == [3, 2, 0, 0, 1]  # SOS id = N
    assert b.inp_dt[0].tolist() == [3, 0, 1, 1, 2]  # SOS dt = n_dt
    assert b.prev[0].tolist() == [0, 2, 3, 3, 7]
    assert b.past_id[0].tolist() == [1] and b.past_t[0].tolist() == [2]
    assert b.n_spikes.tolist() == [4] and not b.truncated[0]


def test_matches_a_python_loop_on_random_counts():
    rng = np.random.default_rng(3)
    counts = rng.poisson(0.2, (400, 17))
    stream = tokenize_counts(counts)
    starts = np.arange(20, 390, 7)
    win = make_windows(stream, starts, n_dt=5, n_past=20)
    b = collate(stream, win)
    for k, s in enumerate(starts):
        cur, past = _loop_tokens(counts, s, 5, 20)
        got = [(int(t // 17), int(t % 17)) for t in b.target[k] if 0 <= t < 5 * 17]
        assert got == [(t - s, j) for t, j in cur]
        gp = [(int(s - dt), int(j)) for j, dt in zip(b.past_id[k], b.past_t[k]) if j >= 0]
        assert gp == past


def test_truncation_keeps_earliest_tokens_and_drops_eos():
    counts = np.zeros((6, 2), dtype=int)
    counts[0:3, :] = 1
    stream = tokenize_counts(counts)
    b = collate(stream, make_windows(stream, np.array([0]), 3, 0), max_len=4)
    assert b.truncated[0] and b.n_spikes[0] == 6
    assert b.target[0].tolist() == [0, 1, 2, 3, -1]


def test_tokenizer_speed_windows_per_second():
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.05, (60_000, 300))  # 10-ms steps, 300 neurons at 5 Hz, 10 min
    t0 = time.perf_counter()
    stream = tokenize_counts(counts)
    starts = np.arange(25, 60_000 - 5, 5)
    win = make_windows(stream, starts, 5, 25)
    for i in range(0, len(starts), 32):
        collate(stream, win.subset(np.arange(i, min(i + 32, len(starts)))))
    rate = len(starts) / (time.perf_counter() - t0)
    assert rate > 1000, f"{rate:.0f} windows/s"
