"""The one data type that crosses layers: :class:`Recording`.

A Recording holds what an analysis or a figure needs from one NWB file, already in plain numpy:
spike trains (seconds, sorted), trace series (time x channels with timestamps), behaviour, interval
tables and per-neuron metadata, plus the identity of the source file (name + sha256). Nothing here
knows about pynwb, Streamlit or plotly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SourceFile:
    """Identity of the file a recording came from.

    Attributes
    ----------
    name : str
        File name without directories.
    sha256 : str
        Hex digest of the file's bytes.
    path : str
        Where it was read from (may be a temporary upload path).
    """

    name: str
    sha256: str
    path: str = ""


@dataclass
class TraceSeries:
    """Continuous signals from several neurons/ROIs on one clock.

    Attributes
    ----------
    path : str
        Location in the NWB file, e.g. ``processing/ophys/DfOverF/RoiResponseSeries``; for the
        stacked per-neuron layout, the container (``acquisition``).
    data : ndarray, shape (T, C)
        Samples (time x channels), float.
    timestamps : ndarray, shape (T,)
        Sample times in seconds on the file's clock.
    rate_hz : float or None
        Nominal sampling rate in Hz, or None when irregular.
    kind : str
        ``"dff"``, ``"fluorescence"`` or ``"acquisition"`` (per-neuron TimeSeries stacked).
    channel_labels : list of str
        One label per channel (ROI id or neuron name).
    channel_table : dict of str to ndarray
        Per-channel metadata columns (e.g. ``iscell``, ``assemblies``), each of length C.
    unit : str
        Unit of the samples.
    sample_interval : float or None
        Median sample interval (s) of the whole series, set when only a time range of it was read
        (so native-sample analyses use the same interval as after a full read); None otherwise.
    """

    path: str
    data: np.ndarray
    timestamps: np.ndarray
    rate_hz: float | None
    kind: str
    channel_labels: list[str] = field(default_factory=list)
    channel_table: dict[str, np.ndarray] = field(default_factory=dict)
    unit: str = ""
    sample_interval: float | None = None

    @property
    def n_channels(self) -> int:
        """Number of channels (ROIs or neurons)."""
        return int(self.data.shape[1])

    @property
    def n_samples(self) -> int:
        """Number of time samples."""
        return int(self.data.shape[0])


@dataclass
class BehaviorSeries:
    """One behavioural signal (TimeSeries, SpatialSeries or an event train).

    Attributes
    ----------
    path : str
        Location in the NWB file.
    data : ndarray, shape (T,) or (T, D)
        Values; for events, ones (or the stored values) at each event time.
    timestamps : ndarray, shape (T,)
        Times in seconds.
    kind : str
        ``"timeseries"``, ``"spatial"`` or ``"events"``.
    unit : str
        Unit of the values.
    """

    path: str
    data: np.ndarray
    timestamps: np.ndarray
    kind: str = "timeseries"
    unit: str = ""

    @property
    def name(self) -> str:
        """Last component of the path."""
        return self.path.rstrip("/").split("/")[-1]

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.data.shape[0])


@dataclass
class IntervalTable:
    """An NWB TimeIntervals table (trials, epochs, or any other).

    Attributes
    ----------
    name : str
        Table name, e.g. ``"trials"``.
    start, stop : ndarray, shape (n,)
        Interval bounds in seconds.
    columns : dict of str to ndarray
        Every other column, one value per row (ragged columns as object arrays).
    """

    name: str
    start: np.ndarray
    stop: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        """Number of intervals."""
        return int(len(self.start))

    def categorical_columns(self, max_levels: int = 20) -> list[str]:
        """Columns with few distinct scalar values, usable to group trials."""
        out = []
        for name, col in self.columns.items():
            if col.dtype == object and len(col) and not isinstance(col[0], (str, bytes, int, float, np.generic)):
                continue
            try:
                levels = np.unique(col.astype(str))
            except (TypeError, ValueError):
                continue
            if 1 < len(levels) <= max_levels:
                out.append(name)
        return out


@dataclass
class Recording:
    """Everything the analyses and figures use from one NWB file.

    Attributes
    ----------
    source : SourceFile
        Name and sha256 of the file.
    nwb_version : str
        NWB schema version of the file.
    session_description : str
        The file's session description.
    session_start_time : str
        ISO time of session start ("" if unknown).
    spike_times : list of ndarray or None
        Per-unit spike times in seconds, sorted; None when the file has no Units table.
    unit_table : dict of str to ndarray
        Units metadata columns (``id`` always present when units exist), one value per unit.
    traces : list of TraceSeries
        Ophys and stacked per-neuron series, best first (DfOverF, Fluorescence, acquisition).
    behavior : list of BehaviorSeries
        Behavioural signals.
    intervals : dict of str to IntervalTable
        Every interval table, keyed by name.
    ground_truth : dict of str to ndarray
        Arrays stored by ``neurotools simulate`` (empty for real data).
    subject : dict of str to str
        Subject fields (may be empty strings).
    warnings : list of str
        What the reader repaired (e.g. unsorted spike times).
    time_bounds : tuple of float or None
        Set when only part of the file was read (a :class:`~neurotools.data.selection.Selection`;
        then units not chosen have empty spike trains and traces may cover a shorter range): the
        whole file's time range, or with both ends of the range chosen, the range of what was read
        (plus traces and intervals); None when everything was read.
    """

    source: SourceFile
    nwb_version: str = ""
    session_description: str = ""
    session_start_time: str = ""
    spike_times: list[np.ndarray] | None = None
    unit_table: dict[str, np.ndarray] = field(default_factory=dict)
    traces: list[TraceSeries] = field(default_factory=list)
    behavior: list[BehaviorSeries] = field(default_factory=list)
    intervals: dict[str, IntervalTable] = field(default_factory=dict)
    ground_truth: dict[str, np.ndarray] = field(default_factory=dict)
    subject: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    time_bounds: tuple[float, float] | None = None

    # -- counts -------------------------------------------------------------------------------
    @property
    def n_units(self) -> int:
        """Number of sorted units (0 without a Units table)."""
        return 0 if self.spike_times is None else len(self.spike_times)

    @property
    def n_spikes(self) -> int:
        """Total number of spikes over all units."""
        return 0 if self.spike_times is None else int(sum(len(s) for s in self.spike_times))

    @property
    def has_neural_data(self) -> bool:
        """Whether any spikes or neural traces exist."""
        return self.n_units > 0 or len(self.traces) > 0

    def time_range(self) -> tuple[float, float]:
        """Earliest and latest time (s) over spikes, traces and intervals.

        Behaviour sets the range only when there is no neural data and no interval table
        (behavioural clocks sometimes carry placeholder times). For a partly read file this is
        the whole file's range (``time_bounds``).
        """
        if self.time_bounds is not None:
            return self.time_bounds
        lo, hi = np.inf, -np.inf
        for s in self.spike_times or []:
            if len(s):
                lo, hi = min(lo, s[0]), max(hi, s[-1])
        for t in self.traces:
            if t.n_samples:
                lo, hi = min(lo, t.timestamps[0]), max(hi, t.timestamps[-1])
        for tab in self.intervals.values():  # finite times only (NaN marks a missing value)
            times = np.concatenate([np.asarray(tab.start, float), np.asarray(tab.stop, float)])
            times = times[np.isfinite(times)]  # e.g. all stop times missing: the starts still count
            if times.size:
                lo, hi = min(lo, np.min(times)), max(hi, np.max(times))
        if not np.isfinite(lo):
            for b in self.behavior:
                ts = b.timestamps[np.isfinite(b.timestamps)]
                if ts.size:
                    lo, hi = min(lo, np.min(ts)), max(hi, np.max(ts))
        if not np.isfinite(lo):
            return 0.0, 0.0
        return float(lo), float(hi)

    @property
    def duration_s(self) -> float:
        """Span of the recording in seconds."""
        lo, hi = self.time_range()
        return hi - lo

    def neuron_labels(self, source: str) -> list[str]:
        """Labels of the neurons of a source (unit ids or channel labels)."""
        if source == "units":
            ids = self.unit_table.get("id")
            return [str(i) for i in (ids if ids is not None else range(self.n_units))]
        series = self.trace_for(source)
        return list(series.channel_labels) or [str(i) for i in range(series.n_channels)]

    def trace_for(self, source: str) -> TraceSeries:
        """The best trace series of a source: ``"rois"`` (ophys) or ``"acquisition"``."""
        for t in self.traces:
            if (source == "rois" and t.kind in ("dff", "fluorescence")) or (
                source == "acquisition" and t.kind == "acquisition"
            ):
                return t
        from neurotools.errors import UserError

        raise UserError(f"{self.source.name} has no {source} traces; choose another source.")

    def available_sources(self) -> list[str]:
        """Data sources present, in the automatic order (units, rois, acquisition)."""
        out = []
        if self.n_units:
            out.append("units")
        if any(t.kind in ("dff", "fluorescence") for t in self.traces):
            out.append("rois")
        if any(t.kind == "acquisition" for t in self.traces):
            out.append("acquisition")
        return out

    def choose_source(self, source: str = "auto") -> str:
        """Resolve ``"auto"`` (Units, else ophys, else acquisition) and check the source exists.

        Raises
        ------
        UserError
            When the file has no neural data, or not the requested source.
        """
        from neurotools.errors import UserError

        avail = self.available_sources()
        if not avail:
            raise UserError(
                f"{self.source.name} has no usable neural data (no Units, no ophys series, no "
                "per-neuron TimeSeries); open a file with spikes or calcium traces."
            )
        if source in (None, "", "auto"):
            return avail[0]
        if source not in avail:
            raise UserError(
                f"{self.source.name} has no '{source}' data; available sources: {', '.join(avail)}."
            )
        return source
