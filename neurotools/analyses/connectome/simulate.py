"""Planted-motif simulation: several animals' calcium traces with known co-active groups.

Each motif is a disjoint group of neurons that share events (a common Poisson train, per-neuron
amplitudes) inside the motif's own time window and only in its own subset of animals. Every neuron
also has private events; traces are events convolved with a double-exponential calcium kernel, plus
an optional slow fluctuation shared by all neurons of an animal and Gaussian noise.

:func:`simulate` returns ONE recording in which the animals follow each other as trials (so it
writes to one NWB file; analyse it with ``third_mode=trials``); :func:`simulate_animals` returns
one recording per animal (``third_mode=animals``).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from neurotools.analyses.connectome.params import SimParams
from neurotools.data.recording import IntervalTable, Recording, SourceFile, TraceSeries


def motif_animals(n_motifs: int, n_animals: int) -> np.ndarray:
    """Which animals express which motif: (n_motifs, n_animals) of 0/1.

    Motif m is present in the ``ceil(2 W / 3)`` animals starting at ``-2 m mod W`` (cyclically), so
    with 6 animals and 3 motifs each motif lives in 4 animals and no two motifs share the same set.
    """
    keep = max(1, int(np.ceil(2 * n_animals / 3)))
    out = np.zeros((n_motifs, n_animals))
    for m in range(n_motifs):
        for w in range(n_animals):
            if (w + 2 * m) % n_animals < keep:
                out[m, w] = 1.0
    return out


def motif_windows(n_motifs: int, duration_s: float) -> np.ndarray:
    """Active window [start, stop) in seconds of each motif: (n_motifs, 2), disjoint."""
    edges = np.linspace(0.0, duration_s, n_motifs + 1)
    width = np.diff(edges)
    return np.stack([edges[:-1] + 0.1 * width, edges[1:] - 0.1 * width], axis=1)


def calcium_kernel(rate_hz: float, rise_s: float, decay_s: float) -> np.ndarray:
    """Double-exponential kernel sampled at ``rate_hz``, peak 1, 6 decay constants long."""
    t = np.arange(0.0, 6 * decay_s + 1 / rate_hz, 1 / rate_hz)
    k = np.exp(-t / decay_s) - np.exp(-t / rise_s)
    return k / k.max()


def _animal(p: SimParams, rng: np.random.Generator, present: np.ndarray) -> np.ndarray:
    T, N, fs = p.n_samples, p.n_neurons, p.rate_hz
    dur = T / fs
    events = np.zeros((T, N))
    # private events
    lam = p.private_rate_hz / fs
    events += (rng.random((T, N)) < lam) * rng.uniform(0.7, 1.3, (T, N))
    windows = motif_windows(p.n_motifs, dur)
    for m in range(p.n_motifs):
        if not present[m]:
            continue
        members = np.arange(m * p.motif_size, (m + 1) * p.motif_size)
        i0, i1 = (windows[m] * fs).astype(int)
        shared = rng.random(i1 - i0) < p.motif_rate_hz / fs
        amp = rng.uniform(0.7, 1.3, (int(shared.sum()), len(members)))
        events[i0:i1][np.ix_(np.flatnonzero(shared), members)] += amp
    k = calcium_kernel(fs, p.rise_s, p.decay_s)
    traces = np.stack([np.convolve(events[:, j], k)[:T] for j in range(N)], axis=1)
    if p.slow_drift > 0:
        # a smooth fluctuation shared by every neuron (white noise smoothed over drift_s)
        pad = int(4 * p.drift_s * fs) + 1
        drift = gaussian_filter1d(rng.standard_normal(T + 2 * pad), p.drift_s * fs)[pad:-pad]
        drift = (drift - drift.mean()) / (drift.std() + 1e-12) * p.slow_drift
        traces += drift[:, None] * rng.uniform(0.5, 1.5, N)[None, :]
    traces += p.noise * rng.standard_normal((T, N))
    return traces


def _truth(p: SimParams) -> dict[str, np.ndarray]:
    membership = np.zeros((p.n_motifs, p.n_neurons))
    for m in range(p.n_motifs):
        membership[m, m * p.motif_size : (m + 1) * p.motif_size] = 1.0
    windows = motif_windows(p.n_motifs, p.n_samples / p.rate_hz)
    t = np.arange(p.n_samples) / p.rate_hz
    time_ind = ((t[None, :] >= windows[:, :1]) & (t[None, :] < windows[:, 1:])).astype(float)
    return {
        "motif_membership": membership,
        "motif_windows_s": windows,
        "motif_time_indicator": time_ind,
        "motif_animals": motif_animals(p.n_motifs, p.n_animals),
    }


def _traces_per_animal(p: SimParams, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    present = motif_animals(p.n_motifs, p.n_animals)
    return [_animal(p, rng, present[:, w]) for w in range(p.n_animals)]


def _labels(n: int) -> list[str]:
    return [f"n{j:03d}" for j in range(n)]


def simulate(params: SimParams, seed: int = 0) -> Recording:
    """One recording with the animals as consecutive trials.

    Parameters
    ----------
    params : SimParams
    seed : int
        Same seed -> same traces.

    Returns
    -------
    Recording
        One dF/F :class:`TraceSeries` (n_animals * n_samples, n_neurons) at ``rate_hz``, a
        ``trials`` table with one row per animal, and ``ground_truth`` with ``motif_membership``
        (M, N), ``motif_windows_s`` (M, 2; s from trial start), ``motif_time_indicator`` (M, n_samples)
        and ``motif_animals`` (M, W).
    """
    p = params
    per = _traces_per_animal(p, seed)
    data = np.concatenate(per, axis=0)
    ts = np.arange(data.shape[0]) / p.rate_hz
    dur = p.n_samples / p.rate_hz
    labels = _labels(p.n_neurons)
    series = TraceSeries(
        path="processing/ophys/DfOverF/RoiResponseSeries",
        data=data,
        timestamps=ts,
        rate_hz=p.rate_hz,
        kind="dff",
        channel_labels=labels,
        channel_table={"label": np.array(labels)},
        unit="dF/F",
    )
    starts = np.arange(p.n_animals) * dur
    trials = IntervalTable(
        name="trials", start=starts, stop=starts + dur,
        columns={"animal": np.arange(p.n_animals)},
    )
    return Recording(
        source=SourceFile(name=f"connectome_sim_seed{seed}.nwb", sha256=""),
        nwb_version="2.7.0",
        session_description=(
            f"neurotools connectome simulation: {p.n_motifs} planted motifs, {p.n_animals} animals "
            f"as trials, seed {seed}"
        ),
        traces=[series],
        intervals={"trials": trials},
        ground_truth=_truth(p),
    )


def simulate_animals(params: SimParams, seed: int = 0) -> list[Recording]:
    """The same simulation as :func:`simulate`, one recording per animal (time from 0 s in each).

    Returns
    -------
    list of Recording
        ``n_animals`` recordings with identical ``ground_truth`` and ROI labels ``n000``...
    """
    p = params
    labels = _labels(p.n_neurons)
    truth = _truth(p)
    out = []
    for w, data in enumerate(_traces_per_animal(p, seed)):
        series = TraceSeries(
            path="processing/ophys/DfOverF/RoiResponseSeries",
            data=data,
            timestamps=np.arange(data.shape[0]) / p.rate_hz,
            rate_hz=p.rate_hz,
            kind="dff",
            channel_labels=list(labels),
            channel_table={"label": np.array(labels)},
            unit="dF/F",
        )
        out.append(
            Recording(
                source=SourceFile(name=f"connectome_sim_seed{seed}_animal{w}.nwb", sha256=""),
                nwb_version="2.7.0",
                session_description=f"neurotools connectome simulation, animal {w}, seed {seed}",
                traces=[series],
                ground_truth={k: v.copy() for k, v in truth.items()},
            )
        )
    return out
