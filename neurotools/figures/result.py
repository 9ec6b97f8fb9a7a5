"""A figure for any Result: the analysis's own summary figure, else a generic array overview."""

from __future__ import annotations

import importlib

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from neurotools.analyses import ANALYSES
from neurotools.analyses.base import Result

#: Axis labels of well-known array names: (x label, y label).
_AXES = {
    "time_factors": ("time bin", "component"),
    "neuron_coclustering": ("neuron", "neuron"),
    "weights": ("sending neuron", "receiving neuron"),
    "attention_connectivity": ("source neuron", "target neuron"),
    "state_posterior": ("state", "time bin"),
    "loglik_trace": ("iteration", "log joint"),
    "train_loss": ("step", "loss (nats/token)"),
    "val_loss": ("step", "loss (nats/token)"),
    "fano_factor": ("unit", "bin width index"),
    "mean_rate_hz": ("unit", "bin width index"),
}


def result_figure(result: Result, max_panels: int = 4) -> go.Figure:
    """Summary figure of a result.

    Uses ``neurotools.figures.<package>.summary_figure(result)`` when the analysis provides it;
    otherwise plots up to ``max_panels`` of the result's arrays (2-D as heatmaps, 1-D as lines).
    """
    module_path = ANALYSES.get(result.analysis, "")
    if module_path:
        pkg = module_path.rsplit(".", 1)[-1]
        try:
            mod = importlib.import_module(f"neurotools.figures.{pkg}")
        except ModuleNotFoundError:
            mod = None
        if mod is not None and hasattr(mod, "summary_figure"):
            return mod.summary_figure(result)
    names = [k for k, v in result.arrays.items() if np.asarray(v).ndim in (1, 2) and np.asarray(v).dtype.kind in "biuf"
             and k not in ("bin_times", "session_index")][:max_panels]
    fig = make_subplots(rows=max(len(names), 1), cols=1, subplot_titles=names or ["(no arrays)"])
    for i, name in enumerate(names, start=1):
        arr = np.asarray(result.arrays[name], dtype=float)
        xl, yl = _AXES.get(name, ("index", name))
        if arr.ndim == 2:
            fig.add_trace(go.Heatmap(z=arr, colorscale="Viridis", showscale=False, name=name), row=i, col=1)
        else:
            fig.add_trace(go.Scatter(y=arr, mode="lines", name=name), row=i, col=1)
        fig.update_xaxes(title_text=xl, row=i, col=1)
        fig.update_yaxes(title_text=yl, row=i, col=1)
    fig.update_layout(height=300 * max(len(names), 1), showlegend=False,
                      title=f"{result.analysis} result (seed {result.seed})", template="plotly_white")
    return fig
