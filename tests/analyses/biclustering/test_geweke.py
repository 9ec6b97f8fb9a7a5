"""Geweke (2004) joint-distribution test of the whole Gibbs sweep on a tiny model.

Marginal-conditional draws (theta ~ prior) are compared with successive-conditional draws
(y ~ p(y | theta), then one sampler sweep theta ~ K(theta, . | y)). If every block samples its
exact conditional, both give the prior marginal of theta. Labels are fixed (K = 2) and the
identifiability projection is off: the projection is a deterministic constraint of the model,
not a Gibbs step. The second case adds the optional state moves (collapsed dynamics, windows
with the latents integrated out, short runs of states moved with the path around them), the
third the scale moves of the latent paths (with a large step, so that they act on this tiny
model), the fourth the Poisson model (its Metropolis-Hastings correction of the latent block)
with the window moves and the scale moves of the state noises.
"""

from dataclasses import replace

import numpy as np
import pytest

from neurotools.analyses.biclustering.dynamics import sample_dynamics
from neurotools.analyses.biclustering.hmm import sample_dirichlet
from neurotools.analyses.biclustering.sampler import Chain, ChainState, ModelConfig, log_rates

N, T, P, L = 3, 8, 1, 2
Z = np.array([0, 0, 1])
CFG = ModelConfig(latent_dim=P, max_states=L, update_labels=False, project=False,
                  hdp_alpha=2.0, hdp_gamma=2.0, hdp_kappa=2.0, state_sweeps=1,
                  offset_v0=4.0)


def _prior_state(rng):
    K, q = 2, 1 + P
    beta = sample_dirichlet(np.full(L, CFG.hdp_gamma / L), rng)
    trans = sample_dirichlet(CFG.hdp_alpha * beta[None] + CFG.hdp_kappa * np.eye(L), rng)
    states = np.empty(T, np.int64)
    states[1] = rng.choice(L, p=beta)       # the first move's state is a draw from beta
    states[0] = states[1]                   # bin 0 carries no move and copies bin 1
    for t in range(2, T):
        states[t] = rng.choice(L, p=trans[states[t - 1]])
    # a one-bin path has no move, so this is an exact draw from the MNIW prior
    A, b, Q = sample_dynamics(np.zeros((1, K * q)), np.zeros(1, np.int64), L, rng,
                              v0=CFG.column_scales)
    X = np.empty((T, K * q))
    X[0] = rng.standard_normal(K * q)
    for t in range(1, T):
        s = states[t]
        X[t] = b[s] + A[s] @ X[t - 1] + np.linalg.cholesky(Q[s]) @ rng.standard_normal(K * q)
    return ChainState(Z.copy(), X.reshape(T, K, q), rng.standard_normal(N),
                      rng.standard_normal((N, P)), rng.gamma(1.0, 1.0, N), states, beta, trans,
                      A, b, Q)


def _draw_y(state, rng, model="nb"):
    mu = np.exp(np.clip(log_rates(state), -30, 12))
    if model == "poisson":
        return rng.poisson(mu)
    return rng.poisson(rng.gamma(state.r[:, None], mu / state.r[:, None]))


def _stats(s):
    X = s.lat.reshape(T, -1)
    return np.array([s.d[0], s.d[2], s.c[0, 0], np.log(s.r[0]), X[0, 0], X[-1, 1],
                     float(s.states[0] == s.states[-1]), float(np.mean(s.states == s.states[0])),
                     s.beta[0], X[0, 0]**2, X[-1, 1]**2, s.c[0, 0]**2, np.mean(X**2)])


def _z(a, b, n_batches=30):
    # batch means for the autocorrelated successive-conditional draws
    bm = np.array([x.mean(0) for x in np.array_split(b, n_batches)])
    se = np.sqrt(a.var(0) / len(a) + bm.var(0, ddof=1) / n_batches)
    return (a.mean(0) - b.mean(0)) / se


@pytest.mark.parametrize("moves", [{}, {"collapsed_states": True, "window_moves": True,
                                         "window_max_len": 4, "path_birth_death": 3,
                                         "birth_death_max_len": 3, "path_birth_death_margin": 1,
                                         "path_birth_death_inflation": 4.0},
                                   {"scale_moves": True, "scale_step": 0.5},
                                   {"model": "poisson", "window_moves": True,
                                    "window_max_len": 4, "noise_moves": 2, "noise_step": 0.5}],
                         ids=["default", "extra_state_moves", "scale_moves", "poisson_noise"])
def test_sampler_passes_the_geweke_joint_test(moves):
    rng = np.random.default_rng(0)
    forward = np.array([_stats(_prior_state(rng)) for _ in range(3000)])
    rng = np.random.default_rng(1)
    chain = Chain(np.zeros((N, T), np.int64), replace(CFG, **moves), rng)
    chain.state = _prior_state(rng)
    draws = []
    # 8000 sweeps: the HDP weight beta and the state statistics are strongly autocorrelated in
    # this tiny model (3000 sweeps gave a batch-means z of -7 on beta for one stream, 12000
    # gave -1.4 on the same stream)
    for _ in range(8000):
        chain.y = _draw_y(chain.state, rng, chain.cfg.model).astype(float)
        chain.step()
        draws.append(_stats(chain.state))
    z = _z(forward, np.array(draws))
    if chain.cfg.model == "poisson":
        z = np.delete(z, 3)             # the Poisson model has no dispersion: r stays put
    assert np.abs(z).max() < 4.0, z
    if moves.get("path_birth_death"):
        # the run moves act (about 87 of 3000 proposals accepted per 1000 sweeps without the
        # other state moves)
        assert chain.path_birth_death_accepted > 300, chain.path_birth_death_accepted
