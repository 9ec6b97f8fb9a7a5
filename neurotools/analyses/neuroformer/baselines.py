"""Baselines on the same windows: a per-neuron Poisson rate model and a coupled Poisson GLM.

Both give the probability of a window's count array, which is exactly what a sorted token
sequence (with its EOS) encodes, so their NLLs compare directly with the token model's.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import gammaln

from neurotools.analyses.neuroformer.data import TokenData


def _window_steps(starts: np.ndarray, n_dt: int) -> np.ndarray:
    return (np.asarray(starts)[:, None] + np.arange(n_dt)[None, :]).reshape(-1)


def poisson_nll(counts: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Elementwise Poisson NLL in nats: ``lam - c log(lam) + log(c!)``."""
    lam = np.maximum(lam, 1e-12)
    return lam - counts * np.log(lam) + gammaln(counts + 1.0)


def rate_model_nll(data: TokenData, train_starts: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-neuron constant-rate Poisson model fitted on the training windows.

    Returns
    -------
    nll : ndarray, shape (W,)
        NLL of each window in ``starts`` (nats).
    rate : ndarray, shape (N,)
        Fitted mean count per step of each neuron.
    """
    tr = _window_steps(train_starts, data.n_dt)
    rate = np.maximum(data.counts[tr].mean(0), 0.5 / max(1, len(tr)))
    c = data.counts[_window_steps(starts, data.n_dt)].reshape(len(starts), data.n_dt, -1)
    return poisson_nll(c, rate[None, None, :]).sum((1, 2)), rate


def lag_bases(n_hist: int) -> list[tuple[int, int]]:
    """History boxcars ``(a, b)`` (lags a..b steps, inclusive), doubling widths up to ``n_hist``."""
    out, a = [], 1
    while a <= n_hist:
        b = min(2 * a - 1, n_hist)
        out.append((a, b))
        a = b + 1
    return out


def glm_features(data: TokenData, steps: np.ndarray, bases: list[tuple[int, int]]) -> np.ndarray:
    """Design matrix at ``steps``: lagged count sums per basis and neuron, modality features, 1.

    Returns
    -------
    ndarray of float32, shape (len(steps), len(bases) * N + sum(F_m) + 1)
    """
    cs = np.vstack([np.zeros((1, data.n_neurons)), np.cumsum(data.counts, axis=0)])
    cols = [cs[steps - a + 1] - cs[steps - b] for a, b in bases]
    cols += [m[steps] for m in data.mods]
    cols.append(np.ones((len(steps), 1)))
    return np.hstack(cols).astype(np.float32)


def fit_glm(data: TokenData, train_starts: np.ndarray, max_steps: int = 30000, l2: float = 1e-4,
            seed: int = 0, iters: int = 60) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Fit a 1-state coupled Poisson GLM (all neurons jointly) by L-BFGS.

    The history reaches back ``max(n_past, n_dt)`` steps, the token model's context; the current
    window's earlier steps are history too, as the token model sees the window's earlier tokens.

    Returns
    -------
    beta : ndarray, shape (F, N)
        Weights (log-rate per feature).
    bases : list of (int, int)
        The history boxcars used.
    """
    bases = lag_bases(max(data.n_past, data.n_dt))
    steps = _window_steps(train_starts, data.n_dt)
    if len(steps) > max_steps:
        steps = np.sort(np.random.default_rng(seed).choice(steps, max_steps, replace=False))
    x = torch.as_tensor(glm_features(data, steps, bases))
    y = torch.as_tensor(data.counts[steps], dtype=torch.float32)
    beta = torch.zeros(x.shape[1], data.n_neurons, requires_grad=True)
    with torch.no_grad():
        beta[-1] = torch.log(y.mean(0).clamp(min=1e-4))
    opt = torch.optim.LBFGS([beta], lr=1.0, max_iter=iters, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        eta = (x @ beta).clamp(max=10.0)
        loss = (torch.exp(eta) - y * eta).mean(0).sum() + l2 * (beta[:-1] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return beta.detach().numpy(), bases


def glm_nll(data: TokenData, beta: np.ndarray, bases: list[tuple[int, int]], starts: np.ndarray,
            chunk: int = 20000) -> np.ndarray:
    """NLL (nats) of each window under the fitted GLM, shape (W,)."""
    steps = _window_steps(starts, data.n_dt)
    out = np.zeros(len(steps))
    for i in range(0, len(steps), chunk):
        s = steps[i:i + chunk]
        lam = np.exp(np.minimum(glm_features(data, s, bases) @ beta, 10.0))
        out[i:i + chunk] = poisson_nll(data.counts[s], lam).sum(1)
    return out.reshape(len(starts), data.n_dt).sum(1)


def cross_covariance_connectivity(counts: np.ndarray, max_lag: int = 3) -> np.ndarray:
    """Lagged cross-covariance connectivity, row = target.

    ``C[i, j] = sum_{lag=1..max_lag} corr(x_i(t), x_j(t - lag))`` minus the same with the lag
    reversed, so that a source leading a target scores positive and the reverse negative.

    Parameters
    ----------
    counts : ndarray, shape (T, N)
    max_lag : int
        Largest lag in steps.

    Returns
    -------
    ndarray, shape (N, N)
    """
    x = np.asarray(counts, float)
    x = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1.0)
    t = len(x)
    c = np.zeros((x.shape[1], x.shape[1]))
    for lag in range(1, max_lag + 1):
        c += x[lag:].T @ x[:t - lag] / (t - lag)
    c = c - c.T
    np.fill_diagonal(c, 0.0)
    return c
