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

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]


def _colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def _neuron_ids(result: Result, n: int) -> list[int]:
    labels = result.info.get("neuron_labels") or [str(i) for i in range(n)]
    return list(labels)


def states_raster_figure(result: Result, recording: Recording | None = None,
                         t_range: tuple[float, float] | None = None, max_spikes: int = 50000
                         ) -> go.Figure:
    """Viterbi states as coloured bands under the spike raster.

    Parameters
    ----------
    result : Result
        An ``hmmglm`` result (``states``, ``bin_times``, ``state_posterior``).
    recording : Recording, optional
        Source of the spike times for the raster (omitted: states and posteriors only).
    t_range : (float, float), optional
        Time window in seconds (default: the first 60 s of analysed bins).
    max_spikes : int
        Raster thinning limit.
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
        xs, ys = [], []
        for i, st in enumerate(recording.spike_times):
            s = st[(st >= t_range[0]) & (st <= t_range[1])]
            xs.append(s)
            ys.append(np.full(len(s), i))
        x, y = np.concatenate(xs) if xs else np.zeros(0), np.concatenate(ys) if ys else np.zeros(0)
        if len(x) > max_spikes:
            keep = np.random.default_rng(0).choice(len(x), max_spikes, replace=False)
            x, y = x[keep], y[keep]
        fig.add_trace(go.Scattergl(x=x, y=y, mode="markers", marker=dict(size=3, color="black",
                      symbol="line-ns-open"), name="spikes", showlegend=False), row=1, col=1)
    tz, zz = bt[sel], z[sel]
    if len(tz):  # one rectangle per run of equal states, set at once (add_vrect is slow per call)
        cuts = np.flatnonzero((np.diff(zz) != 0) | (np.diff(tz) > 1.5 * dt)) + 1
        fig.update_layout(shapes=[
            dict(type="rect", xref="x", yref="y domain", x0=float(tz[a] - dt / 2),
                 x1=float(tz[b - 1] + dt / 2), y0=0, y1=1, fillcolor=_colour(int(zz[a])),
                 opacity=0.18, line_width=0, layer="below")
            for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(tz)])])
    for j in range(k):
        fig.add_trace(go.Scattergl(x=tz, y=post[sel, j], mode="lines", name=f"state {j}",
                                   line=dict(color=_colour(j))), row=2, col=1)
    fig.update_yaxes(title_text="neuron (index)", row=1, col=1)
    fig.update_yaxes(title_text="p(state) (probability)", range=[0, 1.02], row=2, col=1)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    fig.update_layout(title="Viterbi states over the raster", height=520)
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


def state_psth_figure(result: Result, recording: Recording | None = None,
                      max_s: float | None = None) -> go.Figure:
    """Per-state PSTH aligned to the start of each sequence (trial).

    Top: occupancy p(Viterbi state = k) against time from the sequence start. Bottom (when the
    recording is given): population rate (Hz per neuron) at each time from the start, averaged
    over the sequences that are in state k at that time.

    Parameters
    ----------
    result : Result
    recording : Recording, optional
    max_s : float, optional
        Longest time from the start shown (s); default the longest sequence.
    """
    z, seq = result.arrays["states"], result.arrays["sequence_index"]
    k = result.arrays["state_posterior"].shape[1]
    dt = float(result.info.get("bin_size_s", 0.05))
    starts = np.r_[0, np.flatnonzero(np.diff(seq) != 0) + 1]
    offset = np.arange(len(z)) - np.repeat(starts, np.diff(np.r_[starts, len(z)]))
    n_off = int(offset.max()) + 1 if len(z) else 1
    if max_s is not None:
        n_off = min(n_off, max(1, int(round(max_s / dt))))
    keep = offset < n_off
    t = (np.arange(n_off) + 0.5) * dt
    occ = np.zeros((k, n_off))
    np.add.at(occ, (z[keep], offset[keep]), 1)
    total = occ.sum(0)
    rows = 2 if recording is not None and recording.spike_times is not None else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    for j in range(k):
        fig.add_trace(go.Scatter(x=t, y=occ[j] / np.maximum(total, 1), mode="lines",
                                 name=f"state {j}", line=dict(color=_colour(j))), row=1, col=1)
    fig.update_yaxes(title_text="occupancy (probability)", range=[0, 1.02], row=1, col=1)
    if rows == 2:
        pop = _counts_at_bins(result, recording).mean(1) / dt
        sums = np.zeros((k, n_off))
        np.add.at(sums, (z[keep], offset[keep]), pop[keep])
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(occ > 0, sums / occ, np.nan)
        for j in range(k):
            fig.add_trace(go.Scatter(x=t, y=rate[j], mode="lines", showlegend=False,
                                     line=dict(color=_colour(j))), row=2, col=1)
        fig.update_yaxes(title_text="rate (Hz per neuron)", row=2, col=1)
    fig.update_xaxes(title_text="time from sequence start (s)", row=rows, col=1)
    fig.update_layout(title="Per-state PSTH (aligned to sequence start)", height=520)
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


def connectome_figure(result: Result) -> go.Figure:
    """The learned connectome as a signed directed graph (neurons on a circle).

    Edges: ``connection_type`` (+1 excitatory in red, -1 inhibitory in blue); arrows point from
    the sending to the receiving neuron.
    """
    ct = result.arrays["connection_type"]
    n = ct.shape[0]
    ang = 2 * np.pi * np.arange(n) / max(n, 1)
    x, y = np.cos(ang), np.sin(ang)
    fig = go.Figure()
    for sign, colour, name in ((1, "#d62728", "excitatory"), (-1, "#1f77b4", "inhibitory")):
        recv, send = np.nonzero(ct == sign)
        ex, ey = [], []
        for r, s in zip(recv, send):
            if r == s:
                continue
            ex += [x[s], x[r], None]
            ey += [y[s], y[r], None]
            fig.add_annotation(x=x[r], y=y[r], ax=x[s], ay=y[s], xref="x", yref="y", axref="x",
                               ayref="y", showarrow=True, arrowhead=2, arrowsize=1,
                               arrowwidth=1, arrowcolor=colour, opacity=0.6, text="")
        fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", line=dict(color=colour, width=1),
                                 name=f"{name} ({len(recv)})"))
    self_ct = np.diag(ct)
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers+text", text=_neuron_ids(result, n),
                             textposition="top center",
                             marker=dict(size=12, color=["#d62728" if v > 0 else "#1f77b4" if v < 0
                                                         else "#cccccc" for v in self_ct],
                                         line=dict(color="black", width=1)),
                             name="neurons (colour: self-history type)"))
    fig.update_layout(title="Learned connectome (state-constant connection types)",
                      xaxis=dict(visible=False, title="layout x (a.u.)"),
                      yaxis=dict(visible=False, scaleanchor="x", title="layout y (a.u.)"),
                      height=520)
    return fig


def transition_figure(result: Result) -> go.Figure:
    """Transition matrix p(z_{t+1} = j | z_t = i) as a heatmap (probability per bin)."""
    p = result.arrays["transition"]
    k = p.shape[0]
    fig = go.Figure(go.Heatmap(z=p, x=list(range(k)), y=list(range(k)), zmin=0, zmax=1,
                               colorscale="Viridis", text=np.round(p, 3), texttemplate="%{text}",
                               colorbar=dict(title="probability per bin")))
    fig.update_layout(title="Transition matrix", xaxis_title="next state (index)",
                      yaxis_title="current state (index)", yaxis_autorange="reversed")
    return fig


def k_curve_figure(result: Result) -> go.Figure:
    """Cross-validated held-out bits/spike against the number of states K."""
    fig = go.Figure()
    if "k_values" not in result.arrays:
        fig.update_layout(title="No K curve (set k_values to compute one)")
        return fig
    ks, v = result.arrays["k_values"], result.arrays["k_curve_bits_per_spike"]
    for f in range(v.shape[1]):
        fig.add_trace(go.Scatter(x=ks, y=v[:, f], mode="markers", name=f"fold {f}",
                                 marker=dict(color="#999999")))
    fig.add_trace(go.Scatter(x=ks, y=v.mean(1), mode="lines+markers", name="mean",
                             line=dict(color="black")))
    fig.update_layout(title="K selection (held-out sequences)", xaxis_title="number of states K (count)",
                      yaxis_title="held-out information (bits/spike)")
    return fig


def objective_figure(result: Result) -> go.Figure:
    """Training objective (log marginal likelihood + log prior, nats) over EM epochs."""
    obj = result.arrays["objective"]
    fig = go.Figure(go.Scatter(x=np.arange(1, len(obj) + 1), y=obj, mode="lines+markers"))
    fig.update_layout(title="EM objective", xaxis_title="epoch (count)",
                      yaxis_title="log-likelihood + log prior (nats)")
    return fig
