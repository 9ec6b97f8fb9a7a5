"""Exact HMM inference in log space, batched over sequences of unequal length.

All functions take per-bin emission log-likelihoods ``log_lik[s, t, k] = log p(x_t | z_t = k)``
of S sequences padded to a common length T, with a boolean ``mask[s, t]`` marking real bins
(each sequence's real bins come first). Padded bins neither emit nor transition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

_TINY = 1e-300


@dataclass
class Posterior:
    """Output of :func:`forward_backward`.

    Attributes
    ----------
    gamma : Tensor, shape (S, T, K)
        Posterior state probabilities p(z_t = k | x_1:T); zero on padded bins.
    xi_sum : Tensor, shape (K, K)
        Expected transition counts sum_{s,t} p(z_t = i, z_{t+1} = j | x), pooled over sequences.
    log_marginal : Tensor, shape (S,)
        log p(x_1:T) of each sequence (nats).
    """

    gamma: torch.Tensor
    xi_sum: torch.Tensor
    log_marginal: torch.Tensor


def _log_matvec(log_a: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """``log(exp(log_a) @ p)`` row-wise, stable: shift by the row maximum first."""
    m = log_a.max(dim=-1, keepdim=True).values
    return torch.log((log_a - m).exp() @ p + _TINY) + m


def _forward_backward_numpy(ll: np.ndarray, log_init: np.ndarray, log_trans: np.ndarray,
                            mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same recursions as :func:`forward_backward` in numpy (less per-step overhead on CPU)."""
    s, t_len, k = ll.shape
    trans = np.exp(log_trans)
    trans_t = np.ascontiguousarray(trans.T)
    alpha = np.empty_like(ll)
    a = log_init[None, :] + ll[:, 0]
    alpha[:, 0] = a
    all_real = bool(mask.all())
    for t in range(1, t_len):
        m = a.max(axis=1, keepdims=True)
        na = np.log(np.exp(a - m) @ trans + _TINY) + m + ll[:, t]
        a = na if all_real else np.where(mask[:, t, None], na, a)
        alpha[:, t] = a
    beta = np.empty_like(ll)
    b = np.zeros((s, k))
    beta[:, -1] = b
    for t in range(t_len - 2, -1, -1):
        nb = b + ll[:, t + 1]
        m = nb.max(axis=1, keepdims=True)
        nb = np.log(np.exp(nb - m) @ trans_t + _TINY) + m
        b = nb if all_real else np.where(mask[:, t + 1, None], nb, b)
        beta[:, t] = b
    lm = np.logaddexp.reduce(alpha[:, -1], axis=1)
    gamma = np.exp(alpha + beta - lm[:, None, None]) * mask[..., None]
    if t_len > 1:
        log_xi = (alpha[:, :-1, :, None] + log_trans[None, None]
                  + (ll[:, 1:] + beta[:, 1:])[:, :, None, :] - lm[:, None, None, None])
        xi_sum = (np.exp(log_xi) * mask[:, 1:, None, None]).sum(axis=(0, 1))
    else:
        xi_sum = np.zeros((k, k))
    return gamma, xi_sum, lm


def forward_backward(
    log_lik: torch.Tensor,
    log_init: torch.Tensor,
    log_trans: torch.Tensor,
    mask: torch.Tensor | None = None,
    backend: str = "auto",
) -> Posterior:
    """Forward-backward in log space for a batch of sequences.

    Parameters
    ----------
    log_lik : Tensor, shape (S, T, K)
        Emission log-likelihoods (nats), float64 recommended.
    log_init : Tensor, shape (K,)
        Log initial state distribution.
    log_trans : Tensor, shape (K, K)
        Log transition matrix, ``log_trans[i, j] = log p(z_{t+1} = j | z_t = i)``.
    mask : Tensor of bool, shape (S, T), optional
        Real (True) vs padded (False) bins; default all real.

    backend : {"auto", "numpy", "torch"}
        ``auto``: numpy for CPU tensors, torch (on the tensors' device) otherwise.

    Returns
    -------
    Posterior
    """
    s, t_len, k = log_lik.shape
    if mask is None:
        mask = torch.ones(s, t_len, dtype=torch.bool, device=log_lik.device)
    if backend == "numpy" or (backend == "auto" and log_lik.device.type == "cpu"):
        gamma, xi_sum, lm = _forward_backward_numpy(
            log_lik.detach().cpu().double().numpy(), log_init.detach().cpu().double().numpy(),
            log_trans.detach().cpu().double().numpy(), mask.cpu().numpy())
        dev, dt = log_lik.device, log_lik.dtype
        return Posterior(torch.from_numpy(gamma).to(dev, dt), torch.from_numpy(xi_sum).to(dev, dt),
                         torch.from_numpy(lm).to(dev, dt))
    trans = log_trans.exp()
    alphas = [log_init[None, :] + log_lik[:, 0]]
    for t in range(1, t_len):
        prev = alphas[-1]
        a = _log_matvec(prev, trans) + log_lik[:, t]
        alphas.append(torch.where(mask[:, t, None], a, prev))
    alpha = torch.stack(alphas, dim=1)
    betas = [torch.zeros(s, k, dtype=log_lik.dtype, device=log_lik.device)]
    trans_t = trans.T.contiguous()
    for t in range(t_len - 2, -1, -1):
        nxt = betas[-1]
        b = _log_matvec(nxt + log_lik[:, t + 1], trans_t)
        betas.append(torch.where(mask[:, t + 1, None], b, nxt))
    beta = torch.stack(betas[::-1], dim=1)
    log_marginal = torch.logsumexp(alpha[:, -1], dim=-1)
    gamma = (alpha + beta - log_marginal[:, None, None]).exp() * mask[..., None]
    if t_len > 1:
        log_xi = (
            alpha[:, :-1, :, None]
            + log_trans[None, None]
            + (log_lik[:, 1:] + beta[:, 1:])[:, :, None, :]
            - log_marginal[:, None, None, None]
        )
        xi_sum = (log_xi.exp() * mask[:, 1:, None, None]).sum(dim=(0, 1))
    else:
        xi_sum = torch.zeros(k, k, dtype=log_lik.dtype, device=log_lik.device)
    return Posterior(gamma=gamma, xi_sum=xi_sum, log_marginal=log_marginal)


def log_marginal(
    log_lik: torch.Tensor,
    log_init: torch.Tensor,
    log_trans: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Forward pass only: log p(x_1:T) of each sequence, shape (S,), in nats."""
    s, t_len, _ = log_lik.shape
    if mask is None:
        mask = torch.ones(s, t_len, dtype=torch.bool, device=log_lik.device)
    if log_lik.device.type == "cpu":
        ll, mk = log_lik.double().numpy(), mask.numpy()
        trans = np.exp(log_trans.double().numpy())
        a = log_init.double().numpy()[None, :] + ll[:, 0]
        for t in range(1, t_len):
            m = a.max(axis=1, keepdims=True)
            na = np.log(np.exp(a - m) @ trans + _TINY) + m + ll[:, t]
            a = np.where(mk[:, t, None], na, a)
        return torch.from_numpy(np.logaddexp.reduce(a, axis=1)).to(log_lik.dtype)
    trans = log_trans.exp()
    alpha = log_init[None, :] + log_lik[:, 0]
    for t in range(1, t_len):
        a = _log_matvec(alpha, trans) + log_lik[:, t]
        alpha = torch.where(mask[:, t, None], a, alpha)
    return torch.logsumexp(alpha, dim=-1)


def viterbi(
    log_lik: np.ndarray, log_init: np.ndarray, log_trans: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """Most probable state path of each sequence.

    Parameters
    ----------
    log_lik : ndarray, shape (S, T, K)
        Emission log-likelihoods, padded after each sequence's ``lengths[s]`` real bins.
    log_init : ndarray, shape (K,)
    log_trans : ndarray, shape (K, K)
    lengths : ndarray of int, shape (S,)

    Returns
    -------
    ndarray of int64, shape (S, T)
        State index per bin; -1 on padded bins.
    """
    log_lik = np.asarray(log_lik, float)
    s, t_len, k = log_lik.shape
    lengths = np.asarray(lengths, int)
    delta = log_init[None, :] + log_lik[:, 0]
    back = np.zeros((s, t_len, k), dtype=np.int64)
    rows = np.arange(s)
    final = delta.copy()
    for t in range(1, t_len):
        cand = delta[:, :, None] + log_trans[None]
        back[:, t] = cand.argmax(axis=1)
        delta = cand.max(axis=1) + log_lik[:, t]
        ends = lengths == t + 1
        final[ends] = delta[ends]
    path = np.full((s, t_len), -1, dtype=np.int64)
    state = final.argmax(axis=1)
    for t in range(t_len - 1, -1, -1):
        live = t < lengths
        last = lengths == t + 1
        state = np.where(last, final[rows, :].argmax(axis=1), state)
        path[live, t] = state[live]
        if t > 0:
            state = np.where(live, back[rows, t, state], state)
    return path
