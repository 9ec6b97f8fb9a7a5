"""GLM emissions: rate f = g(u) of the linear predictor u, Poisson or Bernoulli counts.

Each function works elementwise on tensors of any matching shape, so one call evaluates every
state, bin and neuron at once. Gradients with respect to ``u`` are written out by hand (checked
against autograd in the tests): the M-step never builds a graph over the data.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_EPS = 1e-8


def rate(u: torch.Tensor, link: str) -> torch.Tensor:
    """Expected count per bin ``g(u)`` (spikes/bin) for the ``sigmoid`` or ``softplus`` link."""
    return torch.sigmoid(u) if link == "sigmoid" else F.softplus(u)


def log_likelihood(x: torch.Tensor, u: torch.Tensor, link: str, emission: str,
                   constant: bool = True) -> torch.Tensor:
    """Log-probability (nats) of counts ``x`` given predictor ``u``, elementwise.

    Parameters
    ----------
    x : Tensor
        Spike counts (for ``bernoulli``, already clipped to {0, 1}).
    u : Tensor
        Linear predictor, broadcastable with ``x``.
    link : {"sigmoid", "softplus"}
    emission : {"poisson", "bernoulli"}
    constant : bool
        Include the Poisson ``-log x!`` term (independent of ``u``).

    Returns
    -------
    Tensor
        ``log p(x | u)``.
    """
    if emission == "poisson":
        if link == "sigmoid":
            out = F.logsigmoid(u)
            f = out.exp()
        else:
            f = F.softplus(u)
            out = torch.log(f + _EPS)
        out = out.mul_(x).sub_(f) if not out.requires_grad else out * x - f
        return out - torch.lgamma(x + 1.0) if constant else out
    if link == "sigmoid":
        return x * F.logsigmoid(u) + (1.0 - x) * F.logsigmoid(-u)
    f = F.softplus(u)
    return x * torch.log(-torch.expm1(-f) + _EPS) - (1.0 - x) * f


def log_likelihood_grad(x: torch.Tensor, u: torch.Tensor, link: str, emission: str) -> torch.Tensor:
    """Derivative of :func:`log_likelihood` with respect to ``u``, elementwise."""
    if emission == "poisson":
        if link == "sigmoid":
            f = torch.sigmoid(u)
            return (1.0 - f) * (x - f)
        f = F.softplus(u)
        return torch.sigmoid(u) * (x / (f + _EPS) - 1.0)
    if link == "sigmoid":
        return x - torch.sigmoid(u)
    f = F.softplus(u)
    return torch.sigmoid(u) * (x / (torch.expm1(f) + _EPS) - (1.0 - x))
