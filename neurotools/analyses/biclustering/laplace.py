"""Laplace approximation of a neuron's likelihood under a cluster's path, loadings integrated.

For neuron i and a candidate path ``(mu_t, x_t)`` (baseline and p factors), the marginal

    p(y_i | path) = int prod_t p(y_it | d_i + mu_t + c . x_t) N(c; 0, I) dc

is approximated by Laplace's method around the mode of c (Newton iterations). The label moves
(Neal's algorithm 8 and the split-merge moves) compare these marginals across candidates, so the
function evaluates many neurons against many paths in one batched computation.
"""

from __future__ import annotations

import numpy as np

from neurotools.analyses.biclustering.counts import (
    nb_log_kernel,
    nb_log_normaliser,
    poisson_loglik,
)

#: Largest number of (neuron, candidate, bin) elements evaluated at once; more is done in chunks
#: of neurons, so the working memory stays near 10 arrays of 8 MB.
CHUNK_ELEMENTS = 1 << 20


def laplace_loadings(y: np.ndarray, d: np.ndarray, r: np.ndarray, cand: np.ndarray,
                     nb: bool = True, n_newton: int = 6
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Laplace log marginal likelihoods of B neurons under M candidate paths each.

    Parameters
    ----------
    y : ndarray, shape (B, T)
        Spike counts of the neurons.
    d, r : ndarray, shape (B,)
        Their offsets (log rate) and NB dispersions (``r`` unused for Poisson).
    cand : ndarray, shape (B, M, T, 1 + p) or (1, M, T, 1 + p)
        Candidate paths per neuron (a leading 1 shares the same candidates for all neurons).
    nb : bool
        Negative-binomial (True) or Poisson likelihood.
    n_newton : int
        Largest number of Newton steps (they stop earlier once every step is below 1e-10).

    Returns
    -------
    logml : ndarray, shape (B, M)
        Log marginal likelihoods (nats), loadings ``c ~ N(0, I)`` integrated.
    mode : ndarray, shape (B, M, p)
        Posterior mode of the loadings under each candidate.
    cov : ndarray, shape (B, M, p, p)
        Laplace covariance of the loadings (inverse Hessian at the mode).
    """
    y = np.asarray(y, float)
    d, r = np.asarray(d, float), np.asarray(r, float)
    B, T = y.shape
    M, q = cand.shape[1], cand.shape[3]
    step_b = max(1, CHUNK_ELEMENTS // max(M * T, 1))
    if B > step_b:
        parts = [laplace_loadings(y[a:a + step_b], d[a:a + step_b], r[a:a + step_b],
                                  cand if cand.shape[0] == 1 else cand[a:a + step_b], nb, n_newton)
                 for a in range(0, B, step_b)]
        return tuple(np.concatenate(part, 0) for part in zip(*parts))
    p = q - 1
    yb = y[:, None, :]                                                # (B, 1, T)
    rb = r[:, None, None]
    base = d[:, None, None] + cand[..., 0]                          # (B, M, T)
    F = np.ascontiguousarray(cand[..., 1:])                           # (B|1, M, T, p)
    # F_t F_t' flattened, so that each Newton step's Hessian is one batched product
    FF = (F[..., :, None] * F[..., None, :]).reshape(F.shape[0], M, T, p * p)
    c = np.zeros((B, M, p))
    eye = np.eye(p)
    converged = False
    for it in range(n_newton + 1):
        eta = base + (F @ c[..., None])[..., 0]
        mu = np.exp(np.minimum(eta, 30))
        if nb:
            frac = mu / (mu + rb)
            g1 = yb - (yb + rb) * frac
            w = (yb + rb) * frac * (1 - frac)
        else:
            g1 = yb - mu
            w = mu
        H = (w[..., None, :] @ FF)[..., 0, :].reshape(B, M, p, p) + eye
        grad = (g1[..., None, :] @ F)[..., 0, :] - c
        if it == n_newton or converged:
            break                          # H is the Hessian at the final c
        step = np.linalg.solve(H, grad[..., None])[..., 0]
        c = c + step
        converged = bool(np.abs(step).max() < 1e-10)
    # log-likelihood at the final c; the terms free of eta are summed once per neuron
    if nb:
        ll = nb_log_normaliser(yb, rb).sum(-1) + nb_log_kernel(yb, eta, rb).sum(-1)
    else:
        ll = poisson_loglik(yb, eta).sum(-1)
    _, logdet = np.linalg.slogdet(H)
    logml = ll - 0.5 * (c**2).sum(-1) - 0.5 * logdet
    return logml, c, np.linalg.inv(H)
