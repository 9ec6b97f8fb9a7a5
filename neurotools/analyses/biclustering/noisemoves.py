"""Scale moves of the state noises ``Q`` with the latent path integrated out.

Given the latents, the noise ``Q`` of a state is fitted to the path's innovations; given ``Q``,
the latents are drawn with innovations of that size. This Gibbs pair changes how rough the path
is, and with it the log-likelihood, only slowly (on the paper's simulation the trace of the main
states' ``Q`` and the log-likelihood have autocorrelation times of 15-70 sweeps and move together).

This move updates ``Q`` with the path integrated out, given one Polya-gamma draw (the Gaussian
pseudo-observations ``J, h`` of the latent draw) and every other unknown: ``Q_k -> a Q_k`` with
``log a ~ N(0, step^2)``, for one occupied state at a time and then for all occupied states at
once, accepted by Metropolis-Hastings on::

    p(J, h | states, A, b, Q)  prod_k MNIW(A_k, b_k, Q_k)

(Kalman evidence, :func:`.kalman.log_evidence`; MNIW as in :func:`.dynamics.sample_dynamics`).
With ``W = [A b]`` held fixed the prior of ``Q_k`` is, up to a constant::

    -(nu0 + 2 D + 2) / 2 log|Q_k| - tr(Q_k^-1 (S0 + (W_k - M0) V0^-1 (W_k - M0)')) / 2

and the scaling of a symmetric ``D x D`` matrix has Jacobian ``a^(D (D + 1) / 2)``. The latent
path is then drawn from its conditional under the new ``Q`` (the caller does), so
``(Q, latents)`` is one exact block given the Polya-gamma variables.
"""

from __future__ import annotations

import numpy as np

from neurotools.analyses.biclustering.dynamics import column_variances
from neurotools.analyses.biclustering.kalman import log_evidence
from neurotools.analyses.biclustering.pathbirthdeath import MniwPrior


def _prior_trace(A: np.ndarray, b: np.ndarray, Q: np.ndarray, prior: MniwPrior) -> float:
    """``tr(Q^-1 S)`` of one state, ``S = S0 + (W - M0) V0^-1 (W - M0)'``, ``W = [A b]``."""
    D = Q.shape[0]
    dev = np.hstack([A - np.eye(D), b[:, None]])
    S = prior.s0 * np.eye(D) + (dev / column_variances(dev.shape[1], prior.v0)) @ dev.T
    return float(np.trace(np.linalg.solve(Q, S)))


def noise_scale_moves(J_obs: np.ndarray, h_obs: np.ndarray, states: np.ndarray, A: np.ndarray,
                      b: np.ndarray, Q: np.ndarray, rng: np.random.Generator,
                      prior: MniwPrior = MniwPrior(), step: float = 0.15, rounds: int = 2,
                      ) -> tuple[np.ndarray, int, int]:
    """Scale moves of the occupied states' noise covariances (see the module docstring).

    Parameters
    ----------
    J_obs, h_obs : ndarray, shapes (T, D, D) and (T, D)
        Gaussian pseudo-observations of the stacked latent path (one Polya-gamma draw).
    states : ndarray of int, shape (T,)
        State of each bin (bin t's state governs the move t-1 -> t; bin 0 is unused).
    A, b, Q : ndarray, shapes (L, D, D), (L, D), (L, D, D)
        Dynamics of every state; ``A`` and ``b`` stay fixed.
    rng : numpy.random.Generator
    prior : MniwPrior
        The MNIW prior of every state's ``(A, b, Q)``.
    step : float
        Standard deviation of ``log a`` (dimensionless).
    rounds : int
        Passes; each proposes one move per occupied state and one for all of them at once.

    Returns
    -------
    Q : ndarray, shape (L, D, D)
        New noise covariances (a copy; unoccupied states unchanged).
    accepted, proposed : int
        Counts of the Metropolis-Hastings moves.
    """
    Q = np.array(Q, float, copy=True)
    D = Q.shape[1]
    occupied = np.unique(np.asarray(states)[1:])
    if len(occupied) == 0 or rounds < 1:
        return Q, 0, 0
    nu0 = D + prior.nu_extra
    power = 0.5 * (nu0 + 2 * D + 2)
    jac = 0.5 * D * (D + 1)
    traces = {int(k): _prior_trace(A[k], b[k], Q[k], prior) for k in occupied}
    current = log_evidence(J_obs, h_obs, states, A, b, Q)
    accepted = proposed = 0
    groups = [[int(k)] for k in occupied] + ([[int(k) for k in occupied]]
                                             if len(occupied) > 1 else [])
    for _ in range(rounds):
        for group in groups:
            log_a = step * rng.standard_normal()
            a = np.exp(log_a)
            Q_new = Q.copy()
            Q_new[group] *= a
            # prior: log|aQ| = log|Q| + D log a, tr((aQ)^-1 S) = tr(Q^-1 S) / a; Jacobian a^jac
            log_ratio = len(group) * (jac - power * D) * log_a
            log_ratio -= 0.5 * (1.0 / a - 1.0) * sum(traces[k] for k in group)
            evidence = log_evidence(J_obs, h_obs, states, A, b, Q_new)
            log_ratio += evidence - current
            proposed += 1
            if np.log(rng.random()) < log_ratio:
                Q = Q_new
                current = evidence
                for k in group:
                    traces[k] /= a
                accepted += 1
    return Q, accepted, proposed
