"""Baselines and scores: Poisson NLL, GLM recovery of a planted GLM, AUROC by enumeration."""

from __future__ import annotations

import numpy as np
from scipy.stats import poisson

from neurotools.analyses.neuroformer.baselines import (
    cross_covariance_connectivity,
    fit_glm,
    glm_nll,
    poisson_nll,
    rate_model_nll,
)
from neurotools.analyses.neuroformer.connectivity import auroc, edge_scores
from neurotools.analyses.neuroformer.data import build


def test_poisson_nll_matches_scipy():
    c = np.array([0, 1, 3, 7])
    lam = np.array([0.2, 1.5, 2.0, 0.5])
    assert np.allclose(poisson_nll(c, lam), -poisson.logpmf(c, lam))


def test_auroc_equals_pairwise_enumeration():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, 40).astype(float)  # ties on purpose
    y = rng.random(40) < 0.3
    pos, neg = s[y], s[~y]
    brute = np.mean([(p > q) + 0.5 * (p == q) for p in pos for q in neg])
    assert np.isclose(auroc(s, y), brute)


def _planted_glm(seed=0, t=40_000):
    """Neuron 0 drives neuron 1 at lag 1 (strongly), neuron 2 is independent."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((t, 3), dtype=np.int64)
    for k in range(1, t):
        lam = np.exp([-3.0, -3.0 + 2.0 * counts[k - 1, 0], -2.5])
        counts[k] = rng.poisson(lam)
    return counts


def test_glm_beats_rate_model_and_recovers_the_planted_weight():
    counts = _planted_glm()
    data, split = build([counts], [np.arange(len(counts)) * 0.01], [[]], [], 5, 4, 0.01, 0.1, 0.2)
    beta, bases = fit_glm(data, split["train"])
    assert bases[0] == (1, 1)
    w01 = beta[0 * 3 + 0, 1]  # lag-1 basis, source 0 -> target 1
    assert 1.6 < w01 < 2.4, w01
    assert abs(beta[0 * 3 + 2, 1]) < 0.3
    rate, _ = rate_model_nll(data, split["train"], split["test"])
    glm = glm_nll(data, beta, bases, split["test"])
    assert glm.sum() < rate.sum()


def test_cross_covariance_finds_the_planted_edge_and_its_direction():
    counts = _planted_glm(1)
    c = cross_covariance_connectivity(counts, max_lag=2)
    edges = np.zeros((3, 3))
    edges[1, 0] = 1
    sc = edge_scores(c, edges)
    assert sc["auroc"] == 1.0 and sc["direction_accuracy"] == 1.0
