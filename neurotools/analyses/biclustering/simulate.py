"""The paper's simulation: neuron clusters with switching latent dynamics and NB spike counts.

Wei (2024), section 5: N = 30 neurons in 3 clusters of 10, p = 2 factors (3-D latents per cluster
with the baseline), T = 500 bins. Two population states with ``b = 0``, ``Q = 0.01 I``: state 0
``A = 0.01 I`` (near white noise), state 1 ``A = blockdiag_j 1.01 R_j`` with ``R_j`` a rotation by
pi/20 about a random axis. States alternate with Poisson durations (mean 50 bins);
``y ~ NB(r = 10, mu)``, ``d_i ~ N(0, 0.5^2)``, ``c_i ~ N(0, 0.5^2 I)``.
"""

from __future__ import annotations

import numpy as np

from neurotools.analyses.biclustering.params import SimParams
from neurotools.data.recording import IntervalTable, Recording, SourceFile


def random_rotation(dim: int, angle: float, rng: np.random.Generator) -> np.ndarray:
    """Rotation by ``angle`` (rad) in a random 2-D plane of R^dim (about a random axis in 3-D)."""
    if dim == 1:
        return np.ones((1, 1))
    u, v = np.linalg.qr(rng.standard_normal((dim, 2)))[0].T
    return (np.eye(dim) + np.sin(angle) * (np.outer(v, u) - np.outer(u, v))
            + (np.cos(angle) - 1) * (np.outer(u, u) + np.outer(v, v)))


def simulate_counts(params: SimParams, seed: int) -> dict[str, np.ndarray]:
    """Draw counts and every latent quantity of the simulation.

    Returns
    -------
    dict
        ``counts`` (T, N) int, ``neuron_clusters`` (N,), ``state_sequence`` (T,),
        ``latents`` (T, J, 1 + p), ``d`` (N,), ``c`` (N, p), ``log_rate`` (T, N),
        ``dynamics`` (2, J (1 + p), J (1 + p)): each state's A (b = 0, Q = 0.01 I).
    """
    rng = np.random.default_rng(seed)
    N, J, p, T = params.n_neurons, params.n_clusters, params.latent_dim, params.n_bins
    q = 1 + p
    z = np.repeat(np.arange(J), int(np.ceil(N / J)))[:N]
    d = rng.normal(0, 0.5, N)
    c = rng.normal(0, 0.5, (N, p))
    A1 = np.zeros((J * q, J * q))
    for j in range(J):
        A1[j * q:(j + 1) * q, j * q:(j + 1) * q] = 1.01 * random_rotation(q, np.pi / 20, rng)
    A = [0.01 * np.eye(J * q), A1]
    states = np.empty(T, dtype=np.int64)
    t, s = 0, 0
    while t < T:
        dur = max(1, int(rng.poisson(params.mean_duration)))
        states[t:t + dur] = s
        t += dur
        s = 1 - s
    X = np.empty((T, J * q))
    X[0] = rng.standard_normal(J * q) * 0.1
    noise = rng.standard_normal((T, J * q)) * 0.1                 # Q = 0.01 I
    for t in range(1, T):
        X[t] = A[states[t]] @ X[t - 1] + noise[t]
    lat = X.reshape(T, J, q)
    ell = np.concatenate([np.ones((N, 1)), c], 1)
    log_rate = d[None, :] + np.einsum("tnq,nq->tn", lat[:, z, :], ell)
    mu = np.exp(log_rate)
    if params.model == "nb":
        r = params.dispersion
        counts = rng.poisson(rng.gamma(r, mu / r))
    else:
        counts = rng.poisson(mu)
    return dict(counts=counts.astype(np.int64), neuron_clusters=z, state_sequence=states,
                latents=lat, d=d, c=c, log_rate=log_rate, dynamics=np.stack(A))


def counts_to_spike_times(counts: np.ndarray, bin_size: float,
                          rng: np.random.Generator) -> list[np.ndarray]:
    """Spread each bin's count uniformly inside the bin; sorted spike times (s) per neuron."""
    T, N = counts.shape
    out = []
    for i in range(N):
        n = counts[:, i]
        starts = np.repeat(np.arange(T) * bin_size, n)
        jitter = rng.uniform(0.05, 0.95, n.sum()) * bin_size
        out.append(np.sort(starts + jitter))
    return out


def simulate(params: SimParams, seed: int = 0) -> Recording:
    """Simulate a recording with the ground truth of the bi-clustering model.

    Parameters
    ----------
    params : SimParams
    seed : int

    Returns
    -------
    Recording
        Spike trains (Units), an interval table ``states`` (one row per state segment, column
        ``state``) spanning exactly [0, T * bin_size] s, and ``ground_truth`` with
        ``neuron_clusters`` [N], ``state_sequence`` [T], ``latents`` [T, J, 1 + p], ``d`` [N],
        ``c`` [N, p], ``counts`` [T, N].
    """
    sim = simulate_counts(params, seed)
    rng = np.random.default_rng([seed, 1])
    bs = params.bin_size
    spikes = counts_to_spike_times(sim["counts"], bs, rng)
    states = sim["state_sequence"]
    change = np.flatnonzero(np.diff(states)) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [len(states)]])
    table = IntervalTable("states", starts * bs, stops * bs,
                          {"state": states[starts].astype(np.int64)})
    N = params.n_neurons
    gt = {k: np.asarray(sim[k]) for k in ("neuron_clusters", "state_sequence", "latents", "d", "c",
                                          "counts")}
    return Recording(
        source=SourceFile(f"bicluster_sim_seed{seed}.nwb", "", ""),
        session_description="neurotools bicluster simulation (Wei 2024, section 5)",
        spike_times=spikes,
        unit_table={"id": np.arange(N), "true_cluster": sim["neuron_clusters"].astype(np.int64)},
        intervals={"states": table},
        ground_truth=gt,
    )
