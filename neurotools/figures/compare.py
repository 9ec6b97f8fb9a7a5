"""Figures of the Compare page: state sequences on one time axis and their agreement heatmap.

Pure functions from :mod:`neurotools.compare` objects to plotly figures; every time axis is in
seconds, agreement values are dimensionless.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from neurotools.compare import METRIC_TITLES, LabelTrack, agreement_matrix, segments
from neurotools.figures.recording import state_color

#: Most segments drawn per row (later ones are left out and the title says so).
MAX_ROW_SEGMENTS = 5000


def state_rows_figure(tracks: Sequence[LabelTrack], t_range: tuple[float, float] | None = None,
                      title: str = "State sequences") -> go.Figure:
    """One row per state sequence on a shared time axis, each state a coloured band.

    Parameters
    ----------
    tracks : sequence of LabelTrack
        Result rows first, then reference rows (the file's intervals and state labels).
    t_range : (float, float), optional
        Time window in seconds (default: every track's span).
    title : str
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        x: time (s); y: one row per track (top to bottom in the given order); one legend entry per
        (track, state); hover gives the state, start, stop and duration.
    """
    tracks = [t for t in tracks if len(t.starts)]
    if t_range is None and tracks:
        t_range = (min(t.span[0] for t in tracks), max(t.span[1] for t in tracks))
    fig = go.Figure()
    names = [_row_name(t) for t in tracks]
    clipped = False
    for t, row in zip(tracks, names):
        segs = segments(t, *(t_range or (None, None)))
        if len(segs) > MAX_ROW_SEGMENTS:
            segs, clipped = segs[:MAX_ROW_SEGMENTS], True
        if not segs:
            continue
        s = np.array([a for a, _, _ in segs])
        e = np.array([b for _, b, _ in segs])
        k = np.array([c for _, _, c in segs])
        for code in np.unique(k):
            m = k == code
            cat = t.categories[code] if 0 <= code < len(t.categories) else f"state {code}"
            fig.add_trace(go.Bar(
                orientation="h", y=[row] * int(m.sum()), x=e[m] - s[m], base=s[m],
                marker=dict(color=state_color(t, int(code)), line=dict(width=0)),
                name=f"{t.name}: {cat}", legendgroup=t.name,
                customdata=np.stack([s[m], e[m]], axis=1),
                hovertemplate=(f"{t.name}<br>{cat}<br>%{{customdata[0]:.3f}}-%{{customdata[1]:.3f}} s"
                               "<br>%{x:.3f} s<extra></extra>"),
            ))
    note = f" (first {MAX_ROW_SEGMENTS:,} segments per row)" if clipped else ""
    fig.update_xaxes(title_text="time (s)", range=list(t_range) if t_range else None)
    fig.update_yaxes(title_text="sequence", categoryorder="array", categoryarray=names[::-1],
                     type="category")
    fig.update_layout(
        title=dict(text=title + note, font=dict(size=14)), barmode="overlay", bargap=0.25,
        template="plotly_white", height=row_figure_height(len(tracks), len(fig.data)),
        margin=dict(l=70, r=20, t=50, b=50), legend=dict(orientation="v", font=dict(size=10)),
    )
    return fig


def row_figure_height(n_rows: int, n_legend_entries: int) -> int:
    """Height (px) that holds every row and the whole legend without a scroll bar.

    Parameters
    ----------
    n_rows : int
        Rows (sequences) of the figure: at least 48 px each; plotly puts a 10 px gap between
        their legend groups.
    n_legend_entries : int
        Legend entries: about 24 px each at font size 10.

    Returns
    -------
    int
        Figure height in pixels.
    """
    return max(160 + 48 * max(n_rows, 1), 120 + 24 * n_legend_entries + 10 * n_rows)


def _row_name(track: LabelTrack) -> str:
    return track.name if track.origin == "result" else f"{track.name} (file)"


def agreement_heatmap(rows: Sequence[dict], names: Sequence[str], metric: str = "ari",
                      title: str = "") -> go.Figure:
    """Pairwise agreement of sequences (or partitions) as a symmetric heatmap with values.

    Parameters
    ----------
    rows : sequence of dict
        Rows of :func:`neurotools.compare.state_agreement` or ``partition_agreement``.
    names : sequence of str
        Row/column order (track or partition names).
    metric : str
        ``"ari"``, ``"nmi"`` or ``"accuracy"``.
    title : str
        Figure title (default: the metric).

    Returns
    -------
    plotly.graph_objects.Figure
        Colour: the metric (dimensionless, 1 on the diagonal; blank for pairs without overlap).
    """
    m = agreement_matrix(rows, names, metric)
    label = METRIC_TITLES[metric]
    text = np.where(np.isfinite(m), np.vectorize(lambda v: f"{v:.2f}")(np.nan_to_num(m)), "")
    fig = go.Figure(go.Heatmap(
        z=m, x=list(names), y=list(names), zmin=-0.2 if metric == "ari" else 0.0, zmax=1.0,
        colorscale="Viridis", text=text, texttemplate="%{text}",
        colorbar=dict(title=dict(text=f"{label} (dimensionless)")),
        hovertemplate="%{y}<br>vs %{x}<br>" + label + " = %{z:.3f}<extra></extra>",
    ))
    fig.update_xaxes(title_text="sequence", tickangle=-30)
    fig.update_yaxes(title_text="sequence", autorange="reversed")
    fig.update_layout(title=dict(text=title or f"Pairwise agreement: {label}", font=dict(size=14)),
                      template="plotly_white", height=260 + 40 * len(names),
                      margin=dict(l=70, r=20, t=50, b=50))
    return fig
