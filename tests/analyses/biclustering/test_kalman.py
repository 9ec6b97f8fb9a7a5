"""FFBS of the latents: draws average to the RTS smoother, which equals the dense posterior."""

import numpy as np
import pytest

from neurotools.analyses.biclustering.kalman import ffbs, rts_smoother


def _problem(seed=0, T=12, D=3, L=2):
    rng = np.random.default_rng(seed)
    A = np.stack([0.9 * np.linalg.qr(rng.standard_normal((D, D)))[0] for _ in range(L)])
    b = 0.1 * rng.standard_normal((L, D))
    Q = np.stack([0.05 * np.eye(D) + 0.01 * np.outer(v, v) for v in rng.standard_normal((L, D))])
    states = rng.integers(0, L, T)
    G = rng.standard_normal((T, 4, D))
    J = np.einsum("tkd,tke->tde", G, G) * 0.5
    h = rng.standard_normal((T, D))
    return J, h, states, A, b, Q


def _dense_posterior(J, h, states, A, b, Q):
    T, D = h.shape
    P = np.zeros((T * D, T * D))
    v = np.zeros(T * D)
    P[:D, :D] += np.eye(D)
    for t in range(T):
        sl = slice(t * D, (t + 1) * D)
        P[sl, sl] += J[t]
        v[sl] += h[t]
        if t > 0:
            s = states[t]
            Qi = np.linalg.inv(Q[s])
            pr = slice((t - 1) * D, t * D)
            P[sl, sl] += Qi
            P[pr, pr] += A[s].T @ Qi @ A[s]
            P[sl, pr] -= Qi @ A[s]
            P[pr, sl] -= A[s].T @ Qi
            v[sl] += Qi @ b[s]
            v[pr] -= A[s].T @ Qi @ b[s]
    cov = np.linalg.inv(P)
    return (cov @ v).reshape(T, D), cov


def test_rts_equals_dense_posterior():
    prob = _problem()
    m_dense, cov = _dense_posterior(*prob)
    m, P = rts_smoother(*prob)
    assert np.allclose(m, m_dense, atol=1e-8)
    T, D = m.shape
    for t in range(T):
        assert np.allclose(P[t], cov[t * D:(t + 1) * D, t * D:(t + 1) * D], atol=1e-8)


def test_ffbs_draws_average_to_the_smoother():
    prob = _problem(seed=3)
    m, P = rts_smoother(*prob)
    rng = np.random.default_rng(0)
    draws = np.array([ffbs(*prob, rng) for _ in range(4000)])
    se = np.sqrt(np.diagonal(P, axis1=1, axis2=2) / len(draws))
    z = (draws.mean(0) - m) / se
    assert np.abs(z).max() < 4.5
    emp_var = draws.var(0)
    assert np.allclose(emp_var, np.diagonal(P, axis1=1, axis2=2), rtol=0.12)
    # lag-one cross-covariance is the smoother's too (joint draws, not marginals)
    _, cov = _dense_posterior(*prob)
    D = m.shape[1]
    emp = np.cov(draws[:, 4, 0], draws[:, 5, 1])[0, 1]
    assert emp == pytest.approx(cov[4 * D, 5 * D + 1], abs=4 * np.sqrt(P[4, 0, 0] * P[5, 1, 1] / len(draws)))


class _PresetNormals:
    """Stands in for the generator: returns a preset vector of 'standard normals'."""

    def __init__(self, values):
        self.values = np.asarray(values, float)

    def standard_normal(self, size):
        return self.values.reshape(size)


@pytest.mark.parametrize("T", [1, 2, 12])
def test_ffbs_is_an_exact_linear_map_of_the_normals(T):
    """draw(z) = mean + B z with mean and B B' equal to the dense posterior's, to 1e-9."""
    J, h, states, A, b, Q = _problem(seed=5, T=T)
    m_dense, cov = _dense_posterior(J, h, states, A, b, Q)
    n = m_dense.size
    mean = ffbs(J, h, states, A, b, Q, _PresetNormals(np.zeros(n)))
    assert np.allclose(mean, m_dense, atol=1e-9)
    B = np.stack([(ffbs(J, h, states, A, b, Q, _PresetNormals(np.eye(n)[k])) - mean).ravel()
                  for k in range(n)], 1)
    assert np.allclose(B @ B.T, cov, atol=1e-9)
