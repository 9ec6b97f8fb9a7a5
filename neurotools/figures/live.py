"""Live traces of a running job (e.g. each MCMC chain's log-joint), for the job panel."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from neurotools.figures.recording import PALETTE

#: How a traced value is named on the axis.
VALUE_TITLES = {"log_joint": "log-joint", "log_lik": "log-likelihood", "clusters": "clusters",
                "states": "occupied states"}


def live_trace_figure(traces: list[dict[str, Any]], value: str) -> go.Figure:
    """One line per series (chain) of ``value`` against the iteration.

    Parameters
    ----------
    traces : list of dict
        As returned by :func:`neurotools.analyses.live.read_live_traces`.
    value : str
        Name of the traced value (e.g. ``"log_joint"``).
    """
    fig = go.Figure()
    unit = ""
    for i, t in enumerate(traces):
        if value not in t.get("y", {}):
            continue
        unit = t.get("units", {}).get(value, unit)
        fig.add_trace(go.Scatter(x=t["x"], y=t["y"][value], mode="lines", name=t["label"],
                                 line=dict(color=PALETTE[i % len(PALETTE)])))
    title = VALUE_TITLES.get(value, value)
    fig.update_layout(title=f"{title} while the fit runs", height=260,
                      margin=dict(l=60, r=20, t=40, b=40))
    fig.update_xaxes(title_text="iteration")
    fig.update_yaxes(title_text=f"{title} ({unit})" if unit else title)
    return fig
