"""A generic simulated session: Poisson units with trials, tuning and a behaviour trace.

This is the foundation's own simulator (``neurotools simulate spikes``); each analysis adds its own
with the ground truth it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurotools.data.recording import BehaviorSeries, IntervalTable, Recording, SourceFile
from neurotools.params import ParamSet, param


@dataclass
class SpikesSimParams(ParamSet):
    """Parameters of :func:`simulate_spikes`."""

    analysis = "spikes simulation"

    n_units: int = param(20, help="Number of units.", low=1, high=2000)
    duration_s: float = param(120.0, help="Session length.", low=1.0, high=36000.0, unit="s")
    n_trials: int = param(40, help="Number of trials (two conditions, alternating at random).", low=0, high=10000)
    base_rate_hz: float = param(5.0, help="Baseline firing rate.", low=0.1, high=200.0, unit="Hz")


def simulate_spikes(params: SpikesSimParams, seed: int = 0) -> Recording:
    """Poisson units whose rates rise after each trial's stimulus, more for condition "A".

    Ground truth stored: ``rate_hz`` [T, N] on a 50-ms grid, ``rate_times`` [T] (s),
    ``preferred_condition`` [N] (0 = A, 1 = B).

    Parameters
    ----------
    params : SpikesSimParams
    seed : int
        Random seed; the same seed gives the same file content.
    """
    rng = np.random.default_rng(seed)
    dt = 0.01
    t = np.arange(0, params.duration_s, dt)
    n = params.n_units
    base = params.base_rate_hz * rng.uniform(0.5, 1.5, n)
    pref = rng.integers(0, 2, n)
    rate = np.tile(base, (len(t), 1))
    n_trials = params.n_trials
    trial_len = params.duration_s / max(n_trials, 1)
    starts = np.arange(n_trials) * trial_len + 0.1 * trial_len
    stops = starts + 0.8 * trial_len
    cond = rng.integers(0, 2, n_trials)
    stim = starts + 0.25 * trial_len
    speed = np.zeros_like(t)
    for k in range(n_trials):
        win = (t >= stim[k]) & (t < stim[k] + 0.3 * trial_len)
        gain = np.where(pref == cond[k], 3.0, 1.3)
        rate[win] *= gain
        speed[win] += 10.0 + 5.0 * cond[k]
    speed = np.convolve(speed, np.ones(50) / 50, mode="same") + rng.normal(0, 0.5, len(t))
    spikes = []
    for j in range(n):
        counts = rng.poisson(rate[:, j] * dt)
        times = np.repeat(t, counts) + rng.uniform(0, dt, counts.sum())
        spikes.append(np.sort(times))
    labels = np.array(["A", "B"])[cond]
    return Recording(
        source=SourceFile("simulated_spikes.nwb", ""),
        session_description=f"neurotools simulate spikes (seed {seed})",
        spike_times=spikes,
        unit_table={"id": np.arange(n), "location": np.array(["CA1" if j % 2 else "V1" for j in range(n)])},
        behavior=[BehaviorSeries("running_speed", speed[::5], t[::5], "timeseries", "cm/s")],
        intervals={"trials": IntervalTable("trials", starts, stops, {"condition": labels, "stim_time": stim})},
        ground_truth={"rate_hz": rate[::5].astype(np.float32), "rate_times": t[::5],
                      "preferred_condition": pref},
    )
