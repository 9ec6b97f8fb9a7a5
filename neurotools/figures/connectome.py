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
from neurotools.analyses.connectome.selection import MIN_SIMILARITY
from neurotools.data.recording import Recording

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
           "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
#: Most edges drawn in a community graph.
MAX_EDGES = 400
#: Most interval rows shaded behind a time course.
MAX_INTERVALS = 300
#: Smallest padding (relative-error units) above and below the rank-selection error curve, so a
#: single rank or a flat curve does not spread rounding noise over the whole axis.
ERROR_PAD = 0.01
#: Height (px) of one component row of the activity timeline.
TIMELINE_ROW_PX = 36
#: Smallest height (px) of the activity timeline: room for the title, the axis titles and a
#: readable colour bar at rank 1.
TIMELINE_MIN_PX = 360
#: Height (px) of the timeline outside its rows (title, time axis, margins).
TIMELINE_FRAME_PX = 140
#: Core-community neurons named in a timeline hover (the rest are counted).
HOVER_NAMES = 40
#: Neuron names per line of a timeline hover.
HOVER_NAMES_PER_LINE = 6


def _color(k: int) -> str:
    return PALETTE[int(k) % len(PALETTE)]


def count_noun(n: int, singular: str, plural: str | None = None) -> str:
    """``"1 community"``, ``"3 communities"``: a count with its noun in the right number.

    Parameters
    ----------
    n : int
        The count.
    singular : str
        The noun for one.
    plural : str, optional
        The noun for any other count (default: ``singular + "s"``, ``-y`` -> ``-ies``).

    Returns
    -------
    str
    """
    if plural is None:
        plural = singular[:-1] + "ies" if singular.endswith("y") else singular + "s"
    return f"{int(n)} {singular if int(n) == 1 else plural}"


def n_components(result: Result) -> int:
    """Number of NTF components R."""
    return int(np.asarray(result.arrays["time_factors"]).shape[0])


def rank_was_scanned(result: Result) -> bool:
    """Whether the rank was chosen by a scan (``rank=auto``) rather than fixed by the user.

    Parameters
    ----------
    result : Result
        A ``connectome`` result.

    Returns
    -------
    bool
        True for ``rank=auto`` (for a result without recorded parameters: more than one rank fitted).
    """
    if "rank" in result.params:
        return str(result.params["rank"]) == "auto"
    return len(np.atleast_1d(result.arrays.get("ranks", []))) > 1


def rank_metric(result: Result) -> tuple[str, str]:
    """Label and value of the page's rank metric.

    Parameters
    ----------
    result : Result
        A ``connectome`` result.

    Returns
    -------
    label, value : str
        ``("Rank (suggested)", "3")`` after a rank scan, ``("Rank (fixed)", "2")`` when the user
        gave the rank and nothing was scanned.
    """
    rank = result.metrics.get("rank")
    return ("Rank (suggested)" if rank_was_scanned(result) else "Rank (fixed)"), f"{rank}"


def _error_range(err: np.ndarray) -> list[float]:
    """Range of the relative-error axis: the data padded by at least :data:`ERROR_PAD`."""
    finite = np.asarray(err, float)[np.isfinite(err)]
    if not finite.size:
        return [0.0, 1.0]
    lo, hi = float(finite.min()), float(finite.max())
    pad = max(0.1 * (hi - lo), ERROR_PAD)
    return [max(0.0, lo - pad), hi + pad]


def rank_selection_figure(result: Result) -> go.Figure:
    """Best and per-restart relative error, and restart similarity, against the rank.

    The dashed horizontal line is the restart similarity a rank needs to be suggested
    (:data:`~neurotools.analyses.connectome.selection.MIN_SIMILARITY`); the vertical one marks the
    rank kept, "suggested" after a scan, "fixed" when the user gave it.

    Parameters
    ----------
    result : Result
        A ``connectome`` result.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    a = result.arrays
    ranks = np.atleast_1d(np.asarray(a["ranks"]))
    err = np.asarray(a["rank_errors"], float).reshape(len(ranks), -1)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for j in range(err.shape[1]):
        fig.add_trace(go.Scatter(x=ranks, y=err[:, j], mode="markers", marker=dict(color="#999", size=6),
                                 name="restarts", showlegend=j == 0, legendgroup="restarts"))
    fig.add_trace(go.Scatter(x=ranks, y=err[:, 0], mode="lines+markers", name="best error",
                             line=dict(color=PALETTE[0])))
    fig.add_trace(go.Scatter(x=ranks, y=a["rank_similarity"], mode="lines+markers",
                             name="restart similarity", line=dict(color=PALETTE[1], dash="dot")),
                  secondary_y=True)
    fig.add_shape(type="line", xref="x domain", x0=0, x1=1, yref="y2", y0=MIN_SIMILARITY,
                  y1=MIN_SIMILARITY, line=dict(color=PALETTE[1], dash="dash", width=1))
    fig.add_annotation(xref="x domain", x=1, yref="y2", y=MIN_SIMILARITY, xanchor="right",
                       yanchor="bottom", showarrow=False, font=dict(size=11, color=PALETTE[1]),
                       bgcolor="rgba(255,255,255,0.8)",
                       text=f"similarity threshold {MIN_SIMILARITY:g} (rank suggestion)")
    chosen = int(result.metrics.get("rank", ranks[0]))
    how = "suggested" if rank_was_scanned(result) else "fixed"
    fig.add_vline(x=chosen, line=dict(color="#333", dash="dash"),
                  annotation_text=f"rank {chosen} ({how})", annotation_position="top")
    fig.update_xaxes(title_text="rank (number of components)", tickmode="linear", tick0=0, dtick=1,
                     range=[float(ranks.min()) - 0.5, float(ranks.max()) + 0.5])
    fig.update_yaxes(title_text="relative reconstruction error (unitless)", secondary_y=False,
                     range=_error_range(err), tickformat=".3~g")
    fig.update_yaxes(title_text="restart similarity (factor match score, 0-1)", range=[0, 1.05],
                     tickmode="linear", tick0=0, dtick=0.2, showgrid=False, secondary_y=True)
    fig.update_layout(title="Rank selection", template="plotly_white", height=380)
    return fig


def interval_shapes(recording: Recording | None, t0: float, t1: float,
                    offset: float = 0.0) -> list[dict]:
    """Shaded rectangles for the recording's interval tables within [t0, t1] (seconds).

    Each table gets its own colour and one legend entry named after it. An interval that covers
    the whole axis is left out: it would tint the entire plot and mark nothing (e.g. the first
    trial in trials mode, whose clock the axis is on).

    Parameters
    ----------
    recording : Recording or None
        The recording whose ``intervals`` are drawn (nothing when None).
    t0, t1 : float
        The time axis's first and last value (s).
    offset : float
        Subtracted from the interval times (s); when non-zero (time from trial start), the trials
        table itself is skipped.

    Returns
    -------
    list of dict
        Plotly shape specifications (``layout.shapes``).
    """
    if recording is None:
        return []
    shapes = []
    for k, (name, tab) in enumerate(recording.intervals.items()):
        if name == "trials" and offset:
            continue
        first = True
        for s, e in list(zip(tab.start, tab.stop))[:MAX_INTERVALS]:
            s, e = float(s) - offset, float(e) - offset
            if e < t0 or s > t1 or (s <= t0 and e >= t1):
                continue
            shapes.append(dict(type="rect", xref="x", yref="paper", x0=s, x1=e, y0=0, y1=1,
                               fillcolor=_color(k + 3), opacity=0.12, line_width=0,
                               layer="below", name=f"{name} (interval table)",
                               legendgroup=f"intervals-{name}", showlegend=first))
            first = False
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
    shaded = interval_shapes(recording, t[0], t[-1])
    fig.update_layout(shapes=list(fig.layout.shapes) + shaded)
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
                      height=360 if not has_beh else 460, showlegend=has_beh or bool(shaded))
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
                            f"({count_noun(len(np.unique(lab)), 'community')})",
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
                            f"(top {count_noun(len(top), 'pair')})", template="plotly_white", height=480)
    return fig


def core_members(result: Result, component: int) -> list[str]:
    """Names of the neurons in one component's core community.

    Parameters
    ----------
    result : Result
        A ``connectome`` result.
    component : int
        Component index (0-based).

    Returns
    -------
    list of str
    """
    a = result.arrays
    names = np.asarray(a["neuron_labels"]).astype(str)
    lab = np.asarray(a["communities"][component])
    return [str(x) for x in names[lab == int(a["core_community"][component])]]


def _names_html(names: list[str]) -> str:
    """Neuron names for a hover: :data:`HOVER_NAMES_PER_LINE` a line, at most :data:`HOVER_NAMES`."""
    shown = names[:HOVER_NAMES]
    lines = [", ".join(shown[i:i + HOVER_NAMES_PER_LINE])
             for i in range(0, len(shown), HOVER_NAMES_PER_LINE)]
    if len(names) > len(shown):
        lines.append(f"... and {len(names) - len(shown)} more")
    return "<br>".join(lines)


def timeline_height(n_rows: int) -> int:
    """Height (px) of the activity timeline for ``n_rows`` components.

    :data:`TIMELINE_ROW_PX` per row plus :data:`TIMELINE_FRAME_PX`, at least
    :data:`TIMELINE_MIN_PX`.
    """
    return max(TIMELINE_MIN_PX, TIMELINE_FRAME_PX + TIMELINE_ROW_PX * int(n_rows))


def activity_timeline_figure(result: Result, recording: Recording | None = None) -> go.Figure:
    """Which component's core community is active when: components x time, with intervals.

    Each row is a component's time course scaled to a maximum of 1. Rows are labelled
    "component r (n=k)" (k: neurons in its core community); hovering a row names those neurons.
    The recording's interval tables are outlined.

    Parameters
    ----------
    result : Result
        A ``connectome`` result.
    recording : Recording, optional
        The (first) input recording, for its interval tables.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    a = result.arrays
    t = np.asarray(a["bin_times"], float)
    tf = np.asarray(a["time_factors"], float)
    peak = tf.max(1, keepdims=True)
    z = tf / np.where(peak > 0, peak, 1.0)
    R = tf.shape[0]
    members = [core_members(result, r) for r in range(R)]
    ticks = [f"component {r + 1} (n={len(m)})" for r, m in enumerate(members)]
    # the category carries the names (for the hover), the tick shows only the short label
    rows = [f"{tick}<br>core community ({count_noun(len(m), 'neuron')}):<br>{_names_html(m)}"
            for tick, m in zip(ticks, members)]
    fig = go.Figure(go.Heatmap(
        z=z, x=t, y=rows, colorscale="Blues", zmin=0, zmax=1,
        hovertemplate="%{y}<br>time %{x:.1f} s<br>activity %{z:.2f} of its maximum<extra></extra>",
        colorbar=dict(title=dict(text="activity<br>(fraction<br>of max)", side="top"),
                      lenmode="fraction", len=1.0, thickness=14, tickvals=[0, 0.5, 1])))
    # outlines above the (opaque) heatmap, each in its table's colour
    shaded = [{**{k: v for k, v in sh.items() if k != "line_width"}, "fillcolor": "rgba(0,0,0,0)",
               "layer": "above", "opacity": 0.8, "line": dict(color=sh["fillcolor"], width=1.5)}
              for sh in interval_shapes(recording, t[0], t[-1])]
    fig.update_layout(shapes=shaded)
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text="component (n = core neurons)", tickmode="array", tickvals=rows,
                     ticktext=ticks, automargin=True)
    fig.update_layout(title="Community activity timeline", template="plotly_white",
                      height=timeline_height(R), margin=dict(t=70, b=60),
                      showlegend=bool(shaded), legend=dict(orientation="h", x=1, xanchor="right",
                                                           y=1.02, yanchor="bottom"))
    return fig
