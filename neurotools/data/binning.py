"""Binning spike trains to counts, smoothing to rates, resampling traces: in one place.

Every analysis gets its neurons x time matrix from :func:`neural_matrix`, so the bin edges,
the ``bin_times`` (bin centres, seconds on the file's clock) and the neuron selection agree
everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d

from neurotools.data.recording import Recording
from neurotools.errors import UserError

#: Most bins one matrix may have (10**8 bins of 1 ms is about 28 hours).
MAX_BINS = 10**8


def bin_edges(t_start: float, t_stop: float, bin_size: float) -> np.ndarray:
    """Edges of contiguous bins of width ``bin_size`` covering [t_start, t_stop).

    Parameters
    ----------
    t_start, t_stop : float
        Range in seconds; the last partial bin is dropped.
    bin_size : float
        Bin width in seconds (> 0).

    Returns
    -------
    ndarray, shape (T + 1,)
        Bin edges in seconds.
    """
    if not bin_size > 0:
        raise UserError(f"The bin size must be positive. Got {bin_size} s instead.")
    if not (np.isfinite(t_start) and np.isfinite(t_stop) and np.isfinite(bin_size)):
        raise UserError(f"The time range {t_start:g}-{t_stop:g} s is not finite; give finite times in seconds.")
    n_float = np.floor((t_stop - t_start) / bin_size + 1e-9)
    if n_float > MAX_BINS:
        raise UserError(
            f"The time range {t_start:g}-{t_stop:g} s holds {n_float:.3g} bins of {bin_size:g} s, more than "
            f"{MAX_BINS:.0e}; choose a shorter range or a wider bin."
        )
    n = int(n_float)
    if n < 1:
        raise UserError(
            f"The time range {t_start:g}-{t_stop:g} s is shorter than one bin of {bin_size:g} s; "
            "widen the range or shrink the bin."
        )
    return t_start + bin_size * np.arange(n + 1)


def bin_spikes(spike_times: list[np.ndarray], edges: np.ndarray) -> np.ndarray:
    """Count spikes of each unit in each bin.

    Parameters
    ----------
    spike_times : list of ndarray
        Sorted spike times (s), one array per unit.
    edges : ndarray, shape (T + 1,)
        Bin edges (s), increasing and evenly spaced or not.

    Returns
    -------
    ndarray of int64, shape (T, N)
        Spike counts (time x units).
    """
    counts = np.zeros((len(edges) - 1, len(spike_times)), dtype=np.int64)
    for j, st in enumerate(spike_times):
        idx = np.searchsorted(edges, st, side="right") - 1
        idx = idx[(idx >= 0) & (idx < len(edges) - 1)]
        counts[:, j] = np.bincount(idx, minlength=len(edges) - 1)
    return counts


def smooth(values: np.ndarray, bin_size: float, sigma_s: float) -> np.ndarray:
    """Gaussian smoothing along time (axis 0).

    Parameters
    ----------
    values : ndarray, shape (T, ...)
        Samples on bins of width ``bin_size`` seconds.
    bin_size : float
        Bin width in seconds.
    sigma_s : float
        Kernel standard deviation in seconds; 0 returns a float copy.
    """
    values = np.asarray(values, dtype=float)
    if sigma_s <= 0:
        return values.copy()
    return gaussian_filter1d(values, sigma=sigma_s / bin_size, axis=0, mode="nearest")


def firing_rates(counts: np.ndarray, bin_size: float, sigma_s: float = 0.0) -> np.ndarray:
    """Counts per bin to rates in Hz, optionally Gaussian-smoothed (sigma in seconds)."""
    return smooth(counts, bin_size, sigma_s) / bin_size


def resample_traces(data: np.ndarray, timestamps: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Average trace samples within each bin; empty bins are linearly interpolated.

    Samples that are not finite (NaN, infinite) count as missing. A channel without any finite
    sample in range is all NaN.

    Parameters
    ----------
    data : ndarray, shape (T, C)
    timestamps : ndarray, shape (T,)
        Sample times in seconds.
    edges : ndarray, shape (B + 1,)
        Bin edges in seconds.

    Returns
    -------
    ndarray, shape (B, C)
    """
    data = np.asarray(data, dtype=float)
    idx = np.searchsorted(edges, timestamps, side="right") - 1
    ok = (idx >= 0) & (idx < len(edges) - 1)
    nb = len(edges) - 1
    sums = np.zeros((nb, data.shape[1]))
    finite = np.isfinite(data[ok])
    all_finite = bool(finite.all())
    np.add.at(sums, idx[ok], data[ok] if all_finite else np.where(finite, data[ok], 0.0))
    out = np.full((nb, data.shape[1]), np.nan)
    centres = 0.5 * (edges[:-1] + edges[1:])
    if all_finite:  # the usual case: the same bins have samples in every channel
        n = np.bincount(idx[ok], minlength=nb).astype(float)
        have = n > 0
        out[have] = sums[have] / n[have, None]
        if not have.all() and have.any():
            for c in range(data.shape[1]):
                out[~have, c] = np.interp(centres[~have], centres[have], out[have, c])
        return out
    n = np.zeros((nb, data.shape[1]))
    np.add.at(n, idx[ok], finite.astype(float))
    for c in range(data.shape[1]):
        hc = n[:, c] > 0
        out[hc, c] = sums[hc, c] / n[hc, c]
        if hc.any() and not hc.all():
            out[~hc, c] = np.interp(centres[~hc], centres[hc], out[hc, c])
    return out


@dataclass
class NeuralMatrix:
    """A neurons x time matrix ready for an analysis.

    Attributes
    ----------
    values : ndarray, shape (T, N)
        Spike counts (int) for ``source == "units"``, else trace values averaged per bin.
    bin_times : ndarray, shape (T,)
        Bin centres in seconds on the file's clock.
    bin_size : float
        Bin width in seconds.
    source : str
        ``"units"``, ``"rois"`` or ``"acquisition"``.
    neuron_indices : ndarray, shape (N,)
        Index of each kept neuron in the source.
    labels : list of str
        Label of each kept neuron.
    """

    values: np.ndarray
    bin_times: np.ndarray
    bin_size: float
    source: str
    neuron_indices: np.ndarray
    labels: list[str] = field(default_factory=list)

    @property
    def is_counts(self) -> bool:
        """Whether ``values`` are spike counts."""
        return self.source == "units"

    @property
    def edges(self) -> np.ndarray:
        """Bin edges in seconds, shape (T + 1,)."""
        return np.append(self.bin_times - self.bin_size / 2, self.bin_times[-1] + self.bin_size / 2)


def check_neuron_indices(
    recording: Recording, source: str = "auto", units: list[int] | None = None,
) -> tuple[str, int]:
    """Resolve the data source and check a neuron selection against it (no data are binned).

    Parameters
    ----------
    recording : Recording
    source : str
        ``"auto"``, ``"units"``, ``"rois"`` or ``"acquisition"``.
    units : list of int or None
        Indices of the neurons to keep (None: all).

    Returns
    -------
    (str, int)
        The resolved source and its number of neurons.

    Raises
    ------
    UserError
        A missing source, or an index past the last neuron.
    """
    source = recording.choose_source(source)
    n_total = recording.n_units if source == "units" else recording.trace_for(source).n_channels
    bad = [i for i in (units or []) if i >= n_total]
    if bad:
        raise UserError(
            f"Neuron index {bad[0]} is out of range: {recording.source.name} has {n_total} "
            f"neurons in its {source} data (indices 0-{n_total - 1})."
        )
    return source, n_total


def neural_matrix(
    recording: Recording,
    source: str = "auto",
    bin_size: float | None = 0.05,
    t_start: float | None = None,
    t_stop: float | None = None,
    units: list[int] | None = None,
) -> NeuralMatrix:
    """The binned neurons x time matrix of a recording: the one place analyses get data from.

    Parameters
    ----------
    recording : Recording
    source : str
        ``"auto"``, ``"units"``, ``"rois"`` or ``"acquisition"``.
    bin_size : float or None
        Bin width in seconds. For traces, None keeps the native samples.
    t_start, t_stop : float or None
        Time range in seconds (default: the whole recording).
    units : list of int or None
        Indices of the neurons to keep (default: all).

    Returns
    -------
    NeuralMatrix

    Raises
    ------
    UserError
        No usable neural data, a missing source, an empty range or an out-of-range index.
    """
    source, n_total = check_neuron_indices(recording, source, units)
    keep = np.arange(n_total) if units is None else np.asarray(units, dtype=int)
    if len(keep) == 0:
        raise UserError("No neurons selected; keep at least one.")
    labels_all = recording.neuron_labels(source)
    labels = [labels_all[i] for i in keep]

    if source == "units":
        lo, hi = recording.time_range()
        t0 = lo if t_start is None else t_start
        t1 = hi if t_stop is None else t_stop
        if bin_size is None:
            raise UserError("Spike data need a bin size in seconds.")
        edges = bin_edges(t0, t1, bin_size)
        trains = [recording.spike_times[i] for i in keep]
        values = bin_spikes(trains, edges)
        centres = 0.5 * (edges[:-1] + edges[1:])
        return NeuralMatrix(values, centres, float(bin_size), source, keep, labels)

    series = recording.trace_for(source)
    ts = series.timestamps
    if len(ts) == 0:
        raise UserError(f"The {source} series {series.path} of {recording.source.name} has no samples; "
                        "choose another source.")
    t0 = ts[0] if t_start is None else t_start
    t1 = ts[-1] + (np.median(np.diff(ts)) if len(ts) > 1 else 0) if t_stop is None else t_stop
    data = series.data[:, keep]
    if bin_size is None:
        sel = (ts >= t0) & (ts < t1)
        if sel.sum() < 2:
            raise UserError(f"The time range {t0:g}-{t1:g} s holds fewer than two samples.")
        dt = float(np.median(np.diff(ts))) if len(ts) > 1 else 1.0
        if series.sample_interval is not None:  # only part of the series was read
            dt = series.sample_interval
        return NeuralMatrix(np.asarray(data[sel], float), ts[sel], dt, source, keep, labels)
    edges = bin_edges(t0, t1, bin_size)
    values = resample_traces(data, ts, edges)
    empty = np.flatnonzero(np.all(np.isnan(values), axis=0))
    if len(empty):
        raise UserError(
            f"Neuron {labels[empty[0]]} of the {source} data of {recording.source.name} has no finite "
            f"value in {t0:g}-{t1:g} s ({len(empty)} such neurons); leave them out of the selection."
        )
    centres = 0.5 * (edges[:-1] + edges[1:])
    return NeuralMatrix(values, centres, float(bin_size), source, keep, labels)


def event_aligned(
    spike_times: np.ndarray, events: np.ndarray, window: tuple[float, float]
) -> list[np.ndarray]:
    """Spike times relative to each event, within ``window`` (s before/after, e.g. (-1, 2)).

    Returns
    -------
    list of ndarray
        One array of relative times (s) per event.
    """
    out = []
    for e in np.asarray(events, float):
        lo = np.searchsorted(spike_times, e + window[0], side="left")
        hi = np.searchsorted(spike_times, e + window[1], side="right")
        out.append(spike_times[lo:hi] - e)
    return out


#: A PSTH bin needs at least this much of one event's bin inside the recording (fraction of a
#: bin) to get a rate; a sliver of one window would give a spike divided by almost nothing.
MIN_PSTH_EXPOSURE = 0.5


def psth(
    aligned: list[np.ndarray], window: tuple[float, float], bin_size: float, sigma_s: float = 0.0,
    events: np.ndarray | None = None, time_range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Peri-stimulus time histogram in Hz from event-aligned spike times.

    Parameters
    ----------
    aligned : list of ndarray
        Spike times of each event relative to it (s), e.g. from :func:`event_aligned`.
    window : (float, float)
        Seconds before (negative) and after the events.
    bin_size : float
        Bin width (s).
    sigma_s : float
        Gaussian smoothing (s); 0 for none.
    events : ndarray, optional
        The events' absolute times (s), in the order of ``aligned``. With ``time_range``, each
        bin's rate is divided by the time the events' windows actually spend inside the
        recording, not by the number of events: near the start or end of a recording, a window
        that reaches past it holds no spikes there, and counting it would lower the rate.
    time_range : (float, float), optional
        Start and end of the recording (s).

    Returns
    -------
    centres : ndarray, shape (B,)
        Bin centres in seconds relative to the event.
    rate : ndarray, shape (B,)
        Mean rate over events in Hz (smoothed with a Gaussian of ``sigma_s`` seconds); NaN in bins
        that the events' windows cover for less than :data:`MIN_PSTH_EXPOSURE` of a bin in all.
    """
    edges = bin_edges(window[0], window[1], bin_size)
    counts = np.zeros(len(edges) - 1)
    for a in aligned:
        counts += np.histogram(a, edges)[0]
    if events is not None and time_range is not None and len(events):
        lo = np.maximum(np.asarray(events, float)[:, None] + edges[None, :-1], time_range[0])
        hi = np.minimum(np.asarray(events, float)[:, None] + edges[None, 1:], time_range[1])
        exposure = np.clip(hi - lo, 0.0, None).sum(axis=0)  # event-seconds inside the recording
    else:
        exposure = np.full(len(counts), max(len(aligned), 1) * bin_size)
    counts, exposure = smooth(counts[:, None], bin_size, sigma_s)[:, 0], smooth(exposure[:, None], bin_size, sigma_s)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):  # under half a bin of one event: no estimate
        rate = np.where(exposure >= MIN_PSTH_EXPOSURE * bin_size, counts / np.maximum(exposure, 1e-300), np.nan)
    return 0.5 * (edges[:-1] + edges[1:]), rate
