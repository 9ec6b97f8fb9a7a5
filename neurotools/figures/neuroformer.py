"""Figures of a neuroformer result: losses, generated vs real spikes, behaviour, connectivity.

Pure functions returning :class:`plotly.graph_objects.Figure`, with units on every axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from neurotools.analyses.base import Result
from neurotools.figures.graph import (
    ARROW_STANDOFF_PX,
    NODE_SIZE_PX,
    circle_layout,
    label_note,
    node_label_trace,
)

#: Sideways bend of a graph edge, as a fraction of its chord: the two directions of a pair curve
#: to opposite sides.
EDGE_BEND = 0.18
#: Most neuron ticks on a raster axis.
MAX_NEURON_TICKS = 12
PSEUDO_PREFIX = "pseudo-trials"


def neuron_labels(result: Result) -> list[str]:
    """Label of every modelled neuron: the file's unit ids (or channel labels), else its index.

    Returns
    -------
    list of str, length N
        In the order of the result's neuron axis (rows/columns of the connectivity matrix).
    """
    n = int(np.shape(result.arrays["attention_connectivity"])[0]) \
        if "attention_connectivity" in result.arrays else len(result.info.get("labels", []))
    labels = [str(v) for v in result.info.get("labels", [])]
    unique = len(set(labels)) == len(labels)  # repeated labels would merge rows of category axes
    return labels if len(labels) == n and unique else [str(i) for i in range(n)]


def neuron_noun(result: Result) -> str:
    """What :func:`neuron_labels` holds, for axis titles: ``unit id``, ``channel label`` or ``index``."""
    labels = [str(v) for v in result.info.get("labels", [])]
    if neuron_labels(result) != labels:
        return "index"
    source = result.inputs[0].get("source", "") if result.inputs else ""
    return "unit id" if source == "units" else "channel label"


def trial_alignment(result: Result) -> tuple[str, str]:
    """Time-axis title of the generated trials and a note when they are pseudo-trials.

    Returns
    -------
    axis_title : str
        E.g. ``"time from trials interval start (s)"`` or ``"time from chunk start (s)"``.
    note : str
        ``""`` for trials of an interval table; for pseudo-trials (no table with trials in the
        test range) a sentence saying so, with the chunk length in seconds.
    """
    table = str(result.info.get("psth_alignment", ""))
    if table.startswith(PSEUDO_PREFIX):
        a = result.arrays
        step = float(result.info.get("token_step_s", 0.01))
        length = len(a["psth_times"]) * step if "psth_times" in a else 1.0
        return ("time from chunk start (s)",
                f"pseudo-trials: consecutive {length:g} s chunks of the test range, no trials table")
    if table:
        return f"time from {table} interval start (s)", ""
    return "time from trial start (s)", ""


def is_pseudo_trials(result: Result) -> bool:
    """Whether the generated trials are pseudo-trials (chunks of time, not rows of a table)."""
    return bool(trial_alignment(result)[1])


def _neuron_ticks(labels: Sequence[str]) -> dict:
    """Integer tick positions (at most :data:`MAX_NEURON_TICKS`) with the neurons' labels."""
    n = len(labels)
    every = max(1, int(np.ceil(n / MAX_NEURON_TICKS)))
    vals = list(range(0, n, every))
    return {"tickmode": "array", "tickvals": vals, "ticktext": [labels[i] for i in vals],
            "range": [-0.5, n - 0.5]}


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
    # an overlaying axis syncs its ticks with the left one by default (0.136, 0.281, ...)
    fig.update_yaxes(title_text="token accuracy (fraction)", secondary_y=True, range=[0, 1],
                     tickmode="linear", tick0=0, dtick=0.2, showgrid=False)
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
    """Real (left) and generated (right) spikes of one held-out trial, on the same axes.

    Spikes are drawn at the centre of their token step; x is time from the trial (or pseudo-trial
    chunk) start in s, the same range in both panels; y is the neuron, labelled by unit id.
    """
    a = result.arrays
    real, gen = a["real_counts"], a["generated_counts"]
    trial = int(np.clip(trial, 0, len(real) - 1))
    step = float(result.info.get("token_step_s", 0.01))
    span = [0.0, real.shape[1] * step]
    x_title, note = trial_alignment(result)
    labels = neuron_labels(result)
    if len(labels) != real.shape[2]:
        labels = [str(i) for i in range(real.shape[2])]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=("held-out data", "generated"))
    for col, counts in ((1, real[trial]), (2, gen[trial])):
        t, n = np.nonzero(counts)
        fig.add_trace(go.Scattergl(x=(t + 0.5) * step, y=n, mode="markers", showlegend=False,
                                   text=[labels[i] for i in n],
                                   hovertemplate="%{text}: %{x:.3f} s<extra></extra>",
                                   marker={"symbol": "line-ns-open", "size": 6, "color": "black"}),
                      row=1, col=col)
        fig.update_xaxes(title_text=x_title, range=span, row=1, col=col)
    fig.update_xaxes(matches="x", row=1, col=2)
    fig.update_yaxes(title_text=f"neuron ({neuron_noun(result)})", row=1, col=1)
    fig.update_yaxes(**_neuron_ticks(labels))
    kind = "Pseudo-trial" if note else "Trial"
    fig.update_layout(title={"text": f"{kind} {trial}: real vs generated raster",
                             "subtitle": {"text": note}})
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
    labels = neuron_labels(result)
    if len(labels) != a["psth_real"].shape[1]:
        labels = [str(i) for i in range(a["psth_real"].shape[1])]
    noun = neuron_noun(result)
    x_title, note = trial_alignment(result)
    rel = np.nan_to_num(a["psth_split_half_r"], nan=-1)
    if neurons is None:
        neurons = list(np.argsort(-rel)[:4])
    fig = make_subplots(rows=1, cols=2, column_widths=[0.65, 0.35], horizontal_spacing=0.12,
                        subplot_titles=("PSTH: real (solid) vs generated (dashed)",
                                        "per-neuron correlation"))
    for k, n in enumerate(neurons):
        color = f"hsl({int(360 * k / max(1, len(neurons)))},70%,40%)"
        for key, dash, label in (("psth_real", "solid", "real"), ("psth_generated", "dash", "generated")):
            y = gaussian_filter1d(a[key][:, n], sigma_bins) if sigma_bins > 0 else a[key][:, n]
            fig.add_trace(go.Scatter(x=t, y=y, mode="lines", name=f"{noun} {labels[n]} {label}",
                                     line={"color": color, "dash": dash}), row=1, col=1)
    fig.add_trace(go.Scatter(x=a["psth_split_half_r"], y=a["psth_r"], mode="markers",
                             name="neurons", marker={"color": "black", "size": 6}, text=labels,
                             hovertemplate=f"{noun} %{{text}}<br>split-half r %{{x:.2f}}<br>"
                                           "generated r %{y:.2f}<extra></extra>"), row=1, col=2)
    fig.add_trace(go.Scatter(x=[-1, 1], y=[-1, 1], mode="lines", name="identity",
                             line={"color": "gray", "dash": "dot"}), row=1, col=2)
    fig.update_xaxes(title_text=x_title, row=1, col=1)
    fig.update_yaxes(title_text="firing rate (Hz)", row=1, col=1)
    fig.update_xaxes(title_text="split-half r of real data (Pearson)", range=[-1, 1], row=1, col=2)
    fig.update_yaxes(title_text="generated vs real r (Pearson)", range=[-1, 1], row=1, col=2)
    m = result.metrics
    fig.update_layout(title={
        "text": f"Generated vs held-out PSTH: median r = {m.get('psth_pearson_r', np.nan):.2f} "
                f"(split-half {m.get('psth_split_half_r', np.nan):.2f})",
        "subtitle": {"text": note}})
    return fig


def has_behavior(result: Result) -> bool:
    """Whether the result holds a behaviour prediction (a series was chosen and decoded)."""
    return "behavior_true" in result.arrays and bool(np.size(result.arrays["behavior_true"]))


def behavior_notes(result: Result) -> tuple[str, str]:
    """What the Behaviour tab says above its figure: the series used, and a warning for R^2 < 0.

    Returns
    -------
    caption : str
        Which series was predicted (and its unit), or why none was.
    warning : str
        ``""`` unless an R^2 is below 0, i.e. the prediction is worse than predicting the mean.
    """
    m, info, params = result.metrics, result.info, result.params
    if not has_behavior(result):
        if str(params.get("behavior", "auto")) in ("", "none"):
            why = "behavior=none was chosen"
        elif int(params.get("finetune_steps", 1) or 0) == 0:
            why = "finetune_steps=0 skips behaviour decoding"
        else:
            why = ("the recording has no behaviour series that 'auto' can predict (a numeric time "
                   "series that is not integer codes such as event codes or states); name one with "
                   "the behavior setting")
        return f"No behaviour was predicted: {why}.", ""
    name = info.get("behavior", "?")
    unit = info.get("behavior_unit", "")
    caption = (f"Behaviour series predicted: '{name}'" + (f" ({unit})" if unit else "")
               + f", from {m.get('behavior_labelled_windows', '?')} labelled windows.")
    low = {k: m[k] for k in ("behavior_r2", "behavior_r2_scratch") if np.isfinite(m.get(k, np.nan))
           and m[k] < 0}
    warning = ""
    if low:
        worst = min(low.values())
        warning = (f"R² below 0 (down to {worst:.2f}) means the prediction of '{name}' is worse than "
                   "predicting its mean: the model did not learn to decode it. Integer codes "
                   "(event codes, states) have no meaningful mean; choose a continuous series.")
    return caption, warning


def behavior_figure(result: Result) -> go.Figure:
    """Behaviour over the test windows: real, fine-tuned prediction and from-scratch prediction."""
    a, m = result.arrays, result.metrics
    fig = go.Figure()
    if not has_behavior(result):
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
    unit = result.info.get("behavior_unit", "") or "file units"
    fig.update_yaxes(title_text=f"{result.info.get('behavior', 'behaviour')} ({unit})")
    fig.update_layout(title="Behaviour on held-out windows", legend={"orientation": "h", "y": -0.25})
    return fig


def connectivity_figure(result: Result) -> go.Figure:
    """Attention connectivity (and the true edges for simulations) as heatmaps, row = target.

    Neurons are labelled by unit id (or channel label), as in :func:`connectivity_graph`.
    """
    a, m = result.arrays, result.metrics
    labels, noun = neuron_labels(result), neuron_noun(result)
    panels = [("attention_connectivity", "attention (a.u.)")]
    if "true_edges" in a:
        panels.append(("true_edges", "true edges"))
    titles = [p[1] for p in panels]
    if "attention_auroc" in m:
        titles[0] += f" - AUROC {m['attention_auroc']:.2f} (cross-cov {m.get('xcov_auroc', np.nan):.2f})"
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=titles, horizontal_spacing=0.12)
    for k, (key, _) in enumerate(panels, start=1):
        fig.add_trace(go.Heatmap(z=a[key], x=labels, y=labels,
                                 colorscale="Viridis" if k == 1 else "Greys",
                                 showscale=k == 1, colorbar={"title": "attention per token (a.u.)"},
                                 hovertemplate=f"source {noun} %{{x}} → target {noun} %{{y}}: "
                                               "%{z:.3g}<extra></extra>"),
                      row=1, col=k)
        fig.update_xaxes(title_text=f"source neuron ({noun})", type="category", row=1, col=k)
        fig.update_yaxes(title_text=f"target neuron ({noun})", type="category",
                         autorange="reversed", row=1, col=k)
    fig.update_layout(title="Attention-derived directed connectivity")
    return fig


def _bezier(p0: np.ndarray, p1: np.ndarray, bend: float, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Points of a quadratic curve from ``p0`` to ``p1`` bent to its right, and the unit tangent
    at ``p1`` (layout units). The reverse edge bends to the other side, so both stay visible."""
    d = p1 - p0
    ctrl = (p0 + p1) / 2 + bend * np.array([d[1], -d[0]])
    u = np.linspace(0.0, 1.0, n)[:, None]
    pts = (1 - u) ** 2 * p0 + 2 * (1 - u) * u * ctrl + u ** 2 * p1
    tangent = p1 - ctrl
    return pts, tangent / max(float(np.hypot(*tangent)), 1e-12)


def connectivity_graph(result: Result, top_k: int | None = None) -> go.Figure:
    """The strongest attention edges as a directed graph on a circle (arrow: source → target).

    Each edge curves to its right, so the two directions between a pair are two separate arrows;
    arrowheads stop at the target's marker. Nodes carry the same labels as
    :func:`connectivity_figure` (unit ids), written beside them up to :data:`MAX_GRAPH_LABELS`
    nodes and shown on hover beyond. The layout has no axes (positions mean nothing).

    Parameters
    ----------
    result : Result
    top_k : int, optional
        Edges drawn (default: as many as neurons, at least 10).
    """
    c = np.array(result.arrays["attention_connectivity"], float)
    n = len(c)
    labels, noun = neuron_labels(result), neuron_noun(result)
    weights = c.copy()
    np.fill_diagonal(c, -np.inf)
    top_k = top_k or max(10, n)
    flat = np.argsort(c, axis=None)[::-1][:min(top_k, n * (n - 1))]
    tgt, src = np.unravel_index(flat, c.shape)
    pos = circle_layout(n)
    fig = go.Figure()
    line_x: list[float | None] = []
    line_y: list[float | None] = []
    mids, hover = [], []
    color = "rgba(60, 60, 140, 0.7)"
    for s, t in zip(src, tgt):
        pts, tangent = _bezier(pos[s], pos[t], EDGE_BEND)
        line_x += [*pts[:, 0], None]
        line_y += [*pts[:, 1], None]
        mids.append(pts[len(pts) // 2])
        hover.append(f"{noun} {labels[s]} → {labels[t]}: {weights[t, s]:.3g} (a.u.)")
        # arrowhead at the target, along the curve's end tangent (pixel offsets; y points down)
        fig.add_annotation(x=pos[t, 0], y=pos[t, 1], ax=-tangent[0] * 30, ay=tangent[1] * 30,
                           xref="x", yref="y", showarrow=True, arrowhead=2, arrowsize=1.3,
                           arrowwidth=1.5, arrowcolor=color, standoff=ARROW_STANDOFF_PX,
                           text="")
    fig.add_trace(go.Scatter(x=line_x, y=line_y, mode="lines", hoverinfo="skip", showlegend=False,
                             line={"color": color, "width": 1.5}))
    mids_arr = np.array(mids).reshape(-1, 2)
    fig.add_trace(go.Scatter(x=mids_arr[:, 0], y=mids_arr[:, 1], mode="markers", showlegend=False,
                             text=hover, hovertemplate="%{text}<extra>edge</extra>",
                             marker={"size": 8, "color": "rgba(0,0,0,0)"}, name="edges"))
    fig.add_trace(go.Scatter(x=pos[:, 0], y=pos[:, 1], mode="markers", showlegend=False, name="neurons",
                             text=labels, hovertemplate=f"{noun} %{{text}}<extra></extra>",
                             marker={"size": NODE_SIZE_PX, "color": "#1f77b4",
                                     "line": {"color": "white", "width": 1}}))
    label_trace = node_label_trace(pos, labels)
    if label_trace is not None:
        fig.add_trace(label_trace)
    fig.update_xaxes(visible=False, range=[-1.3, 1.3], scaleanchor="y")
    fig.update_yaxes(visible=False, range=[-1.3, 1.3])
    where = label_note(n, noun)
    fig.update_layout(title={"text": f"Top {len(src)} attention edges (arrow: source → target)",
                             "subtitle": {"text": f"each direction curves to its own side; {where}"}},
                      plot_bgcolor="white", height=600)
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
    labels, noun = neuron_labels(result), neuron_noun(result)
    fig.add_trace(go.Heatmap(z=a["attention_connectivity"], x=labels, y=labels, colorscale="Viridis",
                             colorbar={"title": "a.u."}), row=1, col=2)
    fig.update_xaxes(title_text="optimisation step (count)", row=1, col=1)
    fig.update_yaxes(title_text="loss (nats / token)", row=1, col=1)
    fig.update_xaxes(title_text=f"source neuron ({noun})", type="category", row=1, col=2)
    fig.update_yaxes(title_text=f"target neuron ({noun})", type="category", autorange="reversed",
                     row=1, col=2)
    m = result.metrics
    fig.update_layout(title=f"neuroformer: {m.get('test_token_bits_per_spike', np.nan):.3f} bits/spike "
                            f"over the rate model on held-out windows")
    return fig
