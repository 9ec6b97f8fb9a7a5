"""Chain internals: the identifiability projection is likelihood-invariant; the starts."""

import numpy as np
import pytest

from neurotools.analyses.biclustering import SimParams
from neurotools.analyses.biclustering.fit import permuted_accuracy
from neurotools.analyses.biclustering.hmm import ar_loglik
from neurotools.analyses.biclustering.sampler import (
    Chain,
    ModelConfig,
    initial_states,
    log_rates,
)
from neurotools.analyses.biclustering.simulate import simulate_counts


def test_projection_keeps_rates_and_dynamics_likelihood_and_normalises_latents():
    sim = simulate_counts(SimParams(n_neurons=12, n_clusters=2, n_bins=120), 0)
    chain = Chain(sim["counts"].T, ModelConfig(), np.random.default_rng(0))
    for _ in range(3):
        chain.step()
    s = chain.state
    s.lat += np.random.default_rng(1).normal(0, 0.3, s.lat.shape[1:])[None]   # de-centre
    before_rates = log_rates(s)
    before_ll = ar_loglik(s.lat.reshape(chain.T, -1), s.A, s.b, s.Q)
    chain.project()
    assert np.allclose(log_rates(s), before_rates, atol=1e-9)
    after_ll = ar_loglik(s.lat.reshape(chain.T, -1), s.A, s.b, s.Q)
    assert np.allclose(after_ll[1:], before_ll[1:], atol=1e-6)
    assert np.allclose(s.lat.mean(0), 0, atol=1e-12)
    for j in range(s.K):
        G = s.lat[:, j, 1:].T @ s.lat[:, j, 1:]
        assert abs(G[0, 1]) < 1e-8 * np.trace(G) and G[0, 0] >= G[1, 1]
        assert s.c[s.z == j].sum(0).min() >= -1e-12


def test_initial_states_separate_quiet_from_oscillating_bins():
    sim = simulate_counts(SimParams(), 0)
    start = initial_states(sim["counts"].T, sim["neuron_clusters"], 2, np.random.default_rng(0))
    assert permuted_accuracy(sim["state_sequence"], start) > 0.75
    flat = initial_states(np.ones((4, 200)), np.zeros(4, int), 2, np.random.default_rng(0))
    assert np.all(flat == 0)


def test_bin_zero_shares_the_first_moves_state():
    # bin 0 carries no latent move, so it can hold no state of its own (before this rule a lone
    # state at bin 0 was "occupied" in 37% of the draws on the paper's simulation)
    sim = simulate_counts(SimParams(n_neurons=12, n_bins=120), 1)
    y = sim["counts"].T
    for cfg in (ModelConfig(), ModelConfig(window_moves=True, collapsed_states=True)):
        chain = Chain(y, cfg, np.random.default_rng(3))
        assert chain.state.states[0] == chain.state.states[1]
        for _ in range(15):
            chain.step()
            assert chain.state.states[0] == chain.state.states[1]


def test_log_joint_moves_with_each_of_its_terms():
    from neurotools.analyses.biclustering.sampler import Chain, ModelConfig

    rng = np.random.default_rng(5)
    chain = Chain(rng.poisson(2.0, (6, 40)), ModelConfig(max_states=3, latent_dim=1), rng)
    for _ in range(3):
        chain.step()
    s = chain.state
    base, base_ll = chain.log_joint(), chain.loglik()
    # an offset d_0: likelihood and its N(0, 1) prior
    d0 = s.d[0]
    s.d[0] = d0 + 0.3
    assert chain.log_joint() - base == pytest.approx(
        chain.loglik() - base_ll - 0.5 * ((d0 + 0.3) ** 2 - d0**2), rel=1e-10)
    s.d[0] = d0
    # a dispersion r_0: likelihood and its Gamma(1, 1) prior
    r0 = s.r[0]
    s.r[0] = r0 * 2
    assert chain.log_joint() - base == pytest.approx(chain.loglik() - base_ll - r0, rel=1e-10)
    s.r[0] = r0
    # the state path: one transition term changes
    t = 10
    old, new = s.states[t], (s.states[t] + 1) % 3
    delta_paths = -chain.paths_log_prior(s.lat)
    s.states[t] = new
    delta_paths += chain.paths_log_prior(s.lat)
    tr = np.log(s.trans)
    expected = (tr[s.states[t - 1], new] + tr[new, s.states[t + 1]]
                - tr[s.states[t - 1], old] - tr[old, s.states[t + 1]] + delta_paths)
    assert chain.log_joint() - base == pytest.approx(expected, rel=1e-9, abs=1e-9)
