"""The paper's simulation: state-switching GLM networks sharing a sparse connectome prior."""

from __future__ import annotations

import numpy as np

from neurotools.analyses.hmmglm.basis import exponential_basis
from neurotools.analyses.hmmglm.params import HmmGlmSimParams
from neurotools.data.recording import IntervalTable, Recording, SourceFile


def _sigmoid(u: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-u))


def simulate_counts(params: HmmGlmSimParams, seed: int) -> dict[str, np.ndarray]:
    """Draw the generative model and spike counts.

    Parameters
    ----------
    params : HmmGlmSimParams
    seed : int

    Returns
    -------
    dict
        ``counts`` (S, T, N) int, ``states`` (S, T) int, ``weights`` (K, N, N) (row = receiving
        neuron), ``types`` (K, N, N) in {-1, 0, 1}, ``prior`` (N, N, 3) probabilities over
        (inh, none, exc), ``bias`` (N,), ``transition`` (K, K), ``basis`` (1, L).
    """
    rng = np.random.default_rng(seed)
    k, n, s, t = params.n_states, params.n_neurons, params.n_sequences, params.sequence_bins
    prior = rng.dirichlet(params.dirichlet_scale * np.array([0.1, 0.8, 0.1]), size=(n, n))
    cum = prior.cumsum(-1)
    u = rng.random((k, n, n, 1))
    types = (u > cum[None, :, :, :1]).astype(int) + (u > cum[None, :, :, 1:2]).astype(int)
    types = types[..., 0] - 1
    strength = np.log1p(3.0 * rng.random((k, n, n)))
    weights = types * strength
    bias = 0.1 * (rng.random(n) - 0.5)
    if k > 1:
        trans = np.full((k, k), (1.0 - params.self_transition) / (k - 1))
        np.fill_diagonal(trans, params.self_transition)
    else:
        trans = np.ones((1, 1))
    basis = exponential_basis(params.history_bins, params.history_span, 1)
    phi = basis[0]
    states = np.zeros((s, t), np.int64)
    states[:, 0] = rng.integers(0, k, size=s)
    cum_trans = trans.cumsum(1)
    for i in range(1, t):
        r = rng.random(s)
        states[:, i] = np.minimum((r[:, None] > cum_trans[states[:, i - 1]]).sum(1), k - 1)
    counts = np.zeros((s, t, n), np.int64)
    length = len(phi)
    for i in range(t):
        lo = max(0, i - length)
        past = counts[:, lo:i][:, ::-1]
        h = np.einsum("slm,l->sm", past, phi[: i - lo]) if i > 0 else np.zeros((s, n))
        drive = bias + np.einsum("snm,sm->sn", weights[states[:, i]], h)
        f = _sigmoid(drive) if params.link == "sigmoid" else np.logaddexp(0.0, drive)
        counts[:, i] = rng.poisson(f)
    return dict(counts=counts, states=states, weights=weights, types=types, prior=prior,
                bias=bias, transition=trans, basis=basis)


def simulate(params: HmmGlmSimParams, seed: int = 0) -> Recording:
    """Simulate a recording from the paper's HMM-GLM generator, ground truth included.

    Each sequence becomes one row of a ``trials`` table (back to back, starting at 0 s); spikes
    are placed uniformly at random inside their bins so that binning at ``params.bin_size``
    from 0 s gives back the simulated counts exactly.

    Parameters
    ----------
    params : HmmGlmSimParams
    seed : int

    Returns
    -------
    Recording
        ``spike_times`` per neuron (s), a ``trials`` table (``split`` column: train/test as in
        the paper's 30/20 use of 50 sequences is left to the analysis), and ``ground_truth``
        with ``states`` and ``state_times`` (bin centres, s) plus every generator array.
    """
    sim = simulate_counts(params, seed)
    rng = np.random.default_rng(seed + 1_000_003)
    counts = sim["counts"]
    s, t, n = counts.shape
    dt = params.bin_size
    flat = counts.reshape(s * t, n)
    bin_start = np.arange(s * t) * dt
    trains = []
    for j in range(n):
        rep = np.repeat(np.arange(s * t), flat[:, j])
        times = bin_start[rep] + dt * (0.05 + 0.9 * rng.random(len(rep)))
        trains.append(np.sort(times))
    starts = np.arange(s) * t * dt
    trials = IntervalTable("trials", starts, starts + t * dt,
                           {"sequence": np.arange(s)})
    gt = {
        "states": sim["states"].reshape(-1),
        "state_times": bin_start + dt / 2,
        "weights": sim["weights"],
        "types": sim["types"],
        "prior": sim["prior"],
        "bias": sim["bias"],
        "transition": sim["transition"],
        "basis": sim["basis"],
    }
    return Recording(
        source=SourceFile(name=f"hmmglm_sim_seed{seed}.nwb", sha256="", path=""),
        session_description=(
            f"HMM-GLM simulation: K={params.n_states}, N={n}, {s} sequences of {t} bins of "
            f"{dt:g} s, seed {seed}"
        ),
        spike_times=trains,
        unit_table={"id": np.arange(n)},
        intervals={"trials": trials},
        ground_truth=gt,
    )
