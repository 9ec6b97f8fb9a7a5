"""Polya-gamma draws PG(b, c) and their exact moments.

A PG(b, c) variable is ``1 / (2 pi^2) * sum_k g_k / ((k - 1/2)^2 + c^2 / (4 pi^2))`` with
``g_k ~ Gamma(b, 1)`` (Polson, Scott & Windle 2013). We draw the first ``n_terms`` terms exactly
and replace the tail by one Gamma variable with the tail's exact mean and variance, so every draw
has the exact first two moments of PG(b, c) for any real b > 0 (count + dispersion in NB models).
"""

from __future__ import annotations

import numpy as np

_PI2 = np.pi**2


def pg_mean(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Exact mean of PG(b, c): ``b / (2 c) tanh(c / 2)`` (``b / 4`` at c = 0)."""
    b = np.asarray(b, float)
    c = np.abs(np.asarray(c, float))
    small = c < 1e-4
    cs = np.where(small, 1.0, c)
    return np.where(small, b / 4.0 * (1 - c**2 / 12), b / (2 * cs) * np.tanh(cs / 2))


def pg_var(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Exact variance of PG(b, c): ``b / (4 c^3) (sinh c - c) sech^2(c / 2)`` (``b / 24`` at 0)."""
    b = np.asarray(b, float)
    c = np.abs(np.asarray(c, float))
    small = c < 1e-2
    cs = np.where(small, 1.0, c)
    th = np.tanh(cs / 2)
    sech2 = 1.0 - th**2
    big = b / (4 * cs**3) * (2 * th - cs * sech2)
    return np.where(small, b / 24.0 * (1 - c**2 / 10), big)


def sample_pg(
    b: np.ndarray, c: np.ndarray, rng: np.random.Generator, n_terms: int = 3
) -> np.ndarray:
    """Draw PG(b, c) element-wise.

    Parameters
    ----------
    b : ndarray
        Shape parameters (> 0), broadcastable with ``c``.
    c : ndarray
        Tilting parameters (any real).
    rng : numpy.random.Generator
    n_terms : int
        Number of leading terms of the infinite sum drawn exactly.

    Returns
    -------
    ndarray
        Draws with the broadcast shape of ``b`` and ``c``; mean and variance are exact.
    """
    b, c = np.broadcast_arrays(np.asarray(b, float), np.asarray(c, float))
    c2 = c**2 / (4 * _PI2)
    out = np.zeros(b.shape)
    head_mean = np.zeros(b.shape)
    head_var = np.zeros(b.shape)
    for k in range(1, n_terms + 1):
        w = 1.0 / (2 * _PI2 * ((k - 0.5) ** 2 + c2))
        out += w * rng.standard_gamma(b)
        head_mean += w * b
        head_var += w**2 * b
    tail_mean = np.maximum(pg_mean(b, c) - head_mean, 1e-300)
    tail_var = np.maximum(pg_var(b, c) - head_var, 1e-300)
    shape = tail_mean**2 / tail_var
    scale = tail_var / tail_mean
    out += scale * rng.standard_gamma(shape)
    return out
