"""The simulated network: reproducible, at the spec's rates, with its ground truth, writable to NWB."""

from __future__ import annotations

import numpy as np

from neurotools.analyses.neuroformer import SimParams, simulate


def test_same_seed_same_recording_and_spec_statistics():
    p = SimParams(n_neurons=60, duration_s=60.0)
    a, b = simulate(p, 3), simulate(p, 3)
    assert all(np.array_equal(x, y) for x, y in zip(a.spike_times, b.spike_times))
    c = simulate(p, 4)
    assert not np.array_equal(a.spike_times[5], c.spike_times[5])
    rate = a.n_spikes / 60 / 60.0
    assert 3.0 < rate < 9.0, rate
    gt = a.ground_truth
    assert gt["edges"].sum() == 3 * round(0.8 * 19)  # 3 hubs -> 80% of their 19 followers
    assert (gt["weights"][gt["edges"] == 1] >= 1.0).all() and (np.diag(gt["weights"]) < 0).all()
    assert all(np.all(np.diff(s) >= 0) for s in a.spike_times)
    assert a.intervals["trials"].n_rows == 30  # 0.5-Hz drive, 60 s
    assert a.behavior[0].data.shape == (6000,)


def test_behaviour_is_the_filtered_activity_of_block_zero():
    rec = simulate(SimParams(n_neurons=30, duration_s=60.0, behavior_noise=0.0), 0)
    from neurotools.data.binning import bin_spikes

    counts = bin_spikes(rec.spike_times, np.arange(6001) * 0.01)
    pop = counts[:, rec.ground_truth["behavior_weights"] > 0].sum(1)
    y = rec.behavior[0].data
    smooth = np.convolve(pop, np.exp(-np.arange(100) * 0.01 / 0.2), mode="full")[:6000]
    assert np.corrcoef(smooth, y)[0, 1] > 0.99


def test_simulation_round_trips_through_nwb(tmp_path):
    from neurotools.data import read_nwb
    from neurotools.data.nwb_writer import write_nwb

    rec = simulate(SimParams(n_neurons=12, n_blocks=2, duration_s=20.0), 1)
    path = tmp_path / "nf.nwb"
    write_nwb(rec, path)
    back = read_nwb(path)
    assert back.n_units == 12 and back.n_spikes == rec.n_spikes
    assert np.array_equal(back.ground_truth["edges"], rec.ground_truth["edges"])
    assert back.intervals["trials"].n_rows == 10 and len(back.behavior) == 1


def _cycle_sums(rec, period_s: float = 2.0):
    """Per-neuron spike counts [cycles, N] and mean latent [cycles] in whole drive cycles."""
    from neurotools.data.binning import bin_spikes

    n_steps = len(rec.ground_truth["latent"])
    counts = bin_spikes(rec.spike_times, np.arange(n_steps + 1) * 0.01)
    k = int(round(period_s / 0.01))
    c = n_steps // k
    return counts[: c * k], counts[: c * k].reshape(c, k, -1).sum(1), rec.ground_truth["latent"][: c * k].reshape(c, k).mean(1)


def test_latent_modulates_rates_or_the_drive_gain_and_is_the_behaviour():
    base = SimParams(n_neurons=60, duration_s=300.0, latent_gain=0.7, behavior_noise=0.0)
    plain = simulate(SimParams(n_neurons=60, duration_s=300.0), 0)
    rate = simulate(base, 0)
    drive = simulate(SimParams(**{**base.to_dict(), "latent_target": "drive"}), 0)
    for rec in (rate, drive):
        gt = rec.ground_truth
        assert np.array_equal(gt["weights"], plain.ground_truth["weights"])  # same network
        assert np.corrcoef(gt["latent"], rec.behavior[0].data)[0, 1] > 0.999
        assert 3.0 < rec.n_spikes / 60 / 300.0 < 9.0
    # 'rate': loading-signed population counts follow the latent.
    _, per_cycle, z = _cycle_sums(rate)
    signed = per_cycle @ np.sign(rate.ground_truth["latent_loadings"])
    assert np.corrcoef(signed, z)[0, 1] > 0.5
    # 'drive': the stimulus-locked response follows the latent, far more than whole-cycle counts
    # (Poisson mean compensated; refractoriness leaves a weak negative trace, r about -0.4).
    steps, per_cycle, z = _cycle_sums(drive)
    gt = drive.ground_truth
    t = np.arange(len(steps)) * 0.01
    pattern = gt["drive_gain"][None, :] * np.sin(2 * np.pi * 0.5 * t[:, None] + gt["drive_phase"][None, :])
    locked = np.corrcoef((steps * pattern).reshape(len(z), 200, -1).sum((1, 2)), z)[0, 1]
    assert locked > 0.9
    assert abs(np.corrcoef(per_cycle.sum(1), z)[0, 1]) < locked - 0.3
