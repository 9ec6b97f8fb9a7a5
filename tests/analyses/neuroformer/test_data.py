"""Split and session layout: no leakage, sessions never share a window."""

from __future__ import annotations

import numpy as np
import pytest

from neurotools.analyses.neuroformer.data import build, split_windows


@pytest.mark.parametrize("n_dt, n_past", [(5, 25), (5, 0), (3, 40)])
def test_no_test_window_sees_training_data(n_dt, n_past):
    s = split_windows(0, 10_000, n_dt, n_past, 0.1, 0.2)
    spans = {k: [(x - n_past, x + n_dt) for x in v] for k, v in s.items()}
    train_hi = max(hi for _, hi in spans["train"])
    for part in ("val", "test"):
        assert min(lo for lo, _ in spans[part]) >= train_hi
    assert min(lo for lo, _ in spans["test"]) >= max(hi for _, hi in spans["val"])
    assert all(lo >= 0 and hi <= 10_000 for v in spans.values() for lo, hi in v)
    assert len(s["test"]) >= 0.19 * 10_000 / n_dt - n_past / n_dt - 1


def test_sessions_are_separated_by_a_gap():
    rng = np.random.default_rng(0)
    a, b = rng.poisson(0.1, (500, 4)), rng.poisson(0.1, (300, 4))
    data, split = build([a, b], [np.arange(500) * 0.01, np.arange(300) * 0.01], [[], []], [],
                        5, 10, 0.01, 0.1, 0.2)
    assert data.counts.shape == (500 + 15 + 300, 4)
    assert np.array_equal(data.counts[515:], b)
    for starts in split.values():
        sess = data.session[starts - 10]
        assert np.array_equal(sess, data.session[starts + 4])  # past and window in one session
        assert (sess >= 0).all()
