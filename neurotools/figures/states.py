"""Inferred states against a file's interval tables, for any analysis that labels time bins."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from neurotools.compare import state_occupancy
from neurotools.data.recording import Recording
from neurotools.errors import UserError


def state_interval_heatmap(bin_times: np.ndarray, bin_size: float, states: np.ndarray,
                           recording: Recording, interval_table: str,
                           interval_column: str | None = None) -> go.Figure:
    """Fraction of time each group of the file's intervals spends in each inferred state.

    Parameters
    ----------
    bin_times, bin_size, states
        As in :func:`neurotools.compare.state_occupancy` (s, s, labels).
    recording : Recording
        The analysed recording (its interval tables).
    interval_table : str
        Name of the interval table.
    interval_column : str, optional
        Column grouping the intervals (e.g. a stimulus category); all intervals together if None.

    Raises
    ------
    UserError
        When the table or column does not exist or no interval overlaps the analysed bins.
    """
    if interval_table not in recording.intervals:
        raise UserError(f"The recording has no interval table '{interval_table}' "
                        f"(tables: {', '.join(recording.intervals) or 'none'}).")
    occ = state_occupancy(bin_times, bin_size, states, recording.intervals[interval_table],
                          interval_column)
    text = [[f"{100 * v:.0f}%" for v in row] for row in occ.fraction]
    hover = np.dstack([occ.seconds, np.repeat(occ.n_intervals[:, None], len(occ.states), 1)])
    label = f"{interval_table}.{interval_column}" if interval_column else interval_table
    fig = go.Figure(go.Heatmap(
        z=occ.fraction, x=[f"state {k}" for k in occ.states], y=occ.groups, zmin=0, zmax=1,
        colorscale="Blues", text=text, texttemplate="%{text}", customdata=hover,
        colorbar=dict(title="fraction of time"),
        hovertemplate=("%{y}<br>%{x}: %{z:.1%} of the time<br>%{customdata[0]:.1f} s in "
                       "%{customdata[1]} intervals<extra></extra>")))
    fig.update_xaxes(title_text="inferred state")
    fig.update_yaxes(title_text=label, type="category", autorange="reversed")
    fig.update_layout(title=f"Time in each state per {label} (rows sum to 100%)",
                      height=200 + 30 * len(occ.groups))
    return fig
