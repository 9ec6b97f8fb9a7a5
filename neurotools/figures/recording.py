"""Figures of a recording itself: the timeline (raster or trace heatmap, behaviour, intervals) and
the trial-aligned raster + PSTH.

Pure functions from a :class:`~neurotools.data.Recording` to a ``plotly.graph_objects.Figure``;
every axis carries its unit. Spikes are drawn as a WebGL scatter (``Scattergl``), so a few hundred
thousand spikes stay interactive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from neurotools.compare import LabelTrack, resample, segments
from neurotools.data.binning import event_aligned, psth
from neurotools.data.recording import BehaviorSeries, IntervalTable, Recording, TraceSeries
from neurotools.errors import UserError

#: Colours cycled over groups, interval tables and behaviour lines.
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
    "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
)

#: Most spikes drawn one by one (WebGL ticks); denser windows are drawn as spike counts per
#: pixel-wide bin, which looks the same at screen resolution and stays fast without a GPU.
MAX_SCATTER_SPIKES = 50_000
#: Time bins of the binned (dense-window) raster.
RASTER_COLUMNS = 2_000
#: Most time columns in a trace heatmap; longer windows are averaged down to this.
MAX_HEATMAP_COLUMNS = 2_000
#: Most points per behaviour line.
MAX_BEHAVIOR_POINTS = 20_000
#: Most intervals shaded per table.
MAX_SHADED_INTERVALS = 400
#: Most state bands drawn in one window (an overlay of a result's states).
MAX_STATE_BANDS = 3000
#: Colour of the "none" label (e.g. connectome bins with no active component).
NONE_COLOR = "#bbbbbb"

SORT_BUILTIN = ("index", "rate", "first spike")


# -- unit ordering -----------------------------------------------------------------------------
def sort_options(recording: Recording) -> list[str]:
    """Ways to order the units of a raster: built-ins plus every numeric unit-table column.

    Returns
    -------
    list of str
        ``"index"`` (file order), ``"rate"`` (highest first), ``"first spike"``, then column names.
    """
    cols = [
        name
        for name, col in recording.unit_table.items()
        if name != "id" and np.asarray(col).dtype.kind in "iuf" and np.asarray(col).ndim == 1
    ]
    return list(SORT_BUILTIN) + cols


def unit_order(recording: Recording, sort_by: str = "index") -> np.ndarray:
    """Unit indices in display order (first row at the top of the raster).

    Parameters
    ----------
    recording : Recording
        A recording with units.
    sort_by : str
        One of :func:`sort_options`.

    Returns
    -------
    ndarray of int, shape (n_units,)
    """
    n = recording.n_units
    if sort_by == "index":
        return np.arange(n)
    if sort_by == "rate":
        lo, hi = recording.time_range()
        counts = np.array([len(s) for s in recording.spike_times or []], dtype=float)
        return np.argsort(-counts / max(hi - lo, 1e-9), kind="stable")
    if sort_by == "first spike":
        first = np.array([s[0] if len(s) else np.inf for s in recording.spike_times or []])
        return np.argsort(first, kind="stable")
    col = recording.unit_table.get(sort_by)
    if col is None or sort_by not in sort_options(recording):
        raise UserError(
            f"Units cannot be sorted by '{sort_by}'; choose one of {', '.join(sort_options(recording))}."
        )
    return np.argsort(np.asarray(col, dtype=float), kind="stable")


def _window(recording: Recording, t_start: float | None, t_stop: float | None) -> tuple[float, float]:
    lo, hi = recording.time_range()
    t0 = lo if t_start is None else float(t_start)
    t1 = hi if t_stop is None else float(t_stop)
    if not t1 > t0:
        raise UserError(
            f"The time window must end after it starts; got {t0:g} s to {t1:g} s."
        )
    return t0, t1


# -- traces for the timeline ---------------------------------------------------------------------
def window_trains(
    recording: Recording, t_start: float, t_stop: float, order: np.ndarray
) -> list[np.ndarray]:
    """Spike times (s) within [t_start, t_stop] of each unit in ``order`` (unit indices)."""
    out = []
    for i in order:
        s = recording.spike_times[i]
        out.append(s[np.searchsorted(s, t_start, "left") : np.searchsorted(s, t_stop, "right")])
    return out


def _unit_ids(recording: Recording, order: np.ndarray) -> np.ndarray:
    """Unit ids in display order as a compact int array (row numbers when ids are not numeric)."""
    try:
        return np.asarray([int(v) for v in recording.neuron_labels("units")], dtype=np.int32)[order]
    except ValueError:
        return np.asarray(order, dtype=np.int32)


def raster_trace(
    recording: Recording, t_start: float, t_stop: float, order: np.ndarray
) -> tuple[go.Scattergl, int]:
    """The spike raster as one WebGL scatter: x = time (s), y = row of the unit in ``order``.

    Returns
    -------
    trace : plotly.graph_objects.Scattergl
    n_drawn : int
        Number of spikes drawn.
    """
    xs = window_trains(recording, t_start, t_stop, order)
    x = np.concatenate(xs) if xs else np.zeros(0)
    rows = np.concatenate([np.full(len(v), r, dtype=np.int32) for r, v in enumerate(xs)]) if xs else np.zeros(0, np.int32)
    ids = _unit_ids(recording, order)
    trace = go.Scattergl(
        x=x.astype(np.float64),
        y=rows,
        mode="markers",
        marker=dict(
            symbol="line-ns-open", color="#222", size=float(np.clip(300 / max(len(order), 1), 3, 10)),
            line=dict(width=1, color="#222"),
        ),
        customdata=ids[rows] if len(rows) else None,
        hovertemplate="unit %{customdata}<br>t = %{x:.4f} s<extra></extra>",
        name="spikes",
        showlegend=False,
    )
    return trace, int(len(x))


def binned_raster_trace(
    recording: Recording, t_start: float, t_stop: float, order: np.ndarray, n_columns: int = RASTER_COLUMNS
) -> tuple[go.Heatmap, int, float]:
    """A dense raster as spike counts per unit and time bin (a heatmap, one column per bin).

    Returns
    -------
    trace : plotly.graph_objects.Heatmap
        z [units, n_columns]: spikes per bin; x: bin centres (s); y: display rows.
    n_spikes : int
        Spikes in the window (the sum of z).
    bin_s : float
        Bin width in seconds.
    """
    trains = window_trains(recording, t_start, t_stop, order)
    edges = np.linspace(t_start, t_stop, n_columns + 1)
    edges[-1] = np.nextafter(t_stop, np.inf)  # a spike exactly at t_stop is counted
    counts = np.zeros((len(trains), n_columns), dtype=np.int32)
    for r, s in enumerate(trains):
        idx = np.searchsorted(edges, s, side="right") - 1
        counts[r] = np.bincount(idx, minlength=n_columns)[:n_columns]
    bin_s = (t_stop - t_start) / n_columns
    top = max(float(np.percentile(counts[counts > 0], 99)) if counts.any() else 1.0, 1.0)
    ids = _unit_ids(recording, order)
    trace = go.Heatmap(
        z=counts,
        x=0.5 * (edges[:-1] + edges[1:]),
        y=np.arange(len(trains)),
        zmin=0,
        zmax=top,
        colorscale=[[0, "rgba(255,255,255,0)"], [1e-9, "#c8c8c8"], [1, "#000"]],
        colorbar=dict(title=dict(text=f"spikes per {_duration(bin_s)}"), len=0.5, y=1.0, yanchor="top"),
        customdata=np.repeat(ids[:, None], n_columns, axis=1),
        hovertemplate="unit %{customdata}<br>t = %{x:.2f} s<br>%{z} spikes<extra></extra>",
        name="spikes",
    )
    return trace, int(counts.sum()), bin_s


def _heatmap_values(
    series: TraceSeries, t_start: float, t_stop: float, normalize: bool, max_columns: int
) -> tuple[np.ndarray, np.ndarray]:
    ts = series.timestamps
    sel = np.flatnonzero((ts >= t_start) & (ts <= t_stop))
    if len(sel) == 0:
        raise UserError(
            f"No samples of {series.path} fall in {t_start:g}-{t_stop:g} s; widen the window."
        )
    data = np.asarray(series.data[sel], dtype=float)
    times = ts[sel]
    if normalize:
        mu = np.nanmean(series.data, axis=0)
        sd = np.nanstd(series.data, axis=0)
        data = (data - mu) / np.where(sd > 0, sd, 1.0)
    if len(times) > max_columns:  # average blocks of samples down to max_columns columns
        k = int(np.ceil(len(times) / max_columns))
        m = (len(times) // k) * k
        data = np.nanmean(data[:m].reshape(-1, k, data.shape[1]), axis=1)
        times = times[:m].reshape(-1, k).mean(axis=1)
    return data.T, times


def heatmap_trace(
    series: TraceSeries,
    t_start: float,
    t_stop: float,
    normalize: bool = False,
    max_columns: int = MAX_HEATMAP_COLUMNS,
) -> go.Heatmap:
    """Trace heatmap: x = time (s), y = channel (ROI/neuron), colour = signal (or z-score).

    Parameters
    ----------
    series : TraceSeries
        Data [T, C] with timestamps [T] in seconds.
    t_start, t_stop : float
        Window in seconds.
    normalize : bool
        z-score each channel over the whole recording.
    max_columns : int
        Longer windows are block-averaged to at most this many columns.
    """
    z, times = _heatmap_values(series, t_start, t_stop, normalize, max_columns)
    labels = series.channel_labels or [str(i) for i in range(series.n_channels)]
    if normalize:
        cbar = "z-score"
    elif series.kind == "dff":
        cbar = "ΔF/F"
    else:
        cbar = series.unit or "a.u."
    zmin, zmax = robust_limits(z)
    return go.Heatmap(
        z=z.astype(np.float32),
        x=times,
        y=np.arange(series.n_channels),
        colorscale="Viridis",
        zmin=zmin,
        zmax=zmax,
        colorbar=dict(title=dict(text=f"{cbar}<br>(1st-99th pct.)"), len=0.5, y=1.0, yanchor="top"),
        customdata=np.repeat(np.asarray(labels, dtype=object)[:, None], len(times), axis=1),
        hovertemplate="%{customdata}<br>t = %{x:.3f} s<br>%{z:.3g}<extra></extra>",
        name=series.path,
    )


#: Percentiles of the values that span a trace heatmap's colour scale.
COLOR_PERCENTILES = (1.0, 99.0)


def robust_limits(values: np.ndarray) -> tuple[float | None, float | None]:
    """Colour limits from the 1st to the 99th percentile of the finite values.

    A few large transients (a z-score of 40 where nearly every value lies within +-2) would
    otherwise stretch the scale so the rest of the heatmap is one colour. Values beyond the
    limits take the end colours; hovering shows them unclipped.

    Parameters
    ----------
    values : ndarray
        The heatmap's values (any shape; NaN ignored), in the colour bar's unit.

    Returns
    -------
    zmin, zmax : float or None
        The limits; ``(None, None)`` (plotly's own) when there are no finite values or they are
        all equal.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None, None
    lo, hi = (float(v) for v in np.percentile(finite, COLOR_PERCENTILES))
    if not hi > lo:
        lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (None, None)


def _behavior_traces(b: BehaviorSeries, t_start: float, t_stop: float, color_at: int) -> list[go.Scattergl]:
    ts = np.asarray(b.timestamps, dtype=float)
    sel = np.flatnonzero((ts >= t_start) & (ts <= t_stop))
    data = np.asarray(b.data)
    if b.kind == "events":
        return [
            go.Scattergl(
                x=ts[sel],
                y=np.ones(len(sel)),
                mode="markers",
                marker=dict(
                    symbol="line-ns-open", size=14, color=PALETTE[color_at % len(PALETTE)],
                    line=dict(width=1.5, color=PALETTE[color_at % len(PALETTE)]),
                ),
                name=b.name,
                hovertemplate=f"{b.name}<br>t = %{{x:.4f}} s<extra></extra>",
            )
        ]
    if len(sel) > MAX_BEHAVIOR_POINTS:
        sel = sel[:: int(np.ceil(len(sel) / MAX_BEHAVIOR_POINTS))]
    values = data[sel].reshape(len(sel), -1).astype(float) if data.size else np.zeros((0, 1))
    dims = ["x", "y", "z"] if values.shape[1] <= 3 else [str(i) for i in range(values.shape[1])]
    out = []
    for d in range(values.shape[1]):
        name = b.name if values.shape[1] == 1 else f"{b.name} {dims[d]}"
        out.append(
            go.Scattergl(
                x=ts[sel],
                y=values[:, d],
                mode="lines",
                line=dict(width=1, color=PALETTE[(color_at + d) % len(PALETTE)]),
                name=name,
                hovertemplate=f"{name}<br>t = %{{x:.3f}} s<br>%{{y:.4g}}<extra></extra>",
            )
        )
    return out


def legend_square(name: str, color: str, opacity: float = 1.0,
                  group: str | None = None) -> go.Scatter:
    """A legend entry (a coloured square) for something that has none: shapes, heatmap
    categories. The trace draws nothing (its one point is empty)."""
    return go.Scatter(x=[None], y=[None], mode="markers", name=name, legendgroup=group,
                      marker=dict(symbol="square", size=12, color=color, opacity=opacity),
                      hoverinfo="skip")


def add_shapes(fig: go.Figure, shapes: list[dict]) -> None:
    """Append shapes in one assignment: ``update_layout(shapes=...)`` re-validates every
    existing shape against the list, quadratic in their number (38 s for 2,300 state bands)."""
    if shapes:
        fig.layout.shapes = (*fig.layout.shapes, *shapes)


def _shade_intervals(
    fig: go.Figure, tables: list[IntervalTable], t_start: float, t_stop: float, n_rows: int
) -> None:
    min_width = (t_stop - t_start) * 0.002
    shapes: list[dict] = []
    for k, tab in enumerate(tables):
        color = PALETTE[(k + 3) % len(PALETTE)]
        stop = np.where(np.isfinite(tab.stop), tab.stop, tab.start)  # a missing stop: a thin line
        keep = np.flatnonzero((stop >= t_start) & (tab.start <= t_stop))[:MAX_SHADED_INTERVALS]
        for r in range(1, n_rows + 1):
            suffix = "" if r == 1 else str(r)
            for i in keep:
                x0, x1 = float(tab.start[i]), float(stop[i])
                shapes.append(
                    dict(
                        type="rect", xref=f"x{suffix}", yref=f"y{suffix} domain",
                        x0=x0, x1=max(x1, x0 + min_width), y0=0, y1=1,
                        fillcolor=color, opacity=0.15, line_width=0, layer="below",
                    )
                )
        # a legend entry for the table (shapes have none)
        fig.add_trace(legend_square(f"{tab.name} ({len(keep)} shown)", color, 0.4), row=1, col=1)
    add_shapes(fig, shapes)


# -- overlays of a result: state bands and unit groups ------------------------------------------
def state_color(track: LabelTrack, code: int) -> str:
    """Colour of a state code of a track (grey for a category named "none")."""
    cats = list(track.categories)
    if 0 <= code < len(cats) and cats[code] == "none":
        return NONE_COLOR
    return PALETTE[int(code) % len(PALETTE)]


def group_color(code: int) -> str:
    """Colour of a unit group (grey for units outside every group)."""
    return NONE_COLOR if code < 0 else PALETTE[int(code) % len(PALETTE)]


def _category(track: LabelTrack, code: int) -> str:
    cats = list(track.categories)
    return cats[code] if 0 <= code < len(cats) else f"state {code}"


def _group_name(names: Sequence[str] | None, code: int) -> str:
    if code < 0:
        return "no group"
    if names is not None and code < len(names):
        return str(names[code])
    return f"group {code}"


def _check_groups(groups: np.ndarray | Sequence[int], n: int, what: str) -> np.ndarray:
    g = np.asarray(groups)
    if g.shape != (n,) or g.dtype.kind not in "iu":
        raise UserError(f"The neuron groups must give one integer per {what} ({n}); got shape {g.shape}.")
    return g.astype(np.int64)


def grouped_order(order: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``order`` regrouped: units of group 0 first, then 1, ...; ungrouped (-1) last; the order
    within a group is kept."""
    g = groups[order]
    key = np.where(g < 0, np.iinfo(np.int64).max, g)
    return order[np.argsort(key, kind="stable")]


def _state_band_shapes(
    fig: go.Figure, track: LabelTrack, t0: float, t1: float, full_height: bool
) -> None:
    """Coloured rectangles of the track's states over row 1 and one legend entry per state."""
    segs = segments(track, t0, t1)[:MAX_STATE_BANDS]
    y0, y1, layer, opacity = (0.0, 1.0, "below", 0.22) if full_height else (0.95, 1.0, "above", 0.9)
    shapes: list[dict] = []
    for a, b, k in segs:
        shapes.append(dict(
            type="rect", xref="x", yref="y domain", x0=a, x1=b, y0=y0, y1=y1,
            fillcolor=state_color(track, k), opacity=opacity, line_width=0, layer=layer,
            name=f"{track.name}: {_category(track, k)}",
        ))
    add_shapes(fig, shapes)
    for k in sorted({k for _, _, k in segs}):
        fig.add_trace(legend_square(f"{track.name}: {_category(track, k)}", state_color(track, k),
                                    0.6, group="state_bands"), row=1, col=1)


def _group_strip(fig: go.Figure, row_groups: np.ndarray, names: Sequence[str] | None,
                 title: str, legend: bool) -> None:
    """A colour strip right of row 1 marking each group's block of rows (+ legend entries)."""
    shapes: list[dict] = []
    cuts = np.flatnonzero(np.diff(row_groups)) + 1
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(row_groups)]):
        k = int(row_groups[a])
        shapes.append(dict(
            type="rect", xref="x domain", yref="y", x0=1.003, x1=1.012, y0=a - 0.5, y1=b - 0.5,
            fillcolor=group_color(k), line_width=0, layer="above",
            name=f"{title}: {_group_name(names, k)}",
        ))
    add_shapes(fig, shapes)
    if legend:
        for k in dict.fromkeys(int(v) for v in row_groups):
            fig.add_trace(legend_square(f"{title}: {_group_name(names, k)}", group_color(k),
                                        group="unit_groups"), row=1, col=1)


def grouped_raster_traces(
    recording: Recording, t_start: float, t_stop: float, order: np.ndarray,
    groups: np.ndarray, names: Sequence[str] | None = None, title: str = "group",
) -> tuple[list[go.Scattergl], int]:
    """The spike raster as one WebGL scatter per unit group, coloured by group.

    Parameters
    ----------
    order : ndarray of int
        Unit indices in display order (row 0 at the top).
    groups : ndarray of int, shape (n_units,)
        Group of every unit in file order (-1: none).

    Returns
    -------
    traces : list of plotly.graph_objects.Scattergl
        x = time (s), y = display row; one legend entry per group.
    n_drawn : int
        Number of spikes drawn.
    """
    xs = window_trains(recording, t_start, t_stop, order)
    ids = _unit_ids(recording, order)
    row_groups = groups[order]
    size = float(np.clip(300 / max(len(order), 1), 3, 10))
    traces, n = [], 0
    for k in dict.fromkeys(int(v) for v in row_groups):
        rows = np.flatnonzero(row_groups == k)
        x = np.concatenate([xs[r] for r in rows]) if len(rows) else np.zeros(0)
        y = np.concatenate([np.full(len(xs[r]), r, dtype=np.int32) for r in rows]) if len(rows) else np.zeros(0, np.int32)
        n += len(x)
        color = group_color(k)
        traces.append(go.Scattergl(
            x=x.astype(np.float64), y=y, mode="markers",
            marker=dict(symbol="line-ns-open", color=color, size=size, line=dict(width=1, color=color)),
            customdata=ids[y] if len(y) else None,
            hovertemplate="unit %{customdata}<br>t = %{x:.4f} s<extra>" + _group_name(names, k) + "</extra>",
            name=f"{title}: {_group_name(names, k)}", legendgroup="unit_groups",
        ))
    return traces, int(n)


def _discrete_colorscale(colors: Sequence[str]) -> list[list]:
    n = max(len(colors), 1)
    scale = []
    for k, c in enumerate(colors):
        scale += [[k / n, c], [(k + 1) / n, c]]
    return scale or [[0, NONE_COLOR], [1, NONE_COLOR]]


def timeline_figure(
    recording: Recording,
    source: str = "auto",
    t_start: float | None = None,
    t_stop: float | None = None,
    sort_by: str = "index",
    behavior: list[str] | tuple[str, ...] = (),
    intervals: list[str] | tuple[str, ...] = (),
    normalize: bool = False,
    max_scatter_spikes: int = MAX_SCATTER_SPIKES,
    state_bands: LabelTrack | None = None,
    unit_groups: np.ndarray | Sequence[int] | None = None,
    group_names: Sequence[str] | None = None,
    groups_title: str = "group",
) -> go.Figure:
    """The recording on one time axis: raster or trace heatmap, behaviour below, intervals shaded.

    Parameters
    ----------
    recording : Recording
        The recording.
    source : str
        ``"auto"``, ``"units"`` (raster), ``"rois"`` or ``"acquisition"`` (heatmap), or
        ``"none"`` (behaviour rows only, e.g. for a file of state labels without neural data).
    t_start, t_stop : float or None
        Time window in seconds on the file's clock (default: the whole recording).
    sort_by : str
        Unit order for the raster, one of :func:`sort_options`.
    behavior : sequence of str
        Paths of the behaviour series to plot, one row each, under the neural panel.
    intervals : sequence of str
        Names of the interval tables to shade across all rows.
    normalize : bool
        z-score each trace channel (heatmaps only).
    max_scatter_spikes : int
        Windows with more spikes are drawn as spike counts per time bin (the title says so);
        narrow the window to see single spikes.
    state_bands : LabelTrack, optional
        A result's (or reference) state sequence (:mod:`neurotools.compare`), drawn as coloured
        bands over the neural panel (a strip along its top edge over a trace heatmap), one legend
        entry per state.
    unit_groups : array of int, optional
        One group per neuron of ``source`` in file order (-1: none), e.g. clusters or
        communities: rows are regrouped (group 0 first, order within a group kept), a colour
        strip marks the groups and raster spikes take their group's colour.
    group_names : sequence of str, optional
        Name of each group code (legend); default ``"group k"``.
    groups_title : str
        Prefix of the group legend entries (e.g. ``"bicluster neuron clusters"``).

    Returns
    -------
    plotly.graph_objects.Figure
        Rows share the x axis (time, s).
    """
    if source != "none":
        source = recording.choose_source(source)
    elif not behavior:
        raise UserError("Pick at least one behaviour series to show without neural data.")
    t0, t1 = _window(recording, t_start, t_stop)
    by_path = {b.path: b for b in recording.behavior}
    missing = [p for p in behavior if p not in by_path]
    if missing:
        raise UserError(f"{recording.source.name} has no behaviour series '{missing[0]}'.")
    unknown = [n for n in intervals if n not in recording.intervals]
    if unknown:
        raise UserError(f"{recording.source.name} has no interval table '{unknown[0]}'.")
    top = 0 if source == "none" else 1  # rows taken by the neural panel
    n_rows = top + len(behavior)
    if source == "none":
        heights = [1.0 / n_rows] * n_rows
    else:
        heights = [0.7] + [0.3 / len(behavior)] * len(behavior) if behavior else [1.0]
    fig = make_subplots(rows=n_rows, cols=1, shared_xaxes=True, row_heights=heights, vertical_spacing=0.03)
    title = recording.source.name
    binned = source != "units"  # traces are heatmaps; a spike raster may be binned below
    if source == "none":
        title += " - behaviour"
    elif source == "units":
        order = unit_order(recording, sort_by)
        groups = None
        if unit_groups is not None:
            groups = _check_groups(unit_groups, recording.n_units, "unit")
            order = grouped_order(order, groups)
        n_window = sum(len(t) for t in window_trains(recording, t0, t1, order))
        binned = n_window > max_scatter_spikes
        if binned:
            trace, n_drawn, bin_s = binned_raster_trace(recording, t0, t1, order)
            note = (f"<br><sup>binned at {_duration(bin_s)}; narrow the window below "
                    f"{max_scatter_spikes:,} spikes to see single spikes</sup>")
            fig.add_trace(trace, row=1, col=1)
            if groups is not None:
                _group_strip(fig, groups[order], group_names, groups_title, legend=True)
        elif groups is not None:
            traces, n_drawn = grouped_raster_traces(recording, t0, t1, order, groups, group_names,
                                                    groups_title)
            for tr in traces:
                fig.add_trace(tr, row=1, col=1)
            _group_strip(fig, groups[order], group_names, groups_title, legend=False)
            note = ""
        else:
            trace, n_drawn = raster_trace(recording, t0, t1, order)
            note = ""
            fig.add_trace(trace, row=1, col=1)
        labels = np.asarray(recording.neuron_labels("units"), dtype=object)[order]
        n = len(order)
        step = max(1, int(np.ceil(n / 20)))  # at most ~20 labels: readable at the default height
        fig.update_yaxes(
            title_text=f"unit (sorted by {sort_by})" if groups is None else f"unit (by group, then {sort_by})",
            tickvals=list(range(0, n, step)),
            ticktext=[str(v) for v in labels[::step]],
            range=[n - 0.5, -0.5],
            row=1, col=1,
        )
        title += f" - {n_drawn:,} spike{'s' * (n_drawn != 1)} of {n} unit{'s' * (n != 1)}{note}"
    elif source in ("rois", "acquisition"):
        series = recording.trace_for(source)
        groups = None
        if unit_groups is not None:
            groups = _check_groups(unit_groups, series.n_channels, "channel")
            corder = grouped_order(np.arange(series.n_channels), groups)
            labels = series.channel_labels or [str(i) for i in range(series.n_channels)]
            series = replace(series, data=np.asarray(series.data)[:, corder],
                             channel_labels=[labels[i] for i in corder])
        fig.add_trace(heatmap_trace(series, t0, t1, normalize), row=1, col=1)
        if groups is not None:
            _group_strip(fig, groups[corder], group_names, groups_title, legend=True)
        n = series.n_channels
        fig.update_yaxes(
            title_text="ROI" if source == "rois" else "neuron",
            range=[n - 0.5, -0.5],
            row=1, col=1,
        )
        title += f" - {series.path}: {n} channels x {series.n_samples} samples"
    for k, path in enumerate(behavior):
        b = by_path[path]
        row = top + 1 + k
        for tr in _behavior_traces(b, t0, t1, k):
            fig.add_trace(tr, row=row, col=1)
        if b.kind == "events":
            fig.update_yaxes(title_text=f"{b.name}<br>(events)", showticklabels=False, range=[0, 2], row=row, col=1)
        else:
            fig.update_yaxes(title_text=f"{b.name}<br>({b.unit or 'a.u.'})", row=row, col=1)
    if state_bands is not None and top:
        # behind single spikes over the whole height; a strip on top of an (opaque) heatmap
        _state_band_shapes(fig, state_bands, t0, t1, full_height=source == "units" and not binned)
    _shade_intervals(fig, [recording.intervals[n] for n in intervals], t0, t1, n_rows)
    fig.update_xaxes(range=[t0, t1], row=n_rows, col=1, title_text="time (s)")
    fig.update_xaxes(range=[t0, t1])
    fig.update_layout(
        title=dict(text=title, font=dict(size=14)),
        height=(420 if top else 100) + 140 * len(behavior),
        margin=dict(l=70, r=20, t=50, b=50),
        template="plotly_white",
        # below the x-axis title (the legend pushes the bottom margin)
        legend=dict(orientation="h", y=-0.2 if not behavior else -0.12, yanchor="top"),
        hovermode="closest",
    )
    return fig


# -- trial-aligned raster and PSTH ------------------------------------------------------------------
def _duration(seconds: float) -> str:
    """A bin width in readable units: ``"5 ms"``, ``"1.41 s"``, ``"2.5 min"``."""
    seconds = float(f"{seconds:.3g}")  # round first, so 0.9996 s reads "1 s", not "1e+03 ms"
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    if seconds < 120:
        return f"{seconds:.3g} s"
    return f"{seconds / 60:.3g} min"


def alignment_columns(table: IntervalTable) -> list[str]:
    """Columns of an interval table usable as alignment events: ``start``, ``stop`` and every
    numeric column whose name ends in ``time``/``times`` (e.g. ``cue_start_time``)."""
    out = ["start", "stop"]
    for name, col in table.columns.items():
        arr = np.asarray(col)
        if arr.dtype.kind == "f" and arr.ndim == 1 and name.lower().rstrip("s").endswith("time"):
            out.append(name)
    return out


def _row_spans(table: IntervalTable) -> np.ndarray:
    """Length (s) of each row: stop - start, else the gap to the next start (NaN-safe)."""
    start = np.asarray(table.start, dtype=float)
    span = np.asarray(table.stop, dtype=float) - start
    gaps = np.diff(start)
    typical = float(np.nanmedian(gaps)) if len(gaps) and np.isfinite(gaps).any() else np.inf
    nxt = np.append(gaps, typical)
    return np.where(np.isfinite(span) & (span > 0), span, nxt)


def is_relative(table: IntervalTable, column: str) -> bool:
    """Whether a time column holds times relative to each row's start (as in some DANDI sets).

    A column is relative when ``start + value`` falls inside its row for more rows than
    ``value`` itself does.
    """
    v = np.asarray(table.columns[column], dtype=float)
    start = np.asarray(table.start, dtype=float)
    span = _row_spans(table)
    inside_abs = np.sum((v >= start) & (v <= start + span))
    inside_rel = np.sum((v >= 0) & (v <= span))
    return bool(inside_rel > inside_abs)


def event_times(table: IntervalTable, align: str) -> np.ndarray:
    """Event times (s, file clock) of each row for an alignment column (NaN where missing).

    Columns holding times relative to the row start (see :func:`is_relative`) are shifted by it.
    """
    if align == "start":
        return np.asarray(table.start, dtype=float)
    if align == "stop":
        return np.asarray(table.stop, dtype=float)
    if align not in alignment_columns(table):
        raise UserError(
            f"Trials cannot be aligned on '{align}'; choose one of {', '.join(alignment_columns(table))}."
        )
    v = np.asarray(table.columns[align], dtype=float)
    return np.asarray(table.start, dtype=float) + v if is_relative(table, align) else v


def aligned_figure(
    recording: Recording,
    unit: int,
    table: str,
    align: str = "start",
    window: tuple[float, float] = (-1.0, 2.0),
    bin_size: float = 0.05,
    sigma_s: float = 0.0,
    group_by: str | None = None,
    state_bands: LabelTrack | None = None,
) -> go.Figure:
    """Trial-aligned raster (top) and PSTH in Hz (bottom) of one unit, by trial group.

    Parameters
    ----------
    recording : Recording
        A recording with units and the interval table ``table``.
    unit : int
        Index of the unit (file order).
    table : str
        Name of the interval table whose rows are the trials.
    align : str
        Event to align on: ``start``, ``stop`` or a time column (see :func:`alignment_columns`).
    window : (float, float)
        Seconds before (negative) and after the event.
    bin_size : float
        PSTH bin width in seconds.
    sigma_s : float
        Gaussian smoothing of the PSTH in seconds (0: none).
    group_by : str or None
        A categorical column of the table; one colour and one PSTH per level.
    state_bands : LabelTrack, optional
        A state sequence (:mod:`neurotools.compare`): each trial row of the raster is coloured by
        the state at each time bin, and a third row under the PSTH shows the fraction of trials
        in each state against the time from the event.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if recording.n_units == 0:
        raise UserError(f"{recording.source.name} has no units to align; a PSTH needs spike times.")
    if not 0 <= unit < recording.n_units:
        raise UserError(
            f"Unit index {unit} is out of range; {recording.source.name} has units 0-{recording.n_units - 1}."
        )
    if table not in recording.intervals:
        raise UserError(f"{recording.source.name} has no interval table '{table}'.")
    if not window[1] > window[0]:
        raise UserError(f"The window must end after it starts; got {window[0]:g} s to {window[1]:g} s.")
    if not bin_size > 0 or bin_size > (window[1] - window[0]):
        raise UserError(
            f"The PSTH bin must be positive and shorter than the window; got {bin_size:g} s."
        )
    if sigma_s < 0:
        raise UserError(f"The smoothing width must be 0 or more; got {sigma_s:g} s.")
    tab = recording.intervals[table]
    events = event_times(tab, align)
    ok = np.isfinite(events)
    if group_by:
        if group_by not in tab.columns:
            raise UserError(f"The table '{table}' has no column '{group_by}'.")
        groups = np.asarray(tab.columns[group_by]).astype(str)
    else:
        groups = np.full(tab.n_rows, "all trials")
    idx = np.flatnonzero(ok)
    if len(idx) == 0:
        raise UserError(f"No trial of '{table}' has a '{align}' time to align on.")
    levels = list(dict.fromkeys(sorted(groups[idx])))
    spikes = recording.spike_times[unit]
    label = recording.neuron_labels("units")[unit]
    if state_bands is None:
        fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4],
                            vertical_spacing=0.04)
    else:
        fig = make_subplots(rows=3, cols=1, shared_xaxes=True, row_heights=[0.5, 0.3, 0.2],
                            vertical_spacing=0.04)
    row0 = 0
    shown_events = []
    for g, level in enumerate(levels):
        sel = idx[groups[idx] == level]
        sel = sel[np.argsort(events[sel], kind="stable")]
        shown_events.append(events[sel])
        aligned = event_aligned(spikes, events[sel], window)
        # one group: black, apart from the state colours of an overlay
        color = PALETTE[g % len(PALETTE)] if group_by else "black"
        x = np.concatenate(aligned) if aligned else np.zeros(0)
        y = np.concatenate([np.full(len(a), row0 + i) for i, a in enumerate(aligned)]) if aligned else np.zeros(0)
        fig.add_trace(
            go.Scattergl(
                x=x, y=y, mode="markers",
                marker=dict(symbol="line-ns-open", size=5, color=color, line=dict(width=1, color=color)),
                name=str(level), legendgroup=str(level), showlegend=False,
                hovertemplate="trial row %{y}<br>%{x:.3f} s<extra>" + str(level) + "</extra>",
            ),
            row=1, col=1,
        )
        centres, rate = psth(aligned, window, bin_size, sigma_s, events[sel], recording.time_range())
        fig.add_trace(
            go.Scatter(
                x=centres, y=rate, mode="lines", line=dict(color=color, width=2, shape="linear" if sigma_s > 0 else "hvh"),
                name=f"{level} (n={len(sel)})", legendgroup=str(level),
                hovertemplate="%{x:.3f} s<br>%{y:.2f} Hz<extra>" + str(level) + "</extra>",
            ),
            row=2, col=1,
        )
        row0 += len(sel)
    n_panels = 2
    if state_bands is not None:
        n_panels = 3
        _aligned_states(fig, state_bands, np.concatenate(shown_events), window, bin_size)
    for r in range(1, n_panels + 1):
        fig.add_vline(x=0, line=dict(color="#555", dash="dash", width=1), row=r, col=1)
    fig.update_yaxes(title_text="trial", range=[row0 - 0.5, -0.5], row=1, col=1)
    fig.update_yaxes(title_text="rate (Hz)", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text=f"time from {align} (s)", range=list(window), row=n_panels, col=1)
    fig.update_xaxes(range=list(window))
    smooth_txt = f", smoothed {sigma_s:g} s" if sigma_s > 0 else ""
    fig.update_layout(
        title=dict(
            text=f"unit {label} aligned to {table}.{align} (bin {bin_size:g} s{smooth_txt})",
            font=dict(size=14),
        ),
        height=560 if state_bands is None else 700,
        template="plotly_white",
        margin=dict(l=70, r=20, t=50, b=50),
        legend=dict(title=dict(text=group_by or ""), orientation="h", y=-0.15),
    )
    return fig


def _aligned_states(fig: go.Figure, track: LabelTrack, events: np.ndarray,
                    window: tuple[float, float], bin_size: float) -> None:
    """States around each event: a coloured background per trial row (row 1) and the fraction
    of trials in each state against the time from the event (row 3)."""
    n_bins = max(int(np.ceil((window[1] - window[0]) / bin_size)), 1)
    centres = window[0] + (np.arange(n_bins) + 0.5) * bin_size
    codes = resample(track, events[:, None] + centres[None, :])  # [trials, bins]
    k_max = max(len(track.categories), int(codes.max()) + 1 if codes.size else 0, 1)
    colors = [state_color(track, k) for k in range(k_max)]
    z = np.where(codes >= 0, codes, np.nan).astype(float)
    names = np.asarray([_category(track, k) for k in range(k_max)] + ["no label"], dtype=object)
    fig.add_trace(go.Heatmap(
        z=z, x=centres, y=np.arange(len(events)), zmin=-0.5, zmax=k_max - 0.5,
        colorscale=_discrete_colorscale(colors), showscale=False, opacity=0.3,
        customdata=names[np.where(codes >= 0, codes, k_max)],
        hovertemplate="trial row %{y}<br>%{x:.3f} s<br>%{customdata}<extra>" + track.name + "</extra>",
        name=track.name,
    ), row=1, col=1)
    fig.data = (fig.data[-1],) + tuple(fig.data[:-1])  # behind the spikes
    labelled = np.maximum((codes >= 0).sum(axis=0), 1)
    for k in range(k_max):
        frac = (codes == k).sum(axis=0) / labelled
        if not frac.any():
            continue
        fig.add_trace(go.Scatter(
            x=centres, y=frac, mode="lines", line=dict(color=colors[k], width=2, shape="hvh"),
            name=f"{track.name}: {_category(track, k)}", legendgroup="state_bands",
            hovertemplate="%{x:.3f} s<br>%{y:.2f} of trials<extra>" + _category(track, k) + "</extra>",
        ), row=3, col=1)
    fig.update_yaxes(title_text="fraction of trials", range=[0, 1.05], row=3, col=1)


# -- rate statistics over bin widths -------------------------------------------------------------
def rate_sweep_figure(arrays: dict[str, np.ndarray], title: str = "") -> go.Figure:
    """Fano factor of every unit's spike counts against the bin width (log axes).

    Parameters
    ----------
    arrays : dict of str to ndarray
        ``bin_widths`` [B] (s), ``fano_factor`` [B, N], ``mean_rate_hz`` [B, N], ``unit_ids`` [N]
        (the arrays of a rate-sweep job's Result).
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        One thin line per unit and the median over units in bold; 1 (Poisson) dashed.
    """
    widths = np.asarray(arrays["bin_widths"], dtype=float)
    fano = np.asarray(arrays["fano_factor"], dtype=float)
    ids = np.asarray(arrays.get("unit_ids", np.arange(fano.shape[1])))
    fig = go.Figure()
    for j in range(fano.shape[1]):
        fig.add_trace(
            go.Scatter(
                x=widths, y=fano[:, j], mode="lines", line=dict(width=0.8, color="rgba(90,90,90,0.35)"),
                name=f"unit {ids[j]}", showlegend=False,
                hovertemplate=f"unit {ids[j]}<br>bin %{{x:.4g}} s<br>Fano %{{y:.3g}}<extra></extra>",
            )
        )
    with np.errstate(all="ignore"):
        valid = np.isfinite(fano).any(axis=1)
        med = np.full(len(widths), np.nan)
        med[valid] = np.nanmedian(fano[valid], axis=1)
    fig.add_trace(go.Scatter(x=widths, y=med, mode="lines", line=dict(width=3, color=PALETTE[1]), name="median over units"))
    fig.add_hline(y=1.0, line=dict(dash="dash", color="#555", width=1))
    fig.update_xaxes(type="log", title_text="bin width (s)")
    fig.update_yaxes(type="log", title_text="Fano factor (count variance / mean, dimensionless)")
    fig.update_layout(title=dict(text=title, font=dict(size=14)), template="plotly_white", height=450,
                      margin=dict(l=70, r=20, t=50, b=50))
    return fig
