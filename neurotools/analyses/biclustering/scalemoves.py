"""Scale moves of the latent paths, with every state's dynamics integrated out.

Gibbs updates of the latents given ``(A, b, Q)`` and of ``(A, b, Q)`` given the latents mix slowly
in the overall size of the latent paths: the latents are drawn under the current noise ``Q``, and
``Q`` is fitted to the latents (the centred-parameterisation problem of latent AR models). With
NB counts the size also trades against the dispersion ``r`` (noise the latents do not explain is
over-dispersion), and for the factors against the loadings ``c`` (only ``c x`` enters the rates).

One move per latent dimension of every cluster: multiply the dimension's whole path by
``a = exp(step * N(0, 1))`` (the factor's loadings in the cluster by ``1 / a``, which leaves the
rates unchanged; the baseline has loading 1, so its rates change), and accept by
Metropolis-Hastings on the target with ``(A, b, Q)`` integrated out::

    p(y | rates) p(X_0) prod_states MNIW-marginal(moves of that state) p(c)

The scaling is a group action, so with a proposal symmetric in ``log a`` the ratio carries the
Jacobian ``a^(T - n_j)`` (``a^T`` for a baseline). Afterwards ``(A, b, Q)`` must be redrawn from
their conditional (:meth:`.sampler.Chain.step` does), which completes an exact block update.
"""

from __future__ import annotations

import numpy as np

from neurotools.analyses.biclustering.counts import nb_loglik, poisson_loglik
from neurotools.analyses.biclustering.dynamics import ColumnScales, mniw_log_marginal


def dynamics_log_marginal(X: np.ndarray, states: np.ndarray, v0: ColumnScales = 1.0) -> float:
    """``log p(X | states)`` with every state's (A, b, Q) integrated out and ``X_0 ~ N(0, I)``.

    Parameters
    ----------
    X : ndarray, shape (T, D)
        Stacked latent path.
    states : ndarray of int, shape (T,)
        State of each bin (bin t's state governs the move t-1 -> t).
    v0 : float or (float, float)
        Column covariance scales of the MNIW prior (:func:`.dynamics.sample_dynamics`).
    """
    T, D = X.shape
    total = -0.5 * float(X[0] @ X[0]) - 0.5 * D * np.log(2 * np.pi)
    if T < 2:
        return total
    Z = np.hstack([X[:-1], np.ones((T - 1, 1))])
    Y = X[1:]
    moves = states[1:]
    for k in np.unique(moves):
        m = moves == k
        total += mniw_log_marginal(Y[m], Z[m], v0=v0)
    return total


def latent_scale_moves(chain, step: float = 0.05) -> int:
    """One scale move per latent dimension of every cluster (see the module docstring).

    Parameters
    ----------
    chain : Chain
        Its state is updated in place (latents and loadings; ``A, b, Q`` are left stale and must
        be redrawn by the caller).
    step : float
        Standard deviation of ``log a``.

    Returns
    -------
    int
        Number of accepted moves.
    """
    s, rng, cfg = chain.state, chain.rng, chain.cfg
    T, K, q = s.lat.shape
    X = s.lat.reshape(T, K * q).copy()
    v0 = cfg.dynamics_v0
    current = dynamics_log_marginal(X, s.states, v0)
    nb = cfg.model == "nb"
    accepted = 0
    for j in range(K):
        members = np.flatnonzero(s.z == j)
        for k in range(q):
            log_a = step * rng.standard_normal()
            a = np.exp(log_a)
            col = j * q + k
            X_new = X.copy()
            X_new[:, col] *= a
            proposed = dynamics_log_marginal(X_new, s.states, v0)
            log_ratio = proposed - current
            if k == 0:
                # the baseline's loading is 1: the members' rates change
                ell = np.concatenate([np.ones((len(members), 1)), s.c[members]], 1)
                eta = s.d[members, None] + (s.lat[:, j, :] @ ell.T).T          # (n_j, T)
                eta_new = eta + (a - 1.0) * X[:, col][None, :]
                y = chain.y[members]
                if nb:
                    r = s.r[members, None]
                    log_ratio += float((nb_loglik(y, eta_new, r) - nb_loglik(y, eta, r)).sum())
                else:
                    log_ratio += float((poisson_loglik(y, eta_new)
                                        - poisson_loglik(y, eta)).sum())
                log_ratio += T * log_a
            else:
                # loadings by 1 / a: rates unchanged; prior c ~ N(0, I); Jacobian a^(T - n_j)
                cm = s.c[members, k - 1]
                log_ratio += 0.5 * float(cm @ cm) * (1.0 - a**-2)
                log_ratio += (T - len(members)) * log_a
            if np.log(rng.random()) < log_ratio:
                X = X_new
                current = proposed
                s.lat[:, j, k] = X[:, col]
                if k > 0:
                    s.c[members, k - 1] /= a
                accepted += 1
    return accepted
