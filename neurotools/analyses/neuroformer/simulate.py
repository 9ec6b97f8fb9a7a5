"""The spec's simulated network: a discrete-time Poisson-GLM (Hawkes) network with hubs.

``n_blocks`` blocks; each block's first neuron is a hub projecting to ``hub_fraction`` of its block
with weights U(low, high) (log-rate gain per presynaptic spike, filtered by an exponential kernel
after ``delay_bins``); sparse background weights N(0, sd) at probability ``background_p``;
self-inhibition; a sinusoidal stimulus drive (the hubs, or every neuron with its own gain and phase)
repeated every period, so each period is a trial; and a behaviour variable that is a known linear
filter of the first block's population activity. With ``latent_gain > 0`` a slow latent state z(t)
(an Ornstein-Uhlenbeck process with unit variance and time constant ``latent_tau_s``) drives the
population and the behaviour is that latent (z-scored, plus noise) instead, like running speed in
visual cortex: with ``latent_target='rate'`` it adds ``loading_i * z(t)`` to every log rate (signed
loadings, SD ``latent_gain``); with ``latent_target='drive'`` it scales the stimulus response,
``drive_i(t) * exp(latent_gain * z(t) - latent_gain**2 / 2)`` (locomotion raises visual response
gain; Niell & Stryker 2010), with the Poisson cycle-mean rate compensated, so the latent shows in
how strongly the population follows the stimulus, not in its summed counts. Either way it is a
state that next-token pretraining must infer to predict the spikes.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from neurotools.analyses.neuroformer.params import SimParams
from neurotools.data.recording import BehaviorSeries, IntervalTable, Recording, SourceFile


def network_weights(params: SimParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw the coupling matrix of the simulated network.

    Parameters
    ----------
    params : SimParams
    rng : numpy.random.Generator

    Returns
    -------
    weights : ndarray, shape (N, N)
        Coupling (log-rate gain per presynaptic spike); row = receiving (target) neuron.
    edges : ndarray of int8, shape (N, N)
        1 for the hub -> follower edges (the ground-truth directed connections), else 0.
    blocks : ndarray of int, shape (N,)
        Block of each neuron; the first neuron of each block is its hub.
    """
    n = params.n_neurons
    blocks = np.repeat(np.arange(params.n_blocks), int(np.ceil(n / params.n_blocks)))[:n]
    weights = rng.normal(0.0, params.background_sd, (n, n)) * (rng.random((n, n)) < params.background_p)
    edges = np.zeros((n, n), dtype=np.int8)
    for b in range(params.n_blocks):
        members = np.flatnonzero(blocks == b)
        hub, followers = members[0], members[1:]
        k = int(round(params.hub_fraction * len(followers)))
        chosen = rng.choice(followers, size=k, replace=False) if k else np.array([], int)
        weights[chosen, hub] = rng.uniform(params.hub_weight_low, params.hub_weight_high, len(chosen))
        edges[chosen, hub] = 1
        weights[hub, members] = np.minimum(weights[hub, members], 0.0)  # followers do not excite hubs
    np.fill_diagonal(weights, params.self_inhibition)
    return weights, edges, blocks


def simulate(params: SimParams, seed: int = 0) -> Recording:
    """Simulate the hub network with repeated stimulus trials and a behaviour variable.

    Parameters
    ----------
    params : SimParams
        Network size, duration (s), time step (s), rates (Hz), weights, drive and behaviour.
    seed : int
        Random seed; the same seed gives the same recording.

    Returns
    -------
    Recording
        ``spike_times`` (s, sorted, one array per neuron), a ``trials`` interval table (one row per
        drive period), a behaviour series ``speed`` (a.u., one sample per time step) and
        ``ground_truth`` with ``weights`` [N, N] (row = target), ``edges`` [N, N], ``blocks`` [N],
        ``drive_gain`` [N], ``drive_phase`` [N] (rad), ``bias`` [N] (log counts per step),
        ``behavior_weights`` [N] and, with a latent, ``latent`` [T] and ``latent_loadings`` [N].
    """
    rng = np.random.default_rng(seed)
    n, dt = params.n_neurons, params.bin_size
    n_steps = int(round(params.duration_s / dt))
    weights, edges, blocks = network_weights(params, rng)
    hubs = np.array([np.flatnonzero(blocks == b)[0] for b in range(params.n_blocks)])
    gain = np.zeros(n)
    phase = np.zeros(n)
    if params.drive_all:
        gain = rng.uniform(0.5, 1.0, n)
        phase = rng.uniform(0.0, 2 * np.pi, n)
    gain[hubs], phase[hubs] = 1.0, 0.0
    amp = params.drive_amplitude * gain
    from scipy.special import i0

    bias = np.log(params.rate_hz * dt) - np.log(i0(amp))
    decay = float(np.exp(-dt / params.tau_s))
    delay = params.delay_bins
    t_axis = np.arange(n_steps) * dt
    drive = amp[None, :] * np.sin(2 * np.pi * params.drive_hz * t_axis[:, None] + phase[None, :])
    latent, loadings = None, np.zeros(n)
    if params.latent_gain > 0:
        # Own generator, so a latent-free simulation is unchanged by these draws.
        lrng = np.random.default_rng([seed, 7])
        loadings = params.latent_gain * lrng.standard_normal(n)
        rho = float(np.exp(-dt / params.latent_tau_s))
        innov = lrng.standard_normal(n_steps) * np.sqrt(1 - rho**2)
        innov[0] /= np.sqrt(1 - rho**2)  # start in the stationary distribution (unit variance)
        latent = lfilter([1.0], [1, -rho], innov)
        if params.latent_target == "rate":
            bias = bias - loadings**2 / 2  # E[exp(l z)] = exp(l^2 / 2): mean rates unchanged
            drive = drive + latent[:, None] * loadings[None, :]
        else:  # response gain of the stimulus drive; the Poisson cycle-mean rate is compensated
            g = np.exp(params.latent_gain * latent - params.latent_gain**2 / 2)[:, None]
            drive = drive * g - np.log(i0(amp[None, :] * g)) + np.log(i0(amp))[None, :]
            loadings = np.zeros(n)  # no direct effect on the rates

    counts = np.zeros((n_steps, n), dtype=np.int64)
    trace = np.zeros(n)
    for t in range(n_steps):
        if t >= delay:
            trace = decay * trace + counts[t - delay]
        lam = np.exp(np.minimum(bias + drive[t] + weights @ trace, np.log(3.0)))
        counts[t] = rng.poisson(lam)

    spike_times = []
    for j in range(n):
        idx = np.repeat(np.arange(n_steps), counts[:, j])
        spike_times.append(np.sort((idx + rng.uniform(0.0, 1.0, len(idx))) * dt))

    # Behaviour: an exponential filter of block 0's summed activity, z-scored, plus noise.
    bw = (blocks == 0).astype(float)
    pop = counts @ bw
    a = float(np.exp(-dt / params.behavior_tau_s))
    y = lfilter([1 - a], [1, -a], pop)
    if latent is not None:  # the behaviour reads out the latent state instead
        y, bw = latent, np.zeros(n)
    y = (y - y.mean()) / (y.std() + 1e-12)
    y = y + params.behavior_noise * rng.standard_normal(n_steps)

    period = 1.0 / params.drive_hz
    n_trials = int(np.floor(params.duration_s / period + 1e-9))
    starts = np.arange(n_trials) * period
    trials = IntervalTable("trials", starts, starts + period, {})
    return Recording(
        source=SourceFile(f"neuroformer_sim_seed{seed}.nwb", "", ""),
        nwb_version="2.7.0",
        session_description=(
            f"neuroformer simulation: {n} neurons, {params.n_blocks} hub blocks, "
            f"{params.duration_s:g} s, seed {seed}"
        ),
        spike_times=spike_times,
        unit_table={"id": np.arange(n)},
        behavior=[BehaviorSeries("behavior/speed", y, t_axis + dt / 2, "timeseries", "a.u.")],
        intervals={"trials": trials},
        ground_truth={
            "weights": weights,
            "edges": edges,
            "blocks": blocks.astype(np.int64),
            "drive_gain": amp,
            "drive_phase": phase,
            "bias": bias,
            "behavior_weights": bw,
            **({} if latent is None else {"latent": latent, "latent_loadings": loadings}),
        },
    )
