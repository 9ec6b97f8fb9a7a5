"""Figures of a connectome result: rank scan, component gallery, communities, activity timeline.

Pure functions from a :class:`~neurotools.analyses.base.Result` of ``connectome`` (and, for the
stimulus/behaviour intervals, its :class:`~neurotools.data.Recording`) to plotly figures; every
axis carries its unit.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from neurotools.analyses.base import Result
from neurotools.analyses.connectome.communities import pairs_to_matrix
from neurotools.data.recording import Recording

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
           "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
#: Most edges drawn in a community graph.
MAX_EDGES = 400
#: Most interval rows shaded behind a time course.
MAX_INTERVALS = 300


def _color(k: int) -> str:
    return PALETTE[int(k) % len(PALETTE)]


def n_components(result: Result) -> int:
    """Number of NTF components R."""
    return int(np.asarray(result.arrays["time_factors"]).shape[0])


def rank_selection_figure(result: Result) -> go.Figure:
    """Best and per-restart relative error, and restart similarity, against the rank.

    Parameters
    ----------
    result : Result
        A ``connectome`` result.
    """
    a = result.arrays
    ranks = np.asarray(a["ranks"])
    err = np.asarray(a["rank_errors"])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for j in range(err.shape[1]):
        fig.add_trace(go.Scatter(x=ranks, y=err[:, j], mode="markers", marker=dict(color="#999", size=6),
                                 name="restarts", showlegend=j == 0, legendgroup="restarts"))
    fig.add_trace(go.Scatter(x=ranks, y=err[:, 0], mode="lines+markers", name="best error",
                             line=dict(color=PALETTE[0])))
    fig.add_trace(go.Scatter(x=ranks, y=a["rank_similarity"], mode="lines+markers",
                             name="restart similarity", line=dict(color=PALETTE[1], dash="dot")),
                  secondary_y=True)
    chosen = int(result.metrics.get("rank", ranks[0]))
    fig.add_vline(x=chosen, line=dict(color="#333", dash="dash"),
                  annotation_text=f"rank {chosen}", annotation_position="top")
    fig.update_xaxes(title_text="rank (number of components)", dtick=1)
    fig.update_yaxes(title_text="relative reconstruction error (unitless)", secondary_y=False)
    fig.update_yaxes(title_text="restart similarity (factor match score, 0-1)", range=[0, 1.05],
                     secondary_y=True)
    fig.update_layout(title="Rank selection", template="plotly_white", height=380)
    return fig


def interval_shapes(recording: Recording | None, t0: float, t1: float,
                    offset: float = 0.0) -> list[dict]:
    """Shaded rectangles for the recording's interval tables within [t0, t1] (seconds).

    ``offset`` (s) is subtracted from the interval times (trials mode: time from trial start).
    """
    if recording is None:
        return []
    shapes = []
    for k, (name, tab) in enumerate(recording.intervals.items()):
        if name == "trials" and offset:
            continue
        for s, e in list(zip(tab.start, tab.stop))[:MAX_INTERVALS]:
            s, e = float(s) - offset, float(e) - offset
            if e < t0 or s > t1:
                continue
            shapes.append(dict(type="rect", xref="x", yref="paper", x0=s, x1=e, y0=0, y1=1,
                               fillcolor=_color(k + 3), opacity=0.12, line_width=0,
                               layer="below", name=name))
    return shapes


def component_time_figure(result: Result, component: int,
                          recording: Recording | None = None) -> go.Figure:
    """Time course of one component, over the file's interval tables and behaviour.

    Parameters
    ----------
    result : Result
    component : int
        Component index (0-based).
    recording : Recording, optional
        The (first) input recording, for its intervals and first behaviour series.
    """
    a = result.arrays
    t = np.asarray(a["bin_times"], float)
    y = np.asarray(a["time_factors"][component], float) * float(a["component_weights"][component])
    has_beh = recording is not None and len(recording.behavior) > 0
    fig = make_subplots(rows=2 if has_beh else 1, cols=1, shared_xaxes=True,
                        row_heights=[0.7, 0.3] if has_beh else [1.0], vertical_spacing=0.06)
    fig.add_trace(go.Scatter(x=t, y=y, mode="lines", name=f"component {component + 1}",
                             line=dict(color=_color(component))), row=1, col=1)
    fig.update_layout(shapes=list(fig.layout.shapes) + interval_shapes(recording, t[0], t[-1]))
    if has_beh:
        b = recording.behavior[0]
        data = np.asarray(b.data, float)
        data = data if data.ndim == 1 else np.linalg.norm(data, axis=1)
        sel = (b.timestamps >= t[0]) & (b.timestamps <= t[-1])
        fig.add_trace(go.Scatter(x=b.timestamps[sel], y=data[sel], mode="lines", name=b.name,
                                 line=dict(color="#555", width=1)), row=2, col=1)
        fig.update_yaxes(title_text=f"{b.name} ({b.unit or 'a.u.'})", row=2, col=1)
    fig.update_xaxes(title_text="time (s)", row=2 if has_beh else 1, col=1)
    fig.update_yaxes(title_text="loading x weight (affinity units)", row=1, col=1)
    fig.update_layout(title=f"Component {component + 1}: time course", template="plotly_white",
                      height=360 if not has_beh else 460, showlegend=has_beh)
    return fig


def animal_loadings_figure(result: Result, component: int) -> go.Figure:
    """Loading of one component in every animal (or trial)."""
    a = result.arrays
    names = [str(n) for n in a.get("slice_names", np.arange(a["animal_factors"].shape[1]))]
    fig = go.Figure(go.Bar(x=names, y=a["animal_factors"][component],
                           marker_color=_color(component)))
    label = "trial (row of the trials table)" if result.info.get("third_mode") == "trials" else "animal (input file)"
    fig.update_xaxes(title_text=label)
    fig.update_yaxes(title_text="loading (unit-norm, unitless)")
    fig.update_layout(title=f"Component {component + 1}: loadings per {label.split()[0]}",
                      template="plotly_white", height=320)
    return fig


def community_order(result: Result, component: int) -> np.ndarray:
    """Neuron order for one component: the core community first, then by community and strength."""
    a = result.arrays
    lab = np.asarray(a["communities"][component])
    n = len(lab)
    G = pairs_to_matrix(np.asarray(a["pair_factors"][component]), n)
    core = int(a["core_community"][component])
    key = np.where(lab == core, -1, lab)
    return np.lexsort((-G.sum(1), key))


def affinity_matrix_figure(result: Result, component: int) -> go.Figure:
    """The component's pair loadings as a neuron x neuron matrix, ordered by community."""
    a = result.arrays
    lab = np.asarray(a["communities"][component])
    n = len(lab)
    order = community_order(result, component)
    G = pairs_to_matrix(np.asarray(a["pair_factors"][component]), n)[np.ix_(order, order)]
    names = [str(x) for x in np.asarray(a["neuron_labels"])[order]]
    fig = go.Figure(go.Heatmap(z=G, x=names, y=names, colorscale="Viridis",
                               colorbar=dict(title="pair loading")))
    bounds = np.flatnonzero(np.diff(lab[order])) + 0.5
    for b in bounds:
        fig.add_shape(type="line", x0=b, x1=b, y0=-0.5, y1=n - 0.5, line=dict(color="white", width=1))
        fig.add_shape(type="line", y0=b, y1=b, x0=-0.5, x1=n - 0.5, line=dict(color="white", width=1))
    fig.update_xaxes(title_text="neuron (ordered by community)", showticklabels=n <= 80)
    fig.update_yaxes(title_text="neuron (ordered by community)", autorange="reversed",
                     showticklabels=n <= 80)
    fig.update_layout(title=f"Component {component + 1}: affinity pattern "
                            f"({int(lab.max()) + 1} communities)",
                      template="plotly_white", height=520)
    return fig


def community_graph_figure(result: Result, component: int) -> go.Figure:
    """Neurons as nodes on a circle grouped by community, the strongest pairs as edges."""
    a = result.arrays
    lab = np.asarray(a["communities"][component])
    n = len(lab)
    order = community_order(result, component)
    angle = np.empty(n)
    angle[order] = 2 * np.pi * np.arange(n) / n
    x, y = np.cos(angle), np.sin(angle)
    w = np.asarray(a["pair_factors"][component], float)
    iu = np.triu_indices(n, 1)
    top = np.argsort(-w)[: min(MAX_EDGES, int(np.sum(w > 0)))]
    fig = go.Figure()
    if len(top):
        ex, ey = [], []
        for k in top:
            i, j = iu[0][k], iu[1][k]
            ex += [x[i], x[j], None]
            ey += [y[i], y[j], None]
        fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", hoverinfo="skip", showlegend=False,
                                 line=dict(color="rgba(80,80,80,0.35)", width=1)))
    names = np.asarray(a["neuron_labels"]).astype(str)
    core = int(a["core_community"][component])
    for c in np.unique(lab):
        sel = lab == c
        fig.add_trace(go.Scatter(
            x=x[sel], y=y[sel], mode="markers", text=names[sel], hoverinfo="text",
            name=f"community {c + 1}" + (" (core)" if c == core else ""),
            marker=dict(size=12 if c == core else 8, color=_color(c),
                        line=dict(color="black", width=1.5 if c == core else 0))))
    fig.update_xaxes(visible=False, title_text="x (layout, unitless)")
    fig.update_yaxes(visible=False, title_text="y (layout, unitless)", scaleanchor="x")
    fig.update_layout(title=f"Component {component + 1}: community graph "
                            f"(top {len(top)} pairs)", template="plotly_white", height=480)
    return fig


def activity_timeline_figure(result: Result, recording: Recording | None = None) -> go.Figure:
    """Which component's core community is active when: components x time, with intervals.

    Each row is a component's time course scaled to a maximum of 1; hovering names the neurons
    of its core community.
    """
    a = result.arrays
    t = np.asarray(a["bin_times"], float)
    tf = np.asarray(a["time_factors"], float)
    z = tf / np.where(tf.max(1, keepdims=True) > 0, tf.max(1, keepdims=True), 1.0)
    names = np.asarray(a["neuron_labels"]).astype(str)
    rows = []
    for r in range(tf.shape[0]):
        members = names[np.asarray(a["communities"][r]) == int(a["core_community"][r])]
        more = "..." if len(members) > 6 else ""
        rows.append(f"C{r + 1}: {', '.join(members[:6])}{more}")
    fig = go.Figure(go.Heatmap(z=z, x=t, y=rows, colorscale="Blues", zmin=0, zmax=1,
                               colorbar=dict(title="activity (max = 1)")))
    outline = dict(fillcolor="rgba(0,0,0,0)", line=dict(color=_color(3), width=1), opacity=0.6)
    fig.update_layout(shapes=[dict(sh, **outline) for sh in interval_shapes(recording, t[0], t[-1])])
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="component (core community neurons)")
    fig.update_layout(title="Community activity timeline", template="plotly_white",
                      height=160 + 40 * tf.shape[0])
    return fig
