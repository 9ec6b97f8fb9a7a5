"""Per-state weight parameterisations and their priors: ``none``, ``gaussian``, ``onehot``.

Weights are stored as ``W[k, n, m]`` with ``m = n' * J + j`` (sending neuron n', basis function j);
row n is the receiving neuron. The one-hot model writes ``W = (a_exc - a_inh) * softplus(s)`` with
``a[k, n, n']`` a relaxed one-hot over ``(inhibitory, none, excitatory)`` whose prior is a
Concrete (Gumbel-softmax) distribution with logits ``abar[n, n']`` shared by all states.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

#: Index of each connection type in the last axis of the one-hot logits.
INH, NONE, EXC = 0, 1, 2


def concrete_log_density(log_y: torch.Tensor, logits: torch.Tensor, tau: float) -> torch.Tensor:
    """Log density of the Concrete (Gumbel-softmax) distribution at a point of the simplex.

    ``log p(y) = log (C-1)! + (C-1) log tau + sum_i (l_i - (tau+1) log y_i)
    - C logsumexp_i (l_i - tau log y_i)``, invariant to adding a constant to the logits ``l``.

    Parameters
    ----------
    log_y : Tensor, shape (..., C)
        Logarithm of the point (its exponentials sum to one).
    logits : Tensor, shape (..., C)
        Unnormalised log class probabilities (log-probabilities work equally).
    tau : float
        Temperature (> 0).

    Returns
    -------
    Tensor, shape (...)
        Log density with respect to Lebesgue measure on the first C - 1 coordinates.
    """
    c = log_y.shape[-1]
    return (
        math.lgamma(c)
        + (c - 1) * math.log(tau)
        + (logits - (tau + 1.0) * log_y).sum(-1)
        - c * torch.logsumexp(logits - tau * log_y, dim=-1)
    )


def softplus_inverse(y: np.ndarray) -> np.ndarray:
    """Inverse of softplus for y > 0: ``log(expm1(y))``, stable for large y."""
    y = np.asarray(y, float)
    return np.where(y > 20, y, np.log(np.expm1(np.minimum(y, 20))))


class WeightModel:
    """Learnable per-state weights under one of the three priors.

    Parameters
    ----------
    prior : {"none", "gaussian", "onehot"}
    init_weights : ndarray, shape (K, N, N * J)
        Starting weights (already different across states).
    n_basis : int
        J, the number of history basis functions.
    sigma : float
        Standard deviation of the gaussian prior.
    tau : float
        Temperature of the one-hot (Concrete) prior.
    device : torch.device or str
    logit_scale : float
        One-hot only: starting logits are ``logit_scale * (-w, 0, w)`` of the starting weights;
        small values keep the Gumbel-softmax samples unsaturated so the types can still move.
    """

    def __init__(self, prior: str, init_weights: np.ndarray, n_basis: int, sigma: float,
                 tau: float, device: torch.device | str = "cpu", logit_scale: float = 0.1):
        self.prior, self.sigma, self.tau, self.n_basis = prior, float(sigma), float(tau), n_basis
        k, n, m = init_weights.shape
        self.shape = (k, n, m)
        dev = torch.device(device)
        w0 = np.asarray(init_weights, float)
        if prior == "onehot":
            pair = w0.reshape(k, n, n, n_basis).sum(-1)
            logits = logit_scale * np.stack([-pair, np.zeros_like(pair), pair], axis=-1)
            # strengths share the pair's sign: a basis weight of the other sign starts near zero
            sgn = np.where(pair < 0, -1.0, 1.0)[..., None]
            strength = softplus_inverse(np.maximum(sgn * w0.reshape(k, n, n, n_basis), 0.05))
            self.logits = torch.tensor(logits, dtype=torch.float32, device=dev, requires_grad=True)
            self.strength = torch.tensor(strength, dtype=torch.float32, device=dev, requires_grad=True)
            self.abar = torch.tensor(logits.mean(0), dtype=torch.float32, device=dev, requires_grad=True)
            self.parameters = [self.logits, self.strength, self.abar]
        else:
            self.w = torch.tensor(w0, dtype=torch.float32, device=dev, requires_grad=True)
            self.parameters = [self.w]

    # -- weights -----------------------------------------------------------------------------
    def _from_types(self, a: torch.Tensor) -> torch.Tensor:
        k, n, m = self.shape
        sign = (a[..., EXC] - a[..., INH])[..., None]
        return (sign * F.softplus(self.strength)).reshape(k, n, m)

    def sample_types(self, generator: torch.Generator | None) -> torch.Tensor:
        """Log of a reparameterised Gumbel-softmax sample of the types, shape (K, N, N, 3)."""
        u = torch.rand(self.logits.shape, generator=generator, device="cpu").to(self.logits.device)
        g = -torch.log(-torch.log(u.clamp(1e-10, 1 - 1e-7)))
        return F.log_softmax((self.logits + g) / self.tau, dim=-1)

    def weights(self, mode: str = "train", generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Current weights ``W`` (K, N, N*J) and, for ``onehot`` in train mode, the log-sample.

        Modes: ``train`` (a Gumbel-softmax sample for one-hot), ``soft`` (noise-free relaxed
        types), ``hard`` (the one-hot MAP of each state's types).
        """
        if self.prior != "onehot":
            return self.w, None
        if mode == "train":
            log_a = self.sample_types(generator)
            return self._from_types(log_a.exp()), log_a
        if mode == "soft":
            return self._from_types(F.softmax(self.logits / self.tau, dim=-1)), None
        hard = F.one_hot(self.logits.argmax(-1), 3).to(self.logits.dtype)
        return self._from_types(hard), None

    def log_prior(self, w: torch.Tensor, log_a: torch.Tensor | None) -> torch.Tensor:
        """Log prior (nats, up to a constant) of the weights or of the one-hot sample."""
        if self.prior == "gaussian":
            return -((w - w.mean(0, keepdim=True)) ** 2).sum() / (2 * self.sigma**2)
        if self.prior == "onehot" and log_a is not None:
            return concrete_log_density(log_a, self.abar.expand_as(log_a), self.tau).sum()
        return torch.zeros((), device=w.device)

    # -- read-out ----------------------------------------------------------------------------
    def types(self, threshold: float) -> np.ndarray:
        """Per-state connection types in {-1, 0, 1}, shape (K, N, N).

        The sign of each state's evaluation weight (summed over basis functions; for one-hot the
        hard MAP type times its strength) where its magnitude exceeds ``threshold``, else 0.
        """
        k, n, m = self.shape
        w, _ = self.weights("hard")
        pair = w.detach().cpu().numpy().reshape(k, n, n, self.n_basis).sum(-1)
        return (np.sign(pair) * (np.abs(pair) > threshold)).astype(np.int64)

    def connectome(self, threshold: float) -> np.ndarray:
        """State-constant connection type per pair in {-1, 0, 1}, shape (N, N).

        One-hot: the MAP type of the connectome prior re-estimated from the per-state MAP types
        (:meth:`types`), i.e. the most frequent type over states, ties going to "none". The
        learned Concrete logits ``abar`` are not used directly: a "none" connection can be
        represented either by the none type or by a vanishing strength, so ``argmax(abar)``
        over-reports connections. Other priors: the thresholded sign of the mean weight over
        states (the gaussian prior's learned mean).
        """
        if self.prior == "onehot":
            t = self.types(threshold)
            counts = np.stack([(t == v).sum(0) for v in (-1, 0, 1)], axis=-1).astype(float)
            counts[..., 1] += 0.5  # ties -> none
            return counts.argmax(-1) - 1
        k, n, m = self.shape
        pair = self.w.detach().cpu().numpy().reshape(k, n, n, self.n_basis).sum(-1).mean(0)
        return (np.sign(pair) * (np.abs(pair) > threshold)).astype(np.int64)

    def prior_mean_weights(self) -> np.ndarray:
        """The state-constant weights the prior pulls towards, shape (N, N) (summed over basis).

        One-hot: ``(p_exc - p_inh) * mean_k softplus(s)`` under ``softmax(abar)``; other priors:
        the mean over states.
        """
        k, n, m = self.shape
        if self.prior == "onehot":
            p = F.softmax(self.abar.detach(), -1)
            mag = F.softplus(self.strength.detach()).sum(-1).mean(0)
            return ((p[..., EXC] - p[..., INH]) * mag).cpu().numpy()
        return self.w.detach().cpu().numpy().reshape(k, n, n, self.n_basis).sum(-1).mean(0)
