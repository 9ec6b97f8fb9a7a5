"""Firing-rate statistics of every unit across many bin widths (count mean, variance, Fano factor)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from neurotools.data.recording import Recording
from neurotools.errors import UserError


def rate_statistics(
    recording: Recording,
    bin_widths: Sequence[float],
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, np.ndarray]:
    """Mean rate and Fano factor of each unit's spike counts at each bin width.

    Parameters
    ----------
    recording : Recording
        Must hold spike trains.
    bin_widths : sequence of float
        Bin widths in seconds (each > 0).
    progress : callable, optional
        ``progress(fraction, message)``; may raise ``Cancelled`` between bin widths.

    Returns
    -------
    dict of str to ndarray
        ``bin_widths`` [B] (s), ``mean_rate_hz`` [B, N], ``fano_factor`` [B, N] (count variance /
        count mean; NaN where a unit has no spikes), ``unit_ids`` [N].
    """
    if recording.n_units == 0:
        raise UserError(f"{recording.source.name} has no spike-sorted units; rate statistics need Units.")
    widths = np.asarray(sorted(float(w) for w in bin_widths))
    if len(widths) == 0 or np.any(widths <= 0):
        raise UserError("Bin widths must be positive numbers of seconds.")
    t0, t1 = recording.time_range()
    n = recording.n_units
    mean_rate = np.full((len(widths), n), np.nan)
    fano = np.full((len(widths), n), np.nan)
    for b, w in enumerate(widths):
        n_bins = int((t1 - t0) // w)
        if n_bins < 2:
            continue
        for j, st in enumerate(recording.spike_times):
            idx = ((st - t0) // w).astype(np.int64)
            idx = idx[(idx >= 0) & (idx < n_bins)]
            counts = np.bincount(idx, minlength=n_bins)
            m = counts.mean()
            mean_rate[b, j] = m / w
            if m > 0:
                fano[b, j] = counts.var() / m
        if progress is not None:
            progress((b + 1) / len(widths), f"bin width {w * 1000:.3g} ms ({b + 1}/{len(widths)})")
    ids = recording.unit_table.get("id", np.arange(n))
    return {"bin_widths": widths, "mean_rate_hz": mean_rate, "fano_factor": fano,
            "unit_ids": np.asarray(ids)}
