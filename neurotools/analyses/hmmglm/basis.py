"""Spike-history basis and the history features h[t, n', j] = sum_l phi_j[l] x[t - l, n']."""

from __future__ import annotations

import numpy as np


def exponential_basis(history_bins: int = 5, span: float = 5.0, n_basis: int = 1) -> np.ndarray:
    """Exponential history basis functions, each normalised to unit area.

    Function ``j`` is ``phi_j[l] ~ exp(-l * span_j / L)`` for lags ``l = 1..L`` with
    ``span_j = span / 2**j``, scaled so that ``(span_j / L) * sum_l phi_j[l] = 1``. With the
    defaults this is ``[0.6364, 0.2341, 0.0861, 0.0317, 0.0117]``.

    Parameters
    ----------
    history_bins : int
        Window length L in bins (lag 1 is the previous bin; the current bin is excluded).
    span : float
        Decay over the window (dimensionless; larger is faster).
    n_basis : int
        Number of functions, with time constants doubling from ``L / span`` bins.

    Returns
    -------
    ndarray, shape (n_basis, L)
        ``phi[j, l - 1]`` is the weight of lag ``l`` in function ``j``.
    """
    lags = np.arange(1, history_bins + 1, dtype=float)
    out = np.empty((n_basis, history_bins))
    for j in range(n_basis):
        s = span / 2.0**j
        phi = np.exp(-lags * s / history_bins)
        out[j] = phi / (phi.sum() * s / history_bins)
    return out


def history_features(counts: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Convolve spike counts with the history basis, zero-padded at the sequence start.

    Parameters
    ----------
    counts : ndarray, shape (S, T, N) or (T, N)
        Spike counts per bin of S sequences.
    basis : ndarray, shape (J, L)
        History basis from :func:`exponential_basis`.

    Returns
    -------
    ndarray, shape (S, T, N * J) or (T, N * J)
        ``h[..., t, n * J + j] = sum_{l=1..L} basis[j, l-1] * counts[..., t - l, n]`` (terms with
        ``t - l < 0`` are zero).
    """
    x = np.asarray(counts, dtype=float)
    squeeze = x.ndim == 2
    if squeeze:
        x = x[None]
    s, t, n = x.shape
    j, length = basis.shape
    h = np.zeros((s, t, n, j))
    for lag in range(1, min(length, t - 1) + 1):
        h[:, lag:, :, :] += x[:, :-lag, :, None] * basis[:, lag - 1]
    h = h.reshape(s, t, n * j)
    return h[0] if squeeze else h
