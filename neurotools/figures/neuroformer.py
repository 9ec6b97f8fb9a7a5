"""Figures of a neuroformer result: losses, generated vs real spikes, behaviour, connectivity.

Pure functions returning :class:`plotly.graph_objects.Figure`, with units on every axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from neurotools.analyses.base import Result


def loss_figure(train_loss: Sequence[float], val_steps: Sequence[int] = (),
                val_loss: Sequence[float] = (), val_accuracy: Sequence[float] = (),
                title: str = "Training") -> go.Figure:
    """Train and validation loss (nats per token) against step, validation accuracy on the right.

    Parameters
    ----------
    train_loss : sequence of float, length S
        Loss of steps 1..S (nats per target token).
    val_steps, val_loss, val_accuracy : sequences of equal length
        Evaluation steps, validation loss (nats per token) and token accuracy (fraction).
    """
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    steps = np.arange(1, len(train_loss) + 1)
    fig.add_trace(go.Scatter(x=steps, y=list(train_loss), name="train loss", mode="lines",
                             line={"width": 1}))
    if len(val_steps):
        fig.add_trace(go.Scatter(x=list(val_steps), y=list(val_loss), name="validation loss",
                                 mode="lines+markers"))
    if len(val_accuracy):
        fig.add_trace(go.Scatter(x=list(val_steps), y=list(val_accuracy), name="validation accuracy",
                                 mode="lines+markers", line={"dash": "dot"}), secondary_y=True)
    fig.update_xaxes(title_text="optimisation step (count)")
    fig.update_yaxes(title_text="loss (nats / token)", secondary_y=False)
    fig.update_yaxes(title_text="token accuracy (fraction)", secondary_y=True, range=[0, 1])
    fig.update_layout(title=title, legend={"orientation": "h", "y": -0.25})
    return fig


def loss_figure_from_records(records: list[dict]) -> go.Figure:
    """:func:`loss_figure` from the records of a checkpoint directory's ``metrics.jsonl``."""
    train = {r["step"]: r["train_loss"] for r in records if "train_loss" in r}
    val = sorted((r["step"], r["val_loss"], r.get("val_accuracy", np.nan)) for r in records if "val_loss" in r)
    steps = sorted(train)
    fig = loss_figure([train[s] for s in steps], [v[0] for v in val], [v[1] for v in val],
                      [v[2] for v in val], title=f"Training (step {steps[-1] if steps else 0})")
    return fig


def result_loss_figure(result: Result) -> go.Figure:
    """:func:`loss_figure` of a result."""
    a = result.arrays
    return loss_figure(a["train_loss"], a.get("val_eval_steps", ()), a.get("val_eval_loss", ()),
                       a.get("val_eval_accuracy", ()))


def raster_figure(result: Result, trial: int = 0) -> go.Figure:
    """Real (left) and generated (right) spikes of one held-out trial.

    Spikes are drawn at the centre of their token step; x is time from the trial start (s).
    """
    a = result.arrays
    real, gen = a["real_counts"], a["generated_counts"]
    trial = int(np.clip(trial, 0, len(real) - 1))
    step = float(result.info.get("token_step_s", 0.01))
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=("held-out data", "generated"))
    for col, counts in ((1, real[trial]), (2, gen[trial])):
        t, n = np.nonzero(counts)
        fig.add_trace(go.Scattergl(x=(t + 0.5) * step, y=n, mode="markers", showlegend=False,
                                   marker={"symbol": "line-ns-open", "size": 6, "color": "black"}),
                      row=1, col=col)
        fig.update_xaxes(title_text="time from trial start (s)", row=1, col=col)
    fig.update_yaxes(title_text="neuron (index)", row=1, col=1)
    fig.update_layout(title=f"Trial {trial}: real vs generated raster")
    return fig


def psth_figure(result: Result, neurons: Sequence[int] | None = None, sigma_bins: float = 5.0) -> go.Figure:
    """Trial-averaged PSTHs (Hz) of real vs generated spikes for a few neurons, and r per neuron.

    Parameters
    ----------
    result : Result
    neurons : sequence of int, optional
        Neurons to show (default: the four most reliable).
    sigma_bins : float
        Gaussian smoothing of the shown PSTHs, in token steps.
    """
    from scipy.ndimage import gaussian_filter1d

    a = result.arrays
    t = a["psth_times"]
    rel = np.nan_to_num(a["psth_split_half_r"], nan=-1)
    if neurons is None:
        neurons = list(np.argsort(-rel)[:4])
    fig = make_subplots(rows=1, cols=2, column_widths=[0.65, 0.35],
                        subplot_titles=("PSTH: real (solid) vs generated (dashed)",
                                        "per-neuron correlation"))
    for k, n in enumerate(neurons):
        color = f"hsl({int(360 * k / max(1, len(neurons)))},70%,40%)"
        for key, dash, label in (("psth_real", "solid", "real"), ("psth_generated", "dash", "generated")):
            y = gaussian_filter1d(a[key][:, n], sigma_bins) if sigma_bins > 0 else a[key][:, n]
            fig.add_trace(go.Scatter(x=t, y=y, mode="lines", name=f"neuron {n} {label}",
                                     line={"color": color, "dash": dash}), row=1, col=1)
    fig.add_trace(go.Scatter(x=a["psth_split_half_r"], y=a["psth_r"], mode="markers",
                             name="neurons", marker={"color": "black", "size": 6}), row=1, col=2)
    fig.add_trace(go.Scatter(x=[-1, 1], y=[-1, 1], mode="lines", name="identity",
                             line={"color": "gray", "dash": "dot"}), row=1, col=2)
    fig.update_xaxes(title_text="time from trial start (s)", row=1, col=1)
    fig.update_yaxes(title_text="firing rate (Hz)", row=1, col=1)
    fig.update_xaxes(title_text="split-half r of real data (Pearson)", range=[-1, 1], row=1, col=2)
    fig.update_yaxes(title_text="generated vs real r (Pearson)", range=[-1, 1], row=1, col=2)
    m = result.metrics
    fig.update_layout(title=f"Generated vs held-out PSTH: median r = {m.get('psth_pearson_r', np.nan):.2f} "
                            f"(split-half {m.get('psth_split_half_r', np.nan):.2f})")
    return fig


def behavior_figure(result: Result) -> go.Figure:
    """Behaviour over the test windows: real, fine-tuned prediction and from-scratch prediction."""
    a, m = result.arrays, result.metrics
    fig = go.Figure()
    if "behavior_true" not in a:
        fig.update_layout(title="No behaviour series was predicted")
        fig.update_xaxes(title_text="time (s)")
        fig.update_yaxes(title_text="behaviour (its unit)")
        return fig
    t = a["bin_times"]
    y, p, s = (np.asarray(a[k]) for k in ("behavior_true", "behavior_pred", "behavior_pred_scratch"))
    if y.ndim > 1:
        y, p, s = y[:, 0], p[:, 0], s[:, 0]
    fig.add_trace(go.Scatter(x=t, y=y, name="real", mode="lines", line={"color": "black"}))
    fig.add_trace(go.Scatter(x=t, y=p, name=f"pretrained + fine-tuned (R² {m.get('behavior_r2', np.nan):.2f})",
                             mode="lines"))
    fig.add_trace(go.Scatter(x=t, y=s, name=f"from scratch (R² {m.get('behavior_r2_scratch', np.nan):.2f})",
                             mode="lines", line={"dash": "dot"}))
    fig.update_xaxes(title_text="time (s, file clock)")
    fig.update_yaxes(title_text=f"{result.info.get('behavior', 'behaviour')} (file units)")
    fig.update_layout(title="Behaviour on held-out windows", legend={"orientation": "h", "y": -0.25})
    return fig


def connectivity_figure(result: Result) -> go.Figure:
    """Attention connectivity (and the true edges for simulations) as heatmaps, row = target."""
    a, m = result.arrays, result.metrics
    panels = [("attention_connectivity", "attention (a.u.)")]
    if "true_edges" in a:
        panels.append(("true_edges", "true edges"))
    titles = [p[1] for p in panels]
    if "attention_auroc" in m:
        titles[0] += f" - AUROC {m['attention_auroc']:.2f} (cross-cov {m.get('xcov_auroc', np.nan):.2f})"
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=titles, horizontal_spacing=0.12)
    for k, (key, _) in enumerate(panels, start=1):
        fig.add_trace(go.Heatmap(z=a[key], colorscale="Viridis" if k == 1 else "Greys",
                                 showscale=k == 1, colorbar={"title": "attention per token (a.u.)"}),
                      row=1, col=k)
        fig.update_xaxes(title_text="source neuron (index)", row=1, col=k)
        fig.update_yaxes(title_text="target neuron (index)", autorange="reversed", row=1, col=k)
    fig.update_layout(title="Attention-derived directed connectivity")
    return fig


def connectivity_graph(result: Result, top_k: int | None = None) -> go.Figure:
    """The strongest attention edges as a directed graph on a circle (arrow: source -> target).

    Parameters
    ----------
    result : Result
    top_k : int, optional
        Edges drawn (default: as many as neurons, at least 10).
    """
    c = np.array(result.arrays["attention_connectivity"], float)
    n = len(c)
    np.fill_diagonal(c, -np.inf)
    top_k = top_k or max(10, n)
    flat = np.argsort(c, axis=None)[::-1][:min(top_k, n * (n - 1))]
    tgt, src = np.unravel_index(flat, c.shape)
    ang = 2 * np.pi * np.arange(n) / max(n, 1)
    x, y = np.cos(ang), np.sin(ang)
    fig = go.Figure()
    for s, t in zip(src, tgt):
        fig.add_annotation(x=x[t], y=y[t], ax=x[s], ay=y[s], xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=1, opacity=0.6)
    labels = result.info.get("labels", [str(i) for i in range(n)])
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers+text", text=labels, textposition="top center",
                             marker={"size": 10}, showlegend=False))
    fig.update_xaxes(title_text="layout x (a.u.)", showgrid=False, zeroline=False, scaleanchor="y")
    fig.update_yaxes(title_text="layout y (a.u.)", showgrid=False, zeroline=False)
    fig.update_layout(title=f"Top {len(src)} attention edges (source -> target)")
    return fig


def summary_figure(result: Result) -> go.Figure:
    """Loss curves and the attention connectivity matrix side by side."""
    a = result.arrays
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "attention connectivity"))
    fig.add_trace(go.Scatter(x=np.arange(1, len(a["train_loss"]) + 1), y=a["train_loss"],
                             name="train"), row=1, col=1)
    if "val_eval_steps" in a:
        fig.add_trace(go.Scatter(x=a["val_eval_steps"], y=a["val_eval_loss"], name="validation",
                                 mode="lines+markers"), row=1, col=1)
    fig.add_trace(go.Heatmap(z=a["attention_connectivity"], colorscale="Viridis",
                             colorbar={"title": "a.u."}), row=1, col=2)
    fig.update_xaxes(title_text="optimisation step (count)", row=1, col=1)
    fig.update_yaxes(title_text="loss (nats / token)", row=1, col=1)
    fig.update_xaxes(title_text="source neuron (index)", row=1, col=2)
    fig.update_yaxes(title_text="target neuron (index)", autorange="reversed", row=1, col=2)
    m = result.metrics
    fig.update_layout(title=f"neuroformer: {m.get('test_token_bits_per_spike', np.nan):.3f} bits/spike "
                            f"over the rate model on held-out windows")
    return fig
