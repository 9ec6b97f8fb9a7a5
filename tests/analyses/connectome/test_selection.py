"""Factor match score and rank suggestion."""

import numpy as np
import pytest

from neurotools.analyses.connectome.selection import factor_match, suggest_rank


def test_factor_match_is_one_for_permuted_rescaled_copy_and_low_for_random():
    rng = np.random.default_rng(0)
    f = [rng.random((n, 4)) for n in (30, 20, 5)]
    perm = [2, 0, 3, 1]
    g = [x[:, perm] * 3.0 for x in f]
    score, ia, ib = factor_match(f, g)
    assert score == pytest.approx(1.0)
    assert [perm[j] for j in ib] == list(ia)
    h = [rng.standard_normal((n, 4)) for n in (30, 20, 5)]
    assert factor_match(f, h)[0] < 0.5


def test_factor_match_penalises_weight_mismatch():
    rng = np.random.default_rng(1)
    f = [rng.random((n, 2)) for n in (10, 10)]
    same = factor_match(f, f, np.array([1.0, 1.0]), np.array([1.0, 1.0]))[0]
    half = factor_match(f, f, np.array([1.0, 1.0]), np.array([0.5, 0.5]))[0]
    assert same == pytest.approx(1.0)
    assert half == pytest.approx(0.5)


@pytest.mark.parametrize(
    "errors, similarity, expected",
    [
        ([0.87, 0.75, 0.60, 0.58, 0.56], [1, 1, 1, 0.7, 0.7], 3),  # elbow at 3
        ([0.9, 0.5, 0.45, 0.44], [1, 1, 1, 1], 2),
        ([0.9, 0.8, 0.7, 0.6], [1, 0.5, 0.5, 0.5], 1),  # unstable beyond rank 1
        ([0.5, 0.5, 0.5], [1, 1, 1], 1),  # nothing gained
    ],
)
def test_suggest_rank(errors, similarity, expected):
    ranks = np.arange(1, len(errors) + 1)
    assert suggest_rank(ranks, np.array(errors), np.array(similarity)) == expected
