"""Pairwise affinities a_ij(t) >= 0 between neurons over time.

Every affinity is a function ``(traces [T, N], fs, smooth_s, window_s, step) -> A [P, T']`` with
pairs in ``numpy.triu_indices(N, 1)`` order and T' = T // step bins (bin k averages samples
``k*step .. (k+1)*step - 1``). New ones register in :data:`AFFINITIES`.

- ``derivative`` (default, after Dyballa et al. 2024): smooth each trace with a Gaussian of
  ``smooth_s`` seconds, differentiate, z-score each derivative over time (g_i), take
  ``max(g_i(t) g_j(t), 0)`` (high when two neurons rise together or fall together at the same
  moment, zero for flat or unrelated traces), smooth it with a Gaussian of ``window_s`` seconds and
  average it into bins of ``step`` samples.
- ``correlation`` (baseline): Pearson correlation of the smoothed traces in a sliding Gaussian
  window of ``window_s`` seconds, clipped at 0, averaged into the same bins.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.ndimage import gaussian_filter1d

Affinity = Callable[[np.ndarray, float, float, float, int], np.ndarray]

#: Pairs are processed in chunks of this many to bound memory (T x chunk floats).
_CHUNK = 2048


def n_bins(n_samples: int, step: int) -> int:
    """Number of output bins T' for ``n_samples`` samples and ``step`` samples per bin."""
    return int(n_samples // step)


def _bin_average(x: np.ndarray, step: int) -> np.ndarray:
    """Average consecutive blocks of ``step`` rows; x (T, ...) -> (T // step, ...)."""
    tb = x.shape[0] // step
    return x[: tb * step].reshape((tb, step) + x.shape[1:]).mean(axis=1)


def _smooth(x: np.ndarray, sigma_samples: float) -> np.ndarray:
    if sigma_samples <= 0:
        return np.asarray(x, float)
    return gaussian_filter1d(np.asarray(x, float), sigma_samples, axis=0, mode="nearest")


def _zscore(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=0)
    sd = x.std(axis=0)
    return np.where(sd > 0, x / np.where(sd > 0, sd, 1.0), 0.0)


def derivative_affinity(
    traces: np.ndarray, fs: float, smooth_s: float, window_s: float, step: int
) -> np.ndarray:
    """Differential affinity: co-occurring rates of change.

    Parameters
    ----------
    traces : ndarray, shape (T, N)
        Calcium traces or smoothed rates, one column per neuron.
    fs : float
        Sampling rate in Hz.
    smooth_s : float
        Gaussian sigma (s) applied to the traces before differentiating.
    window_s : float
        Gaussian sigma (s) applied to the pair products.
    step : int
        Samples per output bin.

    Returns
    -------
    ndarray, shape (N * (N - 1) / 2, T // step)
        Non-negative affinities, pairs in ``numpy.triu_indices(N, 1)`` order.
    """
    x = np.nan_to_num(np.asarray(traces, float))
    g = _zscore(np.gradient(_smooth(x, smooth_s * fs), axis=0) * fs)
    return _pairwise(g, lambda gi, gj: np.maximum(gi * gj, 0.0), window_s * fs, step)


def correlation_affinity(
    traces: np.ndarray, fs: float, smooth_s: float, window_s: float, step: int
) -> np.ndarray:
    """Windowed Pearson correlation clipped at zero (the baseline).

    Parameters
    ----------
    traces : ndarray, shape (T, N)
    fs : float
        Sampling rate in Hz.
    smooth_s : float
        Gaussian sigma (s) applied to the traces.
    window_s : float
        Gaussian sigma (s) of the sliding window.
    step : int
        Samples per output bin.

    Returns
    -------
    ndarray, shape (N * (N - 1) / 2, T // step)
    """
    x = _smooth(np.nan_to_num(np.asarray(traces, float)), smooth_s * fs)
    sig = max(window_s * fs, 1e-9)
    mu = _smooth(x, sig)
    var = np.maximum(_smooth(x * x, sig) - mu * mu, 0.0)
    sd = np.sqrt(var)
    ok = sd > 1e-6 * (np.abs(x).max() + 1e-12)
    inv = np.where(ok, 1.0 / np.where(ok, sd, 1.0), 0.0)
    T, N = x.shape
    iu, ju = np.triu_indices(N, 1)
    out = np.empty((len(iu), n_bins(T, step)))
    for lo in range(0, len(iu), _CHUNK):
        i, j = iu[lo : lo + _CHUNK], ju[lo : lo + _CHUNK]
        cov = _smooth(x[:, i] * x[:, j], sig) - mu[:, i] * mu[:, j]
        r = np.clip(cov * inv[:, i] * inv[:, j], 0.0, 1.0)
        out[lo : lo + len(i)] = _bin_average(r, step).T
    return out


def _pairwise(g: np.ndarray, fn, sigma_samples: float, step: int) -> np.ndarray:
    T, N = g.shape
    iu, ju = np.triu_indices(N, 1)
    out = np.empty((len(iu), n_bins(T, step)))
    for lo in range(0, len(iu), _CHUNK):
        hi = min(lo + _CHUNK, len(iu))
        prod = fn(g[:, iu[lo:hi]], g[:, ju[lo:hi]])
        out[lo:hi] = _bin_average(_smooth(prod, sigma_samples), step).T
    return out


#: Registered affinity functions by name.
AFFINITIES: dict[str, Affinity] = {
    "derivative": derivative_affinity,
    "correlation": correlation_affinity,
}
