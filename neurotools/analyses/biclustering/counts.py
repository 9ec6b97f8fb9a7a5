"""Count-model pieces: negative-binomial log-likelihood, CRT draws, the dispersion step.

The NB here is mean-parameterised: ``y ~ NB(mean mu, dispersion r)``, variance ``mu + mu^2 / r``,
i.e. ``NB(r, p)`` with ``p = mu / (mu + r)`` and Polya-gamma logit ``psi = log mu - log r``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln


def nb_loglik(y: np.ndarray, log_mu: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Element-wise log NB(y | mean exp(log_mu), dispersion r); r broadcasts."""
    log_mu = np.asarray(log_mu, float)
    r = np.broadcast_to(np.asarray(r, float), log_mu.shape)
    return nb_log_normaliser(y, r) + nb_log_kernel(y, log_mu, r)


def nb_log_normaliser(y: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The part of :func:`nb_loglik` free of the mean: ``log Gamma(y+r) / (Gamma(r) y!)``."""
    return gammaln(y + r) - gammaln(r) - gammaln(y + 1.0)


def nb_log_kernel(y: np.ndarray, log_mu: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The part of :func:`nb_loglik` that depends on the mean: ``r log(r / (mu + r)) +
    y log(mu / (mu + r))``."""
    log_r = np.log(r)
    log_mr = np.logaddexp(log_mu, log_r)                       # log(mu + r)
    return r * (log_r - log_mr) + y * (log_mu - log_mr)


def poisson_loglik(y: np.ndarray, log_mu: np.ndarray) -> np.ndarray:
    """Element-wise log Poisson(y | exp(log_mu))."""
    return y * log_mu - np.exp(log_mu) - gammaln(y + 1.0)


def sample_crt(n: np.ndarray, a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Chinese-restaurant-table counts ``sum_{k<n} Bernoulli(a / (a + k))`` element-wise.

    Parameters
    ----------
    n : ndarray of int
        Customers (non-negative counts).
    a : ndarray
        Concentrations (> 0), same shape as ``n``.

    Returns
    -------
    ndarray of int, same shape
        Number of occupied tables.
    """
    shape = np.shape(n)
    n = np.asarray(n).astype(np.int64).ravel()
    a = np.broadcast_to(np.asarray(a, float), shape).ravel()
    total = int(n.sum())
    if total == 0:
        return np.zeros(shape, np.int64)
    owner = np.repeat(np.arange(n.size), n)
    starts = np.repeat(np.cumsum(n) - n, n)
    k = np.arange(total) - starts
    p = a[owner] / (a[owner] + k)
    hits = rng.random(total) < p
    return np.bincount(owner, weights=hits, minlength=n.size).astype(np.int64).reshape(shape)


def _log_target_r(r, y, mu, sum_l, a0, b0):
    # log p(r | L, y, mu) up to a constant, per neuron (rows): prior Gamma(a0, rate b0) times
    # prod_t r^L_t (mu_t / (mu_t + r))^y_t (r / (mu_t + r))^r.
    log_mr = np.log(mu + r[:, None])
    return ((a0 - 1 + sum_l) * np.log(r) - b0 * r
            - (y * log_mr).sum(1) + r * (np.log(r)[:, None] - log_mr).sum(1))


def _log_gamma_pdf(x, shape, rate):
    return shape * np.log(rate) - gammaln(shape) + (shape - 1) * np.log(x) - rate * x


def sample_dispersion(
    y: np.ndarray,
    mu: np.ndarray,
    r: np.ndarray,
    rng: np.random.Generator,
    a0: float = 1.0,
    b0: float = 1.0,
    rw_steps: int = 0,
    rw_step: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """Update the NB dispersions by CRT augmentation + a Metropolis-Hastings correction.

    ``L_it ~ CRT(y_it, r_i)`` is drawn exactly; then ``r_i`` is proposed from the Gamma that
    would be its conditional if ``p = mu / (mu + r)`` did not depend on ``r``
    (``Gamma(a0 + sum_t L_it, b0 + sum_t log(1 + mu_it / r_i))``) and accepted against its exact
    conditional ``p(r_i | L_i, y_i, mu_i)`` with the reverse-proposal density. This keeps the
    mean parameterisation exactly while reusing the conjugate CRT step.

    Parameters
    ----------
    y : ndarray, shape (N, T)
        Counts.
    mu : ndarray, shape (N, T)
        Means (> 0).
    r : ndarray, shape (N,)
        Current dispersions.
    rng : numpy.random.Generator
    a0, b0 : float
        Gamma prior shape and rate of r.
    rw_steps : int
        Random-walk Metropolis steps on ``log r_i`` against ``p(r_i | y_i, mu_i)`` (the CRT
        variables integrated out) after the CRT step. When ``r`` is large against the counts the
        CRT step barely moves it (almost every count is its own table); these steps do.
    rw_step : float
        Standard deviation of a random-walk step of ``log r``.

    Returns
    -------
    r : ndarray, shape (N,)
        New dispersions.
    accepted : ndarray of bool, shape (N,)
        Whether the CRT step's proposal was accepted.
    """
    N = y.shape[0]
    sum_l = sample_crt(y, np.repeat(r[:, None], y.shape[1], 1), rng).sum(1)
    shape = a0 + sum_l
    rate_fwd = b0 + np.log1p(mu / r[:, None]).sum(1)
    r_new = np.maximum(rng.standard_gamma(shape) / rate_fwd, 1e-8)
    rate_rev = b0 + np.log1p(mu / r_new[:, None]).sum(1)
    log_acc = (_log_target_r(r_new, y, mu, sum_l, a0, b0) - _log_target_r(r, y, mu, sum_l, a0, b0)
               + _log_gamma_pdf(r, shape, rate_rev) - _log_gamma_pdf(r_new, shape, rate_fwd))
    accept = np.log(rng.random(N)) < log_acc
    r = np.where(accept, r_new, r)
    if rw_steps:
        log_mu = np.log(mu)
        cur = _log_marginal_r(r, y, log_mu, a0, b0)
        for _ in range(rw_steps):
            prop = r * np.exp(rw_step * rng.standard_normal(N))
            new = _log_marginal_r(prop, y, log_mu, a0, b0)
            ok = np.log(rng.random(N)) < new - cur
            r = np.where(ok, prop, r)
            cur = np.where(ok, new, cur)
    return r, accept


def _log_marginal_r(r, y, log_mu, a0, b0):
    # log p(log r | y, mu) up to a constant, per neuron: Gamma(a0, b0) prior on r, the NB
    # likelihood, and the Jacobian r of the log scale
    return (a0 * np.log(r) - b0 * r
            + nb_loglik(y, log_mu, np.broadcast_to(r[:, None], y.shape)).sum(1))
