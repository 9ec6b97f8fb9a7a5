"""Forward-backward and Viterbi against brute-force enumeration of all state paths."""

import itertools

import numpy as np
import pytest
import torch

from neurotools.analyses.hmmglm.inference import forward_backward, log_marginal, viterbi


def _random_hmm(rng, s, t, k):
    ll = torch.tensor(rng.normal(0, 2, size=(s, t, k)), dtype=torch.float64)
    init = rng.dirichlet(np.ones(k))
    trans = rng.dirichlet(np.ones(k), size=k)
    return ll, torch.tensor(np.log(init)), torch.tensor(np.log(trans))


def _brute(ll, log_init, log_trans):
    """Joint log p(x, z) for every path z of one sequence (T, K)."""
    t, k = ll.shape
    paths = list(itertools.product(range(k), repeat=t))
    logp = []
    for z in paths:
        v = log_init[z[0]] + ll[0, z[0]]
        for i in range(1, t):
            v += log_trans[z[i - 1], z[i]] + ll[i, z[i]]
        logp.append(v)
    return np.array(paths), np.array(logp)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("t", [1, 2, 5, 8])
def test_forward_backward_equals_enumeration_k2(t, backend):
    rng = np.random.default_rng(t)
    ll, li, lt = _random_hmm(rng, 3, t, 2)
    post = forward_backward(ll, li, lt, backend=backend)
    for s in range(3):
        paths, logp = _brute(ll[s].numpy(), li.numpy(), lt.numpy())
        lz = np.logaddexp.reduce(logp)
        assert post.log_marginal[s].item() == pytest.approx(lz, abs=1e-9)
        p = np.exp(logp - lz)
        for i in range(t):
            for k in range(2):
                assert post.gamma[s, i, k].item() == pytest.approx(p[paths[:, i] == k].sum(), abs=1e-9)
    # pooled transition counts
    want = np.zeros((2, 2))
    for s in range(3):
        paths, logp = _brute(ll[s].numpy(), li.numpy(), lt.numpy())
        p = np.exp(logp - np.logaddexp.reduce(logp))
        for z, w in zip(paths, p):
            for i in range(1, t):
                want[z[i - 1], z[i]] += w
    np.testing.assert_allclose(post.xi_sum.numpy(), want, atol=1e-9)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_padded_sequences_equal_their_unpadded_selves(backend):
    rng = np.random.default_rng(0)
    ll, li, lt = _random_hmm(rng, 2, 8, 3)
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[1, 5:] = False
    post = forward_backward(ll, li, lt, mask, backend=backend)
    short = forward_backward(ll[1:2, :5], li, lt, backend=backend)
    assert post.log_marginal[1].item() == pytest.approx(short.log_marginal[0].item(), abs=1e-10)
    np.testing.assert_allclose(post.gamma[1, :5].numpy(), short.gamma[0].numpy(), atol=1e-10)
    assert post.gamma[1, 5:].abs().max().item() == 0
    assert log_marginal(ll, li, lt, mask)[1].item() == pytest.approx(short.log_marginal[0].item())


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_posteriors_sum_to_one_and_stay_finite_on_long_sequences(backend):
    rng = np.random.default_rng(1)
    ll, li, lt = _random_hmm(rng, 2, 10000, 20)
    ll = ll * 50  # very peaked emissions
    post = forward_backward(ll, li, lt, backend=backend)
    assert torch.isfinite(post.gamma).all() and torch.isfinite(post.log_marginal).all()
    np.testing.assert_allclose(post.gamma.sum(-1).numpy(), 1.0, atol=1e-8)
    assert post.xi_sum.sum().item() == pytest.approx(2 * 9999, rel=1e-7)


def test_viterbi_equals_the_best_enumerated_path():
    rng = np.random.default_rng(2)
    ll, li, lt = _random_hmm(rng, 4, 6, 3)
    lengths = np.array([6, 4, 1, 6])
    z = viterbi(ll.numpy(), li.numpy(), lt.numpy(), lengths)
    for s in range(4):
        n = lengths[s]
        paths, logp = _brute(ll[s, :n].numpy(), li.numpy(), lt.numpy())
        np.testing.assert_array_equal(z[s, :n], paths[np.argmax(logp)])
        assert np.all(z[s, n:] == -1)
