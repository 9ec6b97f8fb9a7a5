"""Figures of an HMM-GLM result: states over the raster, per-state PSTH and dwell times, weights,
their difference from the learned prior, the learned connectome graph, transitions, the K curve.

Pure functions returning plotly figures; units on every axis.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from neurotools.analyses.base import Result
from neurotools.data.recording import Recording
from neurotools.figures.graph import (
    ARROW_STANDOFF_PX,
    NODE_SIZE_PX,
    circle_layout,
    label_note,
    node_label_trace,
)

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]
#: Colour of each connection type (+1 excitatory, -1 inhibitory, 0 none).
TYPE_COLOURS = {1: "#d62728", -1: "#1f77b4", 0: "#cccccc"}
TYPE_NAMES = {1: "excitatory", -1: "inhibitory", 0: "none"}
#: Marker symbol and colour of each cross-validation fold on the K curve (cycled).
FOLD_STYLES = [("circle-open", "#7f7f7f"), ("square-open", "#bcbd22"),
               ("diamond-open", "#17becf"), ("triangle-up-open", "#8c564b"),
               ("x-thin-open", "#e377c2")]
#: Default least fraction of the sequences that must contribute to a shown PSTH time.
PSTH_MIN_FRACTION = 0.1


def _colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def _neuron_ids(result: Result, n: int) -> list[int]:
    labels = result.info.get("neuron_labels") or [str(i) for i in range(n)]
    return list(labels)


def _break_at_gaps(t: np.ndarray, y: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN point wherever consecutive bin times jump by more than a bin.

    Parameters
    ----------
    t : ndarray, shape (T,)
        Sorted bin centres (s).
    y : ndarray, shape (T,)
        Values at those times.
    dt : float
        Bin size (s); a jump over 1.5 bins is a gap.

    Returns
    -------
    t, y : ndarray, shape (T + gaps,)
        With one NaN value (at the middle of each gap) that breaks a plotted line there.
    """
    idx = np.flatnonzero(np.diff(t) > 1.5 * dt) + 1
    mids = (t[idx - 1] + t[idx]) / 2
    return np.insert(t, idx, mids), np.insert(np.asarray(y, float), idx, np.nan)


def _empty_window_note(bt: np.ndarray, t_range: tuple[float, float]) -> str:
    """What to say when a window holds no analysed bin: where the nearest analysed bins are (s)."""
    before, after = bt[bt < t_range[0]], bt[bt > t_range[1]]
    near = [f"last before at {before.max():.2f} s" if len(before) else "",
            f"next at {after.min():.2f} s" if len(after) else ""]
    near_text = "; ".join(v for v in near if v)
    return (f"No analysed bins in {t_range[0]:.2f}-{t_range[1]:.2f} s: the window lies outside "
            f"the analysed sequences" + (f" ({near_text})" if near_text else ""))


def _raster_trace(recording: Recording, t_range: tuple[float, float], max_spikes: int
                  ) -> go.Scattergl:
    """Spike raster of every unit in ``t_range`` (s), thinned to ``max_spikes`` at random."""
    xs, ys = [], []
    for i, st in enumerate(recording.spike_times):
        s = st[(st >= t_range[0]) & (st <= t_range[1])]
        xs.append(s)
        ys.append(np.full(len(s), i))
    x, y = np.concatenate(xs) if xs else np.zeros(0), np.concatenate(ys) if ys else np.zeros(0)
    if len(x) > max_spikes:
        keep = np.random.default_rng(0).choice(len(x), max_spikes, replace=False)
        x, y = x[keep], y[keep]
    return go.Scattergl(x=x, y=y, mode="markers", name="spikes", showlegend=False,
                        marker=dict(size=3, color="black", symbol="line-ns-open"))


def states_raster_figure(result: Result, recording: Recording | None = None,
                         t_range: tuple[float, float] | None = None, max_spikes: int = 50000
                         ) -> go.Figure:
    """Viterbi states as coloured bands under the spike raster, posteriors below.

    Time outside the analysed sequences has no band, and the posterior lines break there; a
    window without any analysed bin says so in the figure.

    Parameters
    ----------
    result : Result
        An ``hmmglm`` result (``states``, ``bin_times``, ``state_posterior``).
    recording : Recording, optional
        Source of the spike times for the raster (omitted: states and posteriors only).
    t_range : (float, float), optional
        Time window in seconds (default: the first 60 s of analysed bins).
    max_spikes : int
        Raster thinning limit (spikes).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    bt, z, post = result.arrays["bin_times"], result.arrays["states"], result.arrays["state_posterior"]
    order = np.argsort(bt, kind="stable")
    bt, z, post = bt[order], z[order], post[order]
    dt = float(result.info.get("bin_size_s", np.median(np.diff(bt)) if len(bt) > 1 else 1.0))
    if t_range is None:
        t_range = (float(bt[0]) - dt / 2, float(bt[0]) + 60.0) if len(bt) else (0.0, 1.0)
    sel = (bt >= t_range[0]) & (bt <= t_range[1])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                        vertical_spacing=0.04)
    k = post.shape[1]
    if recording is not None and recording.spike_times is not None:
        fig.add_trace(_raster_trace(recording, t_range, max_spikes), row=1, col=1)
    tz, zz = bt[sel], z[sel]
    if len(tz):  # one rectangle per run of equal states, set at once (add_vrect is slow per call)
        cuts = np.flatnonzero((np.diff(zz) != 0) | (np.diff(tz) > 1.5 * dt)) + 1
        fig.update_layout(shapes=[
            dict(type="rect", xref="x", yref="y domain", x0=float(tz[a] - dt / 2),
                 x1=float(tz[b - 1] + dt / 2), y0=0, y1=1, fillcolor=_colour(int(zz[a])),
                 opacity=0.18, line_width=0, layer="below")
            for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(tz)])])
    for j in range(k):
        x, y = _break_at_gaps(tz, post[sel, j], dt)
        fig.add_trace(go.Scattergl(x=x, y=y, mode="lines", name=f"state {j}", connectgaps=False,
                                   line=dict(color=_colour(j))), row=2, col=1)
    subtitle = "bands: Viterbi state; no band and broken lines: time outside the analysed sequences"
    if not len(tz):
        subtitle = _empty_window_note(bt, t_range)
        fig.add_annotation(text="no analysed bins in this window", x=0.5, y=0.5, xref="x domain",
                           yref="y domain", showarrow=False, font=dict(color="#555555"),
                           row=2, col=1)
        fig.update_xaxes(range=list(t_range), row=2, col=1)
    fig.update_yaxes(title_text="neuron (index)", row=1, col=1)
    fig.update_yaxes(title_text="p(state) (probability)", range=[0, 1.02], row=2, col=1)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    fig.update_layout(title=dict(text="Viterbi states over the raster",
                                 subtitle=dict(text=subtitle)), height=520)
    return fig


def state_rate_figure(result: Result, recording: Recording | None, bin_size: float | None = None
                      ) -> go.Figure:
    """Mean firing rate of each neuron in each Viterbi state (Hz), from the recording's spikes."""
    z = result.arrays["states"]
    k = result.arrays["state_posterior"].shape[1]
    dt = float(bin_size or result.info.get("bin_size_s", 0.05))
    fig = go.Figure()
    if recording is None or recording.spike_times is None:
        fig.update_layout(title="Per-state rates need the recording")
        return fig
    counts = _counts_at_bins(result, recording)
    n = counts.shape[1]
    rates = np.full((k, n), np.nan)
    for j in range(k):
        if np.any(z == j):
            rates[j] = counts[z == j].mean(0) / dt
    for j in range(k):
        fig.add_trace(go.Bar(x=np.arange(n), y=rates[j], name=f"state {j}", marker_color=_colour(j)))
    fig.update_layout(barmode="group", title="Per-state mean firing rate",
                      xaxis_title="neuron (index)", yaxis_title="rate (Hz)")
    return fig


def _counts_at_bins(result: Result, recording: Recording) -> np.ndarray:
    """Spike counts (T, N) of the analysed neurons in the result's bins."""
    bt = result.arrays["bin_times"]
    dt = float(result.info.get("bin_size_s", 0.05))
    idx = result.info.get("neuron_indices")
    trains = recording.spike_times if idx is None else [recording.spike_times[i] for i in idx]
    lo, hi = bt - dt / 2, bt + dt / 2
    return np.stack([np.searchsorted(st, hi, side="left") - np.searchsorted(st, lo, side="left")
                     for st in trains], axis=1)


def _sequence_offsets(seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin offset of every bin from the start of its sequence, and the number of sequences.

    Parameters
    ----------
    seq : ndarray of int, shape (T,)
        ``sequence_index`` of each bin (bins of one sequence are contiguous).

    Returns
    -------
    offset : ndarray of int, shape (T,)
        Bins since the sequence start (0 at the first bin).
    contributing : ndarray of int, shape (max offset + 1,)
        Number of sequences holding a bin at each offset (non-increasing).
    """
    if not len(seq):
        return np.zeros(0, np.int64), np.zeros(1, np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(seq) != 0) + 1]
    lengths = np.diff(np.r_[starts, len(seq)])
    offset = np.arange(len(seq)) - np.repeat(starts, lengths)
    contributing = np.bincount(offset)
    return offset, contributing


def _psth_min_sequences(n_seq: int, min_sequences: int | None) -> int:
    """Least number of contributing sequences for a PSTH time to be shown (count).

    Default: 2, or :data:`PSTH_MIN_FRACTION` of the sequences if more, never over ``n_seq``.
    """
    if min_sequences is None:
        min_sequences = max(2, int(np.ceil(PSTH_MIN_FRACTION * n_seq)))
    return max(1, min(int(min_sequences), n_seq))


def state_psth_figure(result: Result, recording: Recording | None = None,
                      max_s: float | None = None, min_sequences: int | None = None) -> go.Figure:
    """Per-state PSTH aligned to the start of each sequence (trial).

    Top: occupancy p(Viterbi state = k) against time from the sequence start. Middle (when the
    recording is given): population rate (Hz per neuron) at each time from the start, averaged
    over the sequences that are in state k at that time. Bottom: the number of sequences that
    contribute at each time. Times where fewer than ``min_sequences`` sequences contribute (the
    tail past most sequences' ends) are not shown; the subtitle says where the cut is.

    Parameters
    ----------
    result : Result
        An ``hmmglm`` result (``states``, ``sequence_index``, ``state_posterior``).
    recording : Recording, optional
        Source of the spike counts for the rate panel.
    max_s : float, optional
        Longest time from the start shown (s); default the longest sequence.
    min_sequences : int, optional
        Least number of contributing sequences at a shown time (count); default 2, or 10% of
        the sequences if more (never more than there are).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    z, seq = result.arrays["states"], result.arrays["sequence_index"]
    k = result.arrays["state_posterior"].shape[1]
    dt = float(result.info.get("bin_size_s", 0.05))
    offset, contributing = _sequence_offsets(seq)
    n_seq = int(contributing[0])
    least = _psth_min_sequences(n_seq, min_sequences)
    n_off = max(1, int(np.sum(contributing >= least)))
    if max_s is not None:
        n_off = min(n_off, max(1, int(round(max_s / dt))))
    keep = offset < n_off
    t = (np.arange(n_off) + 0.5) * dt
    occ = np.zeros((k, n_off))
    np.add.at(occ, (z[keep], offset[keep]), 1)
    total = occ.sum(0)
    with_rates = recording is not None and recording.spike_times is not None
    rows = 3 if with_rates else 2
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[0.4, 0.35, 0.25] if with_rates else [0.7, 0.3])
    hover = "%{x:.2f} s: %{y:.2f} of %{customdata} sequences<extra>%{fullData.name}</extra>"
    for j in range(k):
        fig.add_trace(go.Scatter(x=t, y=occ[j] / np.maximum(total, 1), mode="lines",
                                 name=f"state {j}", line=dict(color=_colour(j)),
                                 customdata=total.astype(int), hovertemplate=hover), row=1, col=1)
    fig.update_yaxes(title_text="occupancy (probability)", range=[0, 1.02], row=1, col=1)
    if with_rates:
        pop = _counts_at_bins(result, recording).mean(1) / dt
        sums = np.zeros((k, n_off))
        np.add.at(sums, (z[keep], offset[keep]), pop[keep])
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(occ > 0, sums / occ, np.nan)
        for j in range(k):
            fig.add_trace(go.Scatter(x=t, y=rate[j], mode="lines", showlegend=False,
                                     name=f"state {j}", line=dict(color=_colour(j))), row=2, col=1)
        fig.update_yaxes(title_text="rate (Hz/neuron)", title_font_size=12, row=2, col=1)
    fig.add_trace(go.Scatter(x=t, y=total.astype(int), mode="lines", name="sequences contributing",
                             line=dict(color="#7f7f7f", width=1, shape="hv")), row=rows, col=1)
    fig.update_yaxes(title_text="sequences (count)", title_font_size=11, rangemode="tozero",
                     row=rows, col=1)
    fig.update_xaxes(title_text="time from sequence start (s)", row=rows, col=1)
    longest = len(contributing) * dt
    shown = f"shown up to {n_off * dt:.2f} s, where at least {least} contribute"
    if n_off < len(contributing):
        shown += f" (longest sequence {longest:.2f} s)"
    if 0 < n_seq < 10:
        shown += f"; occupancy moves in steps of 1/{n_seq}"
    fig.update_layout(title=dict(text="Per-state PSTH (aligned to sequence start)",
                                 subtitle=dict(text=f"{n_seq} sequences; {shown}; bottom: "
                                                    "sequences contributing at each time")),
                      height=640 if with_rates else 480)
    return fig


def dwell_time_figure(result: Result) -> go.Figure:
    """Histogram of the durations of Viterbi state visits (s), one trace per state."""
    bt, z = result.arrays["bin_times"], result.arrays["states"]
    seq = result.arrays.get("sequence_index", np.zeros(len(z), int))
    dt = float(result.info.get("bin_size_s", np.median(np.diff(bt)) if len(bt) > 1 else 1.0))
    k = result.arrays["state_posterior"].shape[1]
    cuts = np.flatnonzero((np.diff(z) != 0) | (np.diff(seq) != 0)) + 1
    starts, stops = np.r_[0, cuts], np.r_[cuts, len(z)]
    fig = go.Figure()
    for j in range(k):
        d = (stops - starts)[z[starts] == j] * dt
        fig.add_trace(go.Histogram(x=d, name=f"state {j}", marker_color=_colour(j), opacity=0.6))
    fig.update_layout(barmode="overlay", title="Dwell times", xaxis_title="dwell time (s)",
                      yaxis_title="visits (count)")
    return fig


def _heatmap(w: np.ndarray, name: str, zmax: float) -> go.Heatmap:
    return go.Heatmap(z=w, zmin=-zmax, zmax=zmax, colorscale="RdBu_r", name=name,
                      colorbar=dict(title="weight (log-rate units)"))


def weights_figure(result: Result, relative_to_prior: bool = False) -> go.Figure:
    """Per-state weight matrices (row = receiving neuron), or their difference from the prior."""
    w = result.arrays["weights"]
    if relative_to_prior:
        w = w - result.arrays["prior_weights"][None]
    k = w.shape[0]
    zmax = float(np.max(np.abs(w))) or 1.0
    fig = make_subplots(rows=1, cols=k, subplot_titles=[f"state {j}" for j in range(k)],
                        horizontal_spacing=0.02)
    for j in range(k):
        hm = _heatmap(w[j], f"state {j}", zmax)
        hm.showscale = j == k - 1
        fig.add_trace(hm, row=1, col=j + 1)
        fig.update_xaxes(title_text="sending neuron (index)", row=1, col=j + 1)
        fig.update_yaxes(autorange="reversed", showticklabels=j == 0, row=1, col=j + 1)
    fig.update_yaxes(title_text="receiving neuron (index)", row=1, col=1)
    title = "Per-state weights minus the learned prior" if relative_to_prior else "Per-state weights"
    fig.update_layout(title=title, height=360)
    return fig


def _edge_strength(result: Result, n: int) -> np.ndarray:
    """Mean |weight| over states of every pair (log-rate units), shape (N, N); ranks the edges."""
    w = result.arrays.get("weights")
    if w is None or np.shape(w)[1:] != (n, n):
        return np.ones((n, n))
    return np.abs(np.asarray(w, float)).mean(0)


def _strongest_edges(ct: np.ndarray, strength: np.ndarray, max_edges: int
                     ) -> tuple[np.ndarray, np.ndarray, int]:
    """The ``max_edges`` strongest connections between distinct neurons.

    Parameters
    ----------
    ct : ndarray of int, shape (N, N)
        Connection types (row = receiving neuron); the diagonal (self-history) is not an edge.
    strength : ndarray, shape (N, N)
        Ranking of the pairs (larger first).
    max_edges : int
        Most edges kept.

    Returns
    -------
    recv, send : ndarray of int
        The kept edges, strongest first.
    total : int
        Number of connections between distinct neurons.
    """
    recv, send = np.nonzero(_connections(ct))
    order = np.argsort(-strength[recv, send], kind="stable")[:max(0, max_edges)]
    return recv[order], send[order], len(recv)


def _self_history_note(self_ct: np.ndarray) -> str:
    """How the self-history terms are shown, with their counts."""
    return (f"self-history (diagonal: {int(np.sum(self_ct > 0))} excitatory, "
            f"{int(np.sum(self_ct < 0))} inhibitory) is the node fill, not an edge")


def default_max_edges(result: Result) -> int:
    """Edges :func:`connectome_figure` draws by default: twice the neurons, at least 40.

    Parameters
    ----------
    result : Result
        An ``hmmglm`` result.

    Returns
    -------
    int
    """
    return max(40, 2 * int(np.shape(result.arrays["connection_type"])[0]))


def connection_count(result: Result) -> int:
    """Number of connections between distinct neurons in the learned connectome.

    Parameters
    ----------
    result : Result
        An ``hmmglm`` result (``connection_type``, row = receiving neuron).

    Returns
    -------
    int
        Non-zero off-diagonal entries of ``connection_type`` (self-history is not a connection).
    """
    return int(_connections(np.asarray(result.arrays["connection_type"])).sum())


def _connections(ct: np.ndarray) -> np.ndarray:
    """Mask of the connections between distinct neurons (non-zero type off the diagonal)."""
    return (ct != 0) & ~np.eye(len(ct), dtype=bool)


def connectome_figure(result: Result, max_edges: int | None = None) -> go.Figure:
    """The learned connectome as a signed directed graph (neurons on a circle).

    Edges: ``connection_type`` between distinct neurons (+1 excitatory in red, -1 inhibitory in
    blue); arrows point from the sending to the receiving neuron. Self-history terms (the
    diagonal) are the fill of the nodes, not edges, and are not counted in the legend. Only the
    ``max_edges`` strongest edges (mean |weight| over states) are drawn; the subtitle says how
    many of how many. Neuron labels are written beside the nodes up to
    :data:`MAX_GRAPH_LABELS` neurons, and shown on hover beyond.

    Parameters
    ----------
    result : Result
        An ``hmmglm`` result (``connection_type``, ``weights``).
    max_edges : int, optional
        Most edges drawn (default: twice the number of neurons, at least 40).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    ct = np.asarray(result.arrays["connection_type"])
    n = ct.shape[0]
    labels = [str(v) for v in _neuron_ids(result, n)]
    max_edges = default_max_edges(result) if max_edges is None else int(max_edges)
    recv, send, total = _strongest_edges(ct, _edge_strength(result, n), max_edges)
    pos = circle_layout(n)
    fig = go.Figure()
    for sign in (1, -1):
        colour, name = TYPE_COLOURS[sign], TYPE_NAMES[sign]
        pick = ct[recv, send] == sign
        n_all = int(np.sum((ct == sign) & ~np.eye(n, dtype=bool)))
        ex: list[float | None] = []
        ey: list[float | None] = []
        for r, s in zip(recv[pick], send[pick]):
            ex += [pos[s, 0], pos[r, 0], None]
            ey += [pos[s, 1], pos[r, 1], None]
            fig.add_annotation(x=pos[r, 0], y=pos[r, 1], ax=pos[s, 0], ay=pos[s, 1], xref="x",
                               yref="y", axref="x", ayref="y", showarrow=True, arrowhead=2,
                               arrowsize=1, arrowwidth=1, arrowcolor=colour, opacity=0.6,
                               standoff=ARROW_STANDOFF_PX, text="")
        count = f"{int(pick.sum())}" if pick.sum() == n_all else f"{int(pick.sum())} of {n_all}"
        fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", hoverinfo="skip",
                                 line=dict(color=colour, width=1), name=f"{name} ({count})"))
    self_ct = np.diag(ct)
    hover = [f"neuron {lab}: self-history {TYPE_NAMES[int(np.sign(v))]}"
             for lab, v in zip(labels, self_ct)]
    fig.add_trace(go.Scatter(x=pos[:, 0], y=pos[:, 1], mode="markers", hovertext=hover,
                             hoverinfo="text", name="neurons (fill: self-history type)",
                             marker=dict(size=NODE_SIZE_PX, line=dict(color="black", width=1),
                                         color=[TYPE_COLOURS[int(np.sign(v))] for v in self_ct])))
    label_trace = node_label_trace(pos, labels)
    if label_trace is not None:
        fig.add_trace(label_trace)
    where = label_note(n)
    drawn = (f"all {total} edges" if len(recv) == total else
             f"the strongest {len(recv)} of {total} edges (mean |weight| over states)")
    fig.update_xaxes(visible=False, range=[-1.35, 1.35], title_text="layout x (a.u.)")
    fig.update_yaxes(visible=False, range=[-1.35, 1.35], scaleanchor="x",
                     title_text="layout y (a.u.)")
    fig.update_layout(title=dict(text="Learned connectome (state-constant connection types)",
                                 subtitle=dict(text=f"{drawn}, arrow: sending → receiving; "
                                                    f"{where}<br>{_self_history_note(self_ct)}")),
                      plot_bgcolor="white", height=580, margin=dict(t=120))
    return fig


def _state_names(k: int) -> list[str]:
    """Names of the states as every figure writes them: ``state 0`` ... ``state K-1`` (0-based,
    as in the result arrays and the NWB export)."""
    return [f"state {j}" for j in range(k)]


def transition_figure(result: Result) -> go.Figure:
    """Transition matrix p(z_{t+1} = j | z_t = i) as a heatmap (probability per bin).

    The axes are the states (categories ``state 0`` ... ``state K-1``), one tick each.
    """
    p = result.arrays["transition"]
    names = _state_names(p.shape[0])
    fig = go.Figure(go.Heatmap(z=p, x=names, y=names, zmin=0, zmax=1, colorscale="Viridis",
                               text=np.round(p, 3), texttemplate="%{text}",
                               hovertemplate="%{y} → %{x}: %{z:.3f}<extra></extra>",
                               colorbar=dict(title="probability per bin")))
    fig.update_xaxes(type="category", title_text="next state (index)")
    fig.update_yaxes(type="category", title_text="current state (index)", autorange="reversed")
    fig.update_layout(title="Transition matrix")
    return fig


def _integer_ticks(values: np.ndarray, most: int = 12) -> dict:
    """Axis settings that put ticks on integers only (``values``, thinned to ``most`` ticks)."""
    vals = np.unique(np.asarray(values, dtype=int))
    step = int(np.ceil(len(vals) / most)) if len(vals) else 1
    shown = [int(v) for v in vals[::max(step, 1)]]
    return dict(tickmode="array", tickvals=shown, ticktext=[str(v) for v in shown])


def k_curve_figure(result: Result) -> go.Figure:
    """Cross-validated held-out bits/spike against the number of states K.

    One marker style per fold (symbol and colour), the mean over folds as a black line; ticks on
    the K values fitted.
    """
    fig = go.Figure()
    if "k_values" not in result.arrays:
        fig.update_layout(title="No K curve (set k_values to compute one)")
        return fig
    ks, v = result.arrays["k_values"], result.arrays["k_curve_bits_per_spike"]
    for f in range(v.shape[1]):
        symbol, colour = FOLD_STYLES[f % len(FOLD_STYLES)]
        fig.add_trace(go.Scatter(x=ks, y=v[:, f], mode="markers", name=f"fold {f}",
                                 marker=dict(color=colour, symbol=symbol, size=9,
                                             line=dict(width=2, color=colour))))
    fig.add_trace(go.Scatter(x=ks, y=v.mean(1), mode="lines+markers", name="mean over folds",
                             line=dict(color="black")))
    fig.update_xaxes(title_text="number of states K (count)", **_integer_ticks(ks))
    fig.update_layout(title="K selection (held-out sequences)",
                      yaxis_title="held-out information (bits/spike)")
    return fig


def _warmup_epochs(result: Result) -> int:
    """Unconstrained warm-up epochs at the start of ``objective`` (count; 0 for none)."""
    if "warmup_epochs" in result.metrics:
        return int(result.metrics["warmup_epochs"])
    p = result.params
    if int(p.get("n_states", 1)) < 2:
        return 0
    return max(0, min(int(p.get("warmup_epochs", 0)), int(p.get("epochs", 1)) - 1))


def objective_figure(result: Result) -> go.Figure:
    """Training objective (log marginal likelihood + log prior, nats) over EM epochs.

    Each value is the E-step at the start of an epoch, so it is plotted against the epochs
    completed before it (0: the initial weights). A dashed vertical line marks the end of the
    warm-up (``warmup_epochs`` epochs of unconstrained weights, prior ``none``): the values up to
    it reflect warm-up updates only, the next one the first update under the chosen prior, where
    the objective can drop.
    """
    obj = result.arrays["objective"]
    done = np.arange(len(obj))
    fig = go.Figure(go.Scatter(x=done, y=obj, mode="lines+markers", name="objective",
                               hovertemplate="after %{x} epochs: %{y:.6g} nats<extra></extra>"))
    warm = _warmup_epochs(result)
    if 0 < warm < len(obj):
        fig.add_vline(x=warm, line_dash="dash", line_color="#7f7f7f",
                      annotation_text="end of warm-up", annotation_position="top left")
    fig.update_xaxes(title_text="EM epochs completed (count)", **_integer_ticks(done))
    fig.update_layout(title="EM objective", yaxis_title="log-likelihood + log prior (nats)")
    return fig
