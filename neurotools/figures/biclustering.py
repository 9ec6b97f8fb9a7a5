"""Figures of a bi-clustering result: neuron similarity, states over the raster, posteriors.

Pure functions from a :class:`~neurotools.analyses.base.Result` of ``bicluster`` (and, for the
raster, its :class:`~neurotools.data.Recording`) to plotly figures; every axis carries its unit.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from neurotools.analyses.base import Result
from neurotools.data.recording import Recording
from neurotools.figures.recording import legend_square, window_trains

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
           "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
#: Most spikes drawn in the state raster.
MAX_SPIKES = 200_000
#: Colours of the regions (unit-table levels) in the co-clustering side bar.
REGION_COLORS = ("#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5",
                 "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f", "#a6761d")
#: Most region levels named in the co-clustering figure's legend (one colour each).
MAX_REGION_KEYS = len(REGION_COLORS)


def _category_legend(fig: go.Figure, names: list[str], colors: list[str],
                     row: int | None = None, col: int | None = None) -> None:
    """Legend entries (coloured squares) for the categories of a heatmap, which has none."""
    for name, color in zip(names, colors):
        fig.add_trace(legend_square(name, color), row=row, col=col)


#: Spike colours of alternate neuron clusters in the state raster (apart from the state colours).
CLUSTER_SHADES = ("#1a1a1a", "#8a8a8a")


def thin_spike_trains(trains: list[np.ndarray], max_spikes: int
                      ) -> tuple[list[np.ndarray], int | None]:
    """Thin the busiest spike trains evenly over time so that together they hold at most
    ``max_spikes`` spikes.

    Parameters
    ----------
    trains : list of ndarray
        Spike times (s) per neuron, sorted.
    max_spikes : int
        Most spikes kept in all.

    Returns
    -------
    (list of ndarray, int or None)
        The trains (each keeps every k-th spike when thinned, so it still spans its whole time
        range) and the cap per neuron, or None when nothing was thinned. Every neuron keeps at
        least one spike, so with more neurons than ``max_spikes`` the total exceeds it.
    """
    counts = np.array([len(x) for x in trains])
    if counts.sum() <= max_spikes:
        return trains, None
    # the largest per-neuron cap that fits: neurons under it keep every spike
    lo, hi = 1, int(counts.max())
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if np.minimum(counts, mid).sum() <= max_spikes:
            lo = mid
        else:
            hi = mid - 1
    out = [x if len(x) <= lo else x[:: int(np.ceil(len(x) / lo))] for x in trains]
    return out, lo


def _cluster_axis(fig: go.Figure, clusters: np.ndarray, row: int) -> None:
    """Label the raster's rows by neuron cluster, with a line between clusters."""
    starts = np.flatnonzero(np.r_[True, clusters[1:] != clusters[:-1]])
    ends = np.r_[starts[1:], len(clusters)]
    fig.update_yaxes(tickmode="array", tickvals=[(a + b - 1) / 2 for a, b in zip(starts, ends)],
                     ticktext=[f"cluster {clusters[a]}" for a in starts], row=row, col=1)
    for a in starts[1:]:
        fig.add_hline(y=a - 0.5, line=dict(color="#bbbbbb", width=1), row=row, col=1)


def cluster_order(result: Result) -> np.ndarray:
    """Neuron order: by point cluster, then by mean co-clustering within the cluster."""
    z = np.asarray(result.arrays["neuron_clusters"])
    psm = np.asarray(result.arrays["neuron_coclustering"])
    return np.lexsort((-psm.mean(1), z))


def region_columns(recording: Recording | None) -> list[str]:
    """Unit-table columns that look like anatomy (location, region, area, ...)."""
    if recording is None:
        return []
    keys = ("location", "region", "area", "structure", "electrode_group", "brain", "true_cluster")
    return [c for c in recording.unit_table if any(k in c.lower() for k in keys)]


def coclustering_figure(result: Result, recording: Recording | None = None,
                        region_column: str | None = None) -> go.Figure:
    """Posterior similarity of neurons, ordered by cluster, with an optional region side bar.

    Parameters
    ----------
    result : Result
        A ``bicluster`` result.
    recording : Recording, optional
        Its recording, for the unit-table column.
    region_column : str, optional
        Unit-table column shown as a categorical side bar.
    """
    order = cluster_order(result)
    psm = np.asarray(result.arrays["neuron_coclustering"])[np.ix_(order, order)]
    labels = result.info.get("neuron_labels") or [str(i) for i in range(len(order))]
    names = [str(labels[i]) for i in order]
    idx = np.asarray(result.arrays.get("neuron_indices", np.arange(len(order))))
    col = None
    if recording is not None and region_column and region_column in recording.unit_table:
        col = np.asarray(recording.unit_table[region_column]).astype(str)[idx][order]
    fig = make_subplots(rows=1, cols=2 if col is not None else 1, shared_yaxes=True,
                        column_widths=[0.06, 0.94] if col is not None else None,
                        horizontal_spacing=0.01)
    c_main = 2 if col is not None else 1
    if col is not None:
        levels, codes = np.unique(col, return_inverse=True)
        colors = [REGION_COLORS[k % len(REGION_COLORS)] for k in range(len(levels))]
        scale = []
        for k, color in enumerate(colors):
            scale += [[k / len(levels), color], [(k + 1) / len(levels), color]]
        fig.add_trace(go.Heatmap(z=codes[:, None], y=names, x=[region_column], showscale=False,
                                 zmin=-0.5, zmax=len(levels) - 0.5, colorscale=scale,
                                 text=col[:, None],
                                 hovertemplate="%{y}: %{text}<extra></extra>"), 1, 1)
        # which colour is which region: one legend entry per level (the first MAX_REGION_KEYS)
        keys = [f"{region_column}: {v}" for v in levels[:MAX_REGION_KEYS]]
        if len(levels) > MAX_REGION_KEYS:  # colours repeat from here on; say so in the key
            keys[-1] += f" (and {len(levels) - MAX_REGION_KEYS} more, colours repeat)"
        _category_legend(fig, keys, colors[:MAX_REGION_KEYS], row=1, col=1)
        fig.update_layout(legend=dict(orientation="h", y=-0.12, yanchor="top"))
    fig.add_trace(go.Heatmap(z=psm, x=names, y=names, zmin=0, zmax=1, colorscale="Blues",
                             colorbar=dict(title="P(same cluster)"),
                             hovertemplate="%{y} & %{x}: %{z:.2f}<extra></extra>"), 1, c_main)
    z = np.asarray(result.arrays["neuron_clusters"])[order]
    edges = np.flatnonzero(np.diff(z)) + 0.5
    for e in edges:
        fig.add_shape(type="line", x0=e, x1=e, y0=-0.5, y1=len(z) - 0.5, xref=f"x{c_main}",
                      yref="y", line=dict(color="black", width=1))
        fig.add_shape(type="line", y0=e, y1=e, x0=-0.5, x1=len(z) - 0.5, xref=f"x{c_main}",
                      yref="y", line=dict(color="black", width=1))
    fig.update_yaxes(title_text="neuron (unit id, ordered by cluster)", autorange="reversed",
                     row=1, col=1)
    fig.update_xaxes(title_text="neuron (unit id)", row=1, col=c_main)
    fig.update_layout(title="Neuron co-clustering (posterior probability)", height=560)
    return fig


def _bin_size(result: Result) -> float:
    """The result's bin width (s)."""
    t = np.asarray(result.arrays["bin_times"])
    return float(result.params.get("bin_size", np.median(np.diff(t)) if len(t) > 1 else 1.0))


#: Point estimates of the state sequence: key -> (result array, name shown).
STATE_ESTIMATES = {"maxpear": ("state_sequence", "maxPEAR"),
                   "dahl": ("state_sequence_dahl", "Dahl")}


def state_estimate(result: Result, estimate: str = "maxpear") -> np.ndarray:
    """The state sequence of one point estimate (``"maxpear"`` or ``"dahl"``), one label per bin."""
    if estimate not in STATE_ESTIMATES:
        raise ValueError(f"estimate must be one of {sorted(STATE_ESTIMATES)}, not {estimate!r}")
    return np.asarray(result.arrays[STATE_ESTIMATES[estimate][0]])


def state_raster_figure(result: Result, recording: Recording | None = None,
                        interval_table: str | None = None,
                        interval_column: str | None = None,
                        estimate: str = "maxpear") -> go.Figure:
    """The state sequence as a colour band over the spike raster (neurons ordered by cluster).

    Parameters
    ----------
    result : Result
    recording : Recording, optional
        Without it only the state band is drawn.
    interval_table : str, optional
        One of the recording's interval tables, drawn as a second band under the states.
    interval_column : str, optional
        Column of that table that colours its intervals (one colour per value).
    estimate : {"maxpear", "dahl"}
        Point estimate of the state sequence: maxPEAR (default; short, uncertain stretches can
        form states of their own) or Dahl's least-squares draw.
    """
    t = np.asarray(result.arrays["bin_times"])
    s = state_estimate(result, estimate)
    bs = _bin_size(result)
    tab = None
    if recording is not None and interval_table:
        tab = recording.intervals.get(interval_table)
    rows = 3 if tab is not None else 2
    heights = [0.1, 0.08, 0.82] if tab is not None else [0.12, 0.88]
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, row_heights=heights,
                        vertical_spacing=0.02)
    for k in np.unique(s):
        m = s == k
        fig.add_trace(go.Bar(x=t[m], y=np.ones(m.sum()), width=bs,
                             name=f"state {k} ({int(m.sum())} bins)",
                             marker_color=PALETTE[int(k) % len(PALETTE)], marker_line_width=0,
                             hovertemplate=f"state {k}<br>%{{x:.2f}} s<extra></extra>"), 1, 1)
    if tab is not None:
        _interval_band(fig, tab, interval_column, t[0] - bs / 2, t[-1] + bs / 2, row=2)
    order = cluster_order(result)
    z = np.asarray(result.arrays["neuron_clusters"])
    idx = np.asarray(result.arrays.get("neuron_indices", np.arange(len(z))))
    thinned_to = None
    if recording is not None and recording.spike_times is not None:
        lo, hi = t[0] - bs / 2, t[-1] + bs / 2
        trains = window_trains(recording, lo, hi, idx[order])
        trains, thinned_to = thin_spike_trains(trains, MAX_SPIKES)
        for k in np.unique(z):
            rows_k = [row for row, i in enumerate(order) if z[i] == k]
            x = np.concatenate([trains[row] for row in rows_k])
            y = np.concatenate([np.full(len(trains[row]), row) for row in rows_k])
            fig.add_trace(go.Scattergl(
                x=x, y=y, mode="markers", showlegend=False,
                marker=dict(size=2, color=CLUSTER_SHADES[int(k) % len(CLUSTER_SHADES)]),
                hovertemplate=f"cluster {k}<br>%{{x:.3f}} s<extra></extra>"), rows, 1)
        _cluster_axis(fig, z[order], rows)
    for r in range(1, rows):
        fig.update_yaxes(visible=False, row=r, col=1)
    fig.update_yaxes(title_text="neuron cluster (neurons ordered by cluster)", autorange="reversed",
                     row=rows, col=1)
    fig.update_xaxes(title_text="time (s)", row=rows, col=1)
    fig.update_xaxes(range=[t[0] - bs / 2, t[-1] + bs / 2])
    title = f"Population states over the raster ({STATE_ESTIMATES[estimate][1]} point estimate)"
    if tab is not None:
        title += f" and the file's '{tab.name}' intervals"
    if thinned_to is not None:
        title += f"<br><sup>busiest neurons: at most {thinned_to:,} spikes each drawn, evenly " \
                 "thinned over time</sup>"
    fig.update_layout(title=title, bargap=0, height=600 if tab is not None else 560,
                      barmode="overlay")
    return fig


#: Most intervals drawn in a band.
MAX_BAND_INTERVALS = 2000
#: Interval levels are drawn in greys with hatching, apart from the state colours.
BAND_GREYS = ("#4d4d4d", "#969696", "#cccccc", "#737373", "#b3b3b3", "#252525")
BAND_PATTERNS = ("", "/", ".", "x", "\\", "-", "|", "+")


def _interval_band(fig: go.Figure, tab, column: str | None, t0: float, t1: float, row: int) -> None:
    """Intervals of ``tab`` inside [t0, t1] s as bars on ``row``, one trace per column value.

    The intervals are :func:`neurotools.compare.interval_track`'s segments (the Compare page's).
    """
    from neurotools.compare import interval_track

    column = column if column in tab.columns else None
    track = interval_track(tab, column, (t0, t1))
    if track is None:
        return
    keep = np.flatnonzero((track.stops > t0) & (track.starts < t1))[:MAX_BAND_INTERVALS]
    for code, level in enumerate(track.categories):
        m = keep[track.labels[keep] == code]
        if len(m) == 0 or (column is None and level == "outside"):
            continue
        lo, hi = np.clip(track.starts[m], t0, t1), np.clip(track.stops[m], t0, t1)
        name = f"{tab.name}: {column} = {level}" if column else tab.name
        fig.add_trace(go.Bar(x=(lo + hi) / 2, y=np.ones(len(m)), width=hi - lo, name=name,
                             marker_color=BAND_GREYS[code % len(BAND_GREYS)],
                             marker_pattern_shape=BAND_PATTERNS[code % len(BAND_PATTERNS)],
                             marker_line_width=0,
                             customdata=np.stack([track.starts[m], track.stops[m]], 1),
                             hovertemplate=(f"{name}<br>%{{customdata[0]:.2f}}-"
                                            "%{customdata[1]:.2f} s<extra></extra>")), row, 1)


def posterior_counts_figure(result: Result) -> go.Figure:
    """Posterior of the number of neuron clusters and of states (bar charts).

    The states panel shows every occupied state and, when the result has it, only the states
    that hold at least ``info["major_state_min_bins"]`` bins (1% of the recording).
    """
    pk = np.asarray(result.arrays["n_clusters_posterior"])
    ps = np.asarray(result.arrays["n_states_posterior"])
    pm = result.arrays.get("n_major_states_posterior")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("neuron clusters", "states"))
    kk = np.flatnonzero(pk > 0)
    ss = np.flatnonzero(ps > 0)
    fig.add_trace(go.Bar(x=kk, y=pk[kk], marker_color=PALETTE[0], showlegend=False), 1, 1)
    fig.add_trace(go.Bar(x=ss, y=ps[ss], marker_color=PALETTE[1], name="occupied (>= 1 bin)",
                         showlegend=pm is not None), 1, 2)
    if pm is not None:
        pm = np.asarray(pm)
        mm = np.flatnonzero(pm > 0)
        fig.add_trace(go.Bar(x=mm, y=pm[mm], marker_color=PALETTE[2],
                             name=f">= {result.info.get('major_state_min_bins', '?')} bins "
                                  "(1% of the bins)"), 1, 2)
        # the key belongs to the states panel (right): put it in that panel's top right corner
        fig.update_layout(barmode="group", legend=dict(x=1, xanchor="right", y=1, yanchor="top",
                                                       bgcolor="rgba(255,255,255,0.8)"))
    fig.update_xaxes(title_text="number of clusters (count)", dtick=1, row=1, col=1)
    fig.update_xaxes(title_text="number of states (count)", dtick=1, row=1, col=2)
    fig.update_yaxes(title_text="posterior probability", range=[0, 1])
    fig.update_layout(title="Posterior of the number of clusters and states", height=360)
    return fig


def trace_figure(result: Result) -> go.Figure:
    """Per-chain traces: log-joint, log-likelihood, number of clusters, occupied states."""
    ll = np.atleast_2d(result.arrays.get("loglik_traces", result.arrays["loglik_trace"]))
    lj = result.arrays.get("logjoint_traces")
    kk = np.atleast_2d(result.arrays.get("n_clusters_trace", np.zeros_like(ll)))
    ss = np.atleast_2d(result.arrays.get("n_states_trace", np.zeros_like(ll)))
    mm = result.arrays.get("n_major_states_trace")
    rows = ([("log-joint (nats)", np.atleast_2d(lj))] if lj is not None else []) + [
        ("log-likelihood (nats)", ll), ("clusters (count)", kk), ("states (count)", ss)]
    if mm is not None:
        rows.append(("states >= 1% of bins (count)", np.atleast_2d(mm)))
    it = np.arange(1, ll.shape[1] + 1)
    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=0.04)
    for r, (title, values) in enumerate(rows, start=1):
        for c in range(values.shape[0]):
            fig.add_trace(go.Scattergl(x=it, y=values[c], name=f"chain {c + 1}", showlegend=r == 1,
                                       line=dict(color=PALETTE[c % len(PALETTE)])), r, 1)
        fig.update_yaxes(title_text=title, row=r, col=1)
    burn = int(result.params.get("burn_in", 0))
    if burn:
        fig.add_vline(x=burn, line_dash="dot", line_color="gray")
    fig.update_xaxes(title_text="iteration", row=len(rows), col=1)
    fig.update_layout(title="MCMC traces (dotted: end of burn-in)", height=140 + 140 * len(rows))
    return fig


def latent_figure(result: Result, component: int = 0) -> go.Figure:
    """Each point cluster's latent path (posterior mean and 95% band) over time.

    Parameters
    ----------
    component : int
        0 = baseline trajectory (log-rate units), k > 0 = factor k.
    """
    t = np.asarray(result.arrays["bin_times"])
    mean = np.asarray(result.arrays["latent_mean"])[:, :, component]
    lo = np.asarray(result.arrays["latent_lower"])[:, :, component]
    hi = np.asarray(result.arrays["latent_upper"])[:, :, component]
    names = result.info.get("latent_components", [])
    name = names[component] if component < len(names) else f"component {component}"
    fig = go.Figure()
    for k in range(mean.shape[1]):
        color = PALETTE[k % len(PALETTE)]
        fig.add_trace(go.Scatter(x=np.concatenate([t, t[::-1]]),
                                 y=np.concatenate([hi[:, k], lo[::-1, k]]), fill="toself",
                                 fillcolor=color, opacity=0.2, line=dict(width=0),
                                 hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(x=t, y=mean[:, k], name=f"cluster {k}", line=dict(color=color)))
    fig.update_xaxes(title_text="time (s)")
    fig.update_yaxes(title_text=f"{name} (log-rate units)")
    fig.update_layout(title=f"Cluster latents: {name}, mean and 95% band", height=420)
    return fig


def ppc_figure(result: Result) -> go.Figure:
    """Posterior predictive p-values per neuron for each statistic (mean, variance, zeros)."""
    p = np.asarray(result.arrays["ppc_pvalues"])
    stats = result.info.get("ppc_statistics", ["mean", "variance", "zero_fraction"])
    labels = result.info.get("neuron_labels") or [str(i) for i in range(p.shape[0])]
    fig = go.Figure()
    for k, name in enumerate(stats):
        fig.add_trace(go.Scatter(x=[str(v) for v in labels], y=p[:, k], mode="markers", name=name,
                                 marker=dict(color=PALETTE[k])))
    for y in (0.025, 0.975):
        fig.add_hline(y=y, line_dash="dot", line_color="gray")
    fig.update_xaxes(title_text="neuron (unit id)")
    fig.update_yaxes(title_text="posterior predictive p-value (probability)", range=[0, 1])
    fig.update_layout(title="Posterior predictive checks per neuron", height=360)
    return fig


def chain_partitions_figure(result: Result) -> go.Figure:
    """Each chain's point partition of the neurons, labels matched to the pooled partition.

    One row per chain, neurons in the order of :func:`cluster_order`; the row title gives the
    adjusted Rand index of the chain's partition against the pooled point partition, so chains
    that ended in different partitions (e.g. after spread starts) stand out.
    """
    from neurotools.analyses.biclustering.summaries import adjusted_rand
    from neurotools.compare import matched_labels

    point = np.asarray(result.arrays["neuron_clusters"], int)
    chains = np.atleast_2d(np.asarray(result.arrays.get("chain_neuron_clusters", point[None]), int))
    order = cluster_order(result)
    labels = result.info.get("neuron_labels") or [str(i) for i in range(len(point))]
    names = [str(labels[i]) for i in order]
    starts = result.info.get("start_clusters_per_chain") or [None] * len(chains)
    rows, ylab = [], []
    for c, part in enumerate(chains):
        rows.append(matched_labels(point, part)[order])
        start = f", start K={starts[c]}" if c < len(starts) and starts[c] is not None else ""
        ylab.append(f"chain {c + 1} (ARI {adjusted_rand(point, part):.2f}{start})")
    z = np.array(rows)
    n_col = int(z.max()) + 1
    scale = []
    for k in range(n_col):
        color = PALETTE[k % len(PALETTE)]
        scale += [[k / n_col, color], [(k + 1) / n_col, color]]
    fig = go.Figure(go.Heatmap(
        z=z, x=names, y=ylab, zmin=-0.5, zmax=n_col - 0.5, colorscale=scale, xgap=1, ygap=2,
        showscale=False, hovertemplate="neuron %{x}<br>%{y}<br>cluster %{z}<extra></extra>"))
    # a legend, not a colour bar: a bar is squashed to a few pixels when there are few chains
    _category_legend(fig, [f"cluster {k}" for k in range(n_col)],
                     [PALETTE[k % len(PALETTE)] for k in range(n_col)])
    fig.update_xaxes(title_text="neuron (unit id, ordered by pooled cluster)", type="category")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title="Neuron clusters per chain (labels matched to the pooled partition)",
                      height=160 + 40 * len(z))
    return fig


#: What each convergence number is, in words (the table's first column).
DIAGNOSTIC_NAMES = {
    "rhat_logjoint": "split R-hat, log-joint density",
    "rhat_loglik": "split R-hat, log-likelihood",
    "rhat_n_clusters": "split R-hat, number of neuron clusters",
    "rhat_n_states": "split R-hat, number of occupied states",
    "rhat_n_major_states": "split R-hat, states with >= 1% of the bins",
    "ess_bulk_logjoint": "bulk ESS, log-joint density (draws)",
    "ess_bulk_loglik": "bulk ESS, log-likelihood (draws)",
    "ess_bulk_n_clusters": "bulk ESS, number of neuron clusters (draws)",
    "ess_bulk_n_states": "bulk ESS, number of occupied states (draws)",
    "ess_bulk_n_major_states": "bulk ESS, states with >= 1% of the bins (draws)",
    "min_pairwise_chain_ari": "smallest ARI between two chains' neuron partitions",
    "seconds_per_iteration": "seconds per iteration and chain (s)",
    "ppc_extreme_fraction": "share of neurons with an extreme predictive check",
}


def format_rhat(value: float | None) -> str:
    """A split R-hat for display: 3 decimals, "infinite", or "not defined"."""
    if value is None or np.isnan(value):
        return "not defined"
    return f"{value:.3f}" if np.isfinite(value) else "infinite"


def _diagnostic_value(key: str, value: float | None, infinite: bool = False) -> str:
    # results store a non-finite number as null (JSON); info["infinite_metrics"] names the
    # infinite ones (R-hat of chains that each stayed at a value of their own)
    if infinite or (value is not None and np.isinf(value)):
        return "infinite"
    if value is None or np.isnan(value):
        if key.startswith(("rhat_", "ess_")):
            return "not defined: chains constant or too few draws"
        return "not defined"
    return f"{float(value):.4g}"


def diagnostics_rows(result: Result) -> list[dict[str, object]]:
    """Convergence numbers as table rows (name, value) for the UI."""
    keys = ("rhat_logjoint", "rhat_loglik", "rhat_n_clusters", "rhat_n_states",
            "rhat_n_major_states",
            "ess_bulk_logjoint", "ess_bulk_loglik", "ess_bulk_n_clusters", "ess_bulk_n_states",
            "ess_bulk_n_major_states",
            "min_pairwise_chain_ari",
            "seconds_per_iteration", "ppc_extreme_fraction")
    infinite = set(result.info.get("infinite_metrics", ()))
    rows = [{"diagnostic": DIAGNOSTIC_NAMES.get(k, k),
             "value": _diagnostic_value(k, result.metrics[k], k in infinite)}
            for k in keys if k in result.metrics]
    starts = result.info.get("start_clusters_per_chain")
    if starts:
        rows.append({"diagnostic": f"starting clusters per chain ({result.info.get('starts')})",
                     "value": ", ".join(str(k) for k in starts)})
    moves = result.info.get("cluster_count_moves")
    if moves:
        rows.append({"diagnostic": "cluster-count moves after burn-in, accepted / proposed "
                                   "(" + ", ".join(moves) + ")",
                     "value": ", ".join(f"{a} / {p}" for p, a in moves.values())})
    return rows
