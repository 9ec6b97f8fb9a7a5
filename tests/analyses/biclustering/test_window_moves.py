"""State moves with the latent path integrated out (Kalman evidence of the Polya-gamma
pseudo-observations): the evidence equals the dense Gaussian integral, and the window
Metropolis-Hastings moves sample the exact posterior of the state path (bin 0 shares bin 1's
state; all 2^4 paths of the 5-bin problem enumerated).
"""

import itertools

import numpy as np
import pytest

from neurotools.analyses.biclustering.kalman import (
    _combine,
    _Dynamics,
    _first_message,
    _WindowChain,
    log_evidence,
    sample_window_states,
    window_log_q,
    window_state_moves,
)

T, D, L = 5, 2, 2


def _problem(seed=1):
    rng = np.random.default_rng(seed)
    A = rng.normal(0, 0.5, (L, D, D))
    b = rng.normal(0, 0.3, (L, D))
    Q = np.stack([np.eye(D) * 0.3, np.eye(D) * 0.05 + 0.01])
    J = np.stack([np.eye(D) * rng.uniform(0.5, 2) for _ in range(T)])
    h = rng.normal(0, 1, (T, D))
    return J, h, A, b, Q


def _dense_evidence(J, h, A, b, Q, st):
    T, D = h.shape
    n = T * D
    P = np.zeros((n, n))
    lin = np.zeros(n)
    P[:D, :D] += np.eye(D)
    c = -0.5 * D * np.log(2 * np.pi)
    for t in range(1, T):
        s = st[t]
        Qi = np.linalg.inv(Q[s])
        i0, i1 = slice((t - 1) * D, t * D), slice(t * D, (t + 1) * D)
        P[i1, i1] += Qi
        P[i0, i0] += A[s].T @ Qi @ A[s]
        P[i1, i0] -= Qi @ A[s]
        P[i0, i1] -= A[s].T @ Qi
        lin[i1] += Qi @ b[s]
        lin[i0] -= A[s].T @ Qi @ b[s]
        c += -0.5 * D * np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(Q[s])[1] - 0.5 * b[s] @ Qi @ b[s]
    for t in range(T):
        i = slice(t * D, (t + 1) * D)
        P[i, i] += J[t]
        lin[i] += h[t]
    return (c + 0.5 * n * np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(P)[1]
            + 0.5 * lin @ np.linalg.solve(P, lin))


def test_kalman_evidence_equals_the_dense_gaussian_integral():
    J, h, A, b, Q = _problem()
    paths = [np.array(p) for p in itertools.product(range(L), repeat=T)]
    dense = np.array([_dense_evidence(J, h, A, b, Q, p) for p in paths])
    kal = np.array([log_evidence(J, h, p, A, b, Q) for p in paths])
    assert np.ptp(dense - kal) < 1e-9          # equal up to the path-independent constant


@pytest.mark.parametrize("singular", [False, True])
def test_forward_and_backward_messages_meet_at_every_bin_with_the_same_evidence(singular):
    # forward messages carried over runs of 1-4 bins, backward messages likewise: the
    # evidence int alpha_t beta_t is the same at every bin and equals the dense integral.
    # With a singular A the backward messages are not positive definite (rank-1 or zero)
    rng = np.random.default_rng(5)
    n_bins, dim = 13, 3
    A = rng.normal(0, 0.4, (L, dim, dim))
    if singular:
        A[0] = 0.0
        A[1] = np.outer(rng.normal(size=dim), rng.normal(size=dim))
    b = rng.normal(0, 0.3, (L, dim))
    Q = np.stack([np.eye(dim) * 0.2, np.eye(dim) * 0.05 + 0.02])
    J = np.stack([np.eye(dim) * rng.uniform(0.3, 2) for _ in range(n_bins)])
    h = rng.normal(0, 1, (n_bins, dim))
    st = rng.integers(0, L, n_bins)
    chain = _WindowChain(J, h, _Dynamics(A, b, Q))
    edges = [0, 1, 4, 5, 9, 12]
    alphas = {0: _first_message(J, h)}
    for a, e in zip(edges[:-1], edges[1:]):
        alphas[e] = chain.forward(alphas[a], a, st[a + 1:e + 1])
    betas = {n_bins - 1: (np.zeros((dim, dim)), np.zeros(dim), 0.0)}
    cuts = [0, 2, 3, 7, 11, n_bins - 1]
    for a, e in zip(cuts[-2::-1], cuts[:0:-1]):
        betas[a] = chain.backward(betas[e], a, st[a + 1:e + 1])
    whole = log_evidence(J, h, st, A, b, Q)
    for t in set(alphas) & set(betas):
        assert np.isclose(_combine(*alphas[t], *betas[t]), whole, atol=1e-9)
    for t, beta in betas.items():        # each backward message against a fresh forward pass
        alpha = chain.forward(_first_message(J, h), 0, st[1:t + 1]) if t else _first_message(J, h)
        assert np.isclose(_combine(*alpha, *beta), whole, atol=1e-9)
    assert np.isclose(_dense_evidence(J, h, A, b, Q, st), whole, atol=1e-8)


def test_window_proposal_probability_matches_its_draws():
    rng = np.random.default_rng(2)
    trans = np.array([[0.8, 0.15, 0.05], [0.3, 0.6, 0.1], [0.2, 0.2, 0.6]])
    counts = {}
    n = 20000
    for _ in range(n):
        seg, logq = sample_window_states(trans, 0, 2, 3, rng)
        assert np.isclose(logq, window_log_q(trans, 0, 2, seg))
        counts[tuple(seg)] = counts.get(tuple(seg), 0) + 1
    total = sum(np.exp(window_log_q(trans, 0, 2, np.array(p)))
                for p in itertools.product(range(3), repeat=3))
    assert np.isclose(total, 1.0)
    # a window at the first move (no left state) starts from a uniform distribution
    total = sum(np.exp(window_log_q(trans, None, 2, np.array(p)))
                for p in itertools.product(range(3), repeat=3))
    assert np.isclose(total, 1.0)
    seg, logq = sample_window_states(trans, None, 2, 3, rng)
    assert np.isclose(logq, window_log_q(trans, None, 2, seg))
    for seg, k in counts.items():
        p = np.exp(window_log_q(trans, 0, 2, np.array(seg)))
        assert abs(k / n - p) < 5 * np.sqrt(p * (1 - p) / n) + 1e-3


def test_window_moves_sample_the_exact_state_posterior():
    J, h, A, b, Q = _problem()
    trans = np.array([[0.8, 0.2], [0.3, 0.7]])
    # the state chain runs over the T - 1 moves (uniform first move); bin 0 copies bin 1
    paths = [(p[0],) + p for p in itertools.product(range(L), repeat=T - 1)]
    lp = np.array([sum(np.log(trans[p[t - 1], p[t]]) for t in range(2, T))
                   + log_evidence(J, h, np.array(p), A, b, Q) for p in paths])
    exact = np.exp(lp - lp.max())
    exact /= exact.sum()
    index = {p: i for i, p in enumerate(paths)}
    rng = np.random.default_rng(0)
    counts = np.zeros(len(paths))
    st = np.zeros(T, np.int64)
    n = 20000
    for _ in range(n):
        st, _ = window_state_moves(J, h, st, A, b, Q, trans, rng, max_len=3)
        assert st[0] == st[1]
        counts[index[tuple(st)]] += 1
    freq = counts / n
    se = np.sqrt(exact * (1 - exact) / n) * 3        # autocorrelation allowance
    assert np.all(np.abs(freq - exact) < 5 * se + 2e-3), np.c_[freq, exact]
