"""Connectome figures stay readable: timeline size and labels, rank axes, interval shading, plurals.

Built from small hand-made results (no fitting), so every test takes milliseconds.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neurotools.analyses.base import Result
from neurotools.analyses.connectome import SimParams, simulate
from neurotools.analyses.connectome.selection import MIN_SIMILARITY
from neurotools.data.recording import IntervalTable
from neurotools.figures import connectome as figs

#: Plotly's default top and bottom margins (px), used when a figure sets none.
DEFAULT_MARGIN = {"t": 100, "b": 80}


def make_result(
    n_components: int = 2,
    labels: list[str] | None = None,
    ranks: tuple[int, ...] = (1, 2, 3),
    errors: np.ndarray | None = None,
    rank: int | str = "auto",
    communities: np.ndarray | None = None,
    n_bins: int = 40,
) -> Result:
    """A ``connectome`` result with random factors; the core community is community 0."""
    rng = np.random.default_rng(0)
    labels = labels or [f"n{i:03d}" for i in range(8)]
    R, N = n_components, len(labels)
    if communities is None:
        communities = np.tile((np.arange(N) >= N // 2).astype(int), (R, 1))
    K = len(ranks)
    errors = np.linspace(0.8, 0.5, K)[:, None] + np.zeros((K, 2)) if errors is None else errors
    arrays = {
        "time_factors": rng.random((R, n_bins)),
        "animal_factors": np.ones((R, 1)),
        "pair_factors": rng.random((R, N * (N - 1) // 2)),
        "communities": communities,
        "bin_times": np.arange(n_bins) + 0.5,
        "component_weights": np.ones(R),
        "core_community": np.zeros(R, int),
        "n_communities": communities.max(1) + 1,
        "ranks": np.array(ranks),
        "rank_errors": np.asarray(errors, float),
        "rank_similarity": np.ones(K),
        "neuron_labels": np.array(labels),
        "slice_names": np.array(["a.nwb"]),
        "slice_starts": np.zeros(1),
    }
    metrics = {"rank": R if rank == "auto" else int(rank), "suggested_rank": R}
    return Result(analysis="connectome", params={"rank": rank}, seed=0, inputs=[], arrays=arrays,
                  metrics=metrics, info={"third_mode": "animals"})


def _plot_height_px(fig) -> float:
    """Height (px) of the plotting area: the figure height less the top and bottom margins."""
    m = fig.layout.margin
    t = m.t if m.t is not None else DEFAULT_MARGIN["t"]
    b = m.b if m.b is not None else DEFAULT_MARGIN["b"]
    return fig.layout.height - t - b


# -- 1. activity timeline ----------------------------------------------------------------------
def test_timeline_ticks_are_short_and_the_hover_names_the_core_neurons():
    worm = [f"Activity_{i:04d}" for i in range(57)]
    comm = np.array([(np.arange(57) >= 30).astype(int), (np.arange(57) < 5).astype(int) ^ 1])
    res = make_result(labels=worm, communities=comm)
    fig = figs.activity_timeline_figure(res)
    ticks = list(fig.layout.yaxis.ticktext)
    assert ticks == ["component 1 (n=30)", "component 2 (n=5)"]
    heat = fig.data[0]
    assert "%{y}" in heat.hovertemplate
    rows = list(heat.y)
    assert list(fig.layout.yaxis.tickvals) == rows
    assert all(name in rows[0] for name in worm[:30])
    assert all(name in rows[1] for name in worm[:5]) and worm[5] not in rows[1]


def test_timeline_hover_lists_at_most_a_screenful_of_names():
    labels = [f"roi{i}" for i in range(120)]
    res = make_result(n_components=1, labels=labels, communities=np.zeros((1, 120), int))
    row = figs.activity_timeline_figure(res).data[0].y[0]
    assert f"and {120 - figs.HOVER_NAMES} more" in row
    assert "roi119" not in row


@pytest.mark.parametrize("n_components", [1, 2, 6, 20])
def test_timeline_has_room_for_its_rows_colour_bar_and_axis_title(n_components):
    fig = figs.activity_timeline_figure(make_result(n_components=n_components))
    plot = _plot_height_px(fig)
    assert plot >= 28 * n_components  # every row readable
    bar = fig.data[0].colorbar
    bar_px = (bar.len if bar.len is not None else 1.0) * plot
    assert (bar.lenmode or "fraction") == "fraction" and bar_px >= 150  # 0 / 0.5 / 1 apart
    # the vertical axis title (~7 px a character) fits beside the plot, away from the figure title
    assert 7 * len(fig.layout.yaxis.title.text) <= plot


def test_timeline_outlines_are_drawn_above_the_heatmap_with_a_legend():
    rec = simulate(SimParams(n_animals=2, n_samples=200, n_neurons=8, n_motifs=1, motif_size=4), seed=0)
    rec = dataclasses.replace(rec, intervals={"stimulus": IntervalTable(
        "stimulus", np.array([5.0, 20.0]), np.array([10.0, 25.0]))})
    fig = figs.activity_timeline_figure(make_result(), rec)
    shapes = fig.layout.shapes
    assert len(shapes) == 2
    assert all(s.layer == "above" and s.line.width > 0 for s in shapes)
    assert [s.showlegend for s in shapes] == [True, False] and "stimulus" in shapes[0].name
    assert fig.layout.showlegend


# -- 3. rank selection -------------------------------------------------------------------------
def test_similarity_axis_has_round_ticks_and_the_threshold_line():
    fig = figs.rank_selection_figure(make_result())
    y2 = fig.layout.yaxis2
    assert y2.tickmode == "linear" and y2.dtick == pytest.approx(0.2) and (y2.tick0 or 0) == 0
    lines = [s for s in fig.layout.shapes if s.yref == "y2"]
    assert len(lines) == 1 and lines[0].y0 == lines[0].y1 == MIN_SIMILARITY == 0.8
    assert lines[0].line.dash == "dash"
    assert any(a.yref == "y2" and "threshold 0.8" in a.text for a in fig.layout.annotations)


def test_fixed_rank_has_readable_axes_and_says_fixed():
    res = make_result(ranks=(2,), errors=np.array([[0.6340864, 0.6340872]]), rank=2)
    fig = figs.rank_selection_figure(res)
    assert list(fig.layout.xaxis.range) == [1.5, 2.5] and fig.layout.xaxis.dtick == 1
    lo, hi = fig.layout.yaxis.range
    assert lo <= 0.6340864 and hi >= 0.6340872 and hi - lo >= 0.01
    assert fig.layout.yaxis.tickformat
    assert any("rank 2 (fixed)" in (a.text or "") for a in fig.layout.annotations)


@pytest.mark.parametrize("rank, expected", [("auto", ("Rank (suggested)", "2")),
                                            (2, ("Rank (fixed)", "2"))])
def test_rank_metric_says_whether_the_rank_was_scanned(rank, expected):
    res = make_result(ranks=(1, 2, 3) if rank == "auto" else (2,),
                      errors=None if rank == "auto" else np.array([[0.6, 0.6]]), rank=rank)
    assert figs.rank_metric(res) == expected


# -- 4. interval shading -----------------------------------------------------------------------
def test_trial_covering_the_whole_axis_is_not_shaded():
    rec = simulate(SimParams(n_animals=3, n_samples=200, n_neurons=8, n_motifs=1, motif_size=4), seed=0)
    trial0 = float(rec.intervals["trials"].stop[0])  # 50 s at 4 Hz
    assert figs.interval_shapes(rec, 0.5, trial0 - 0.5) == []
    fig = figs.component_time_figure(make_result(n_bins=49), 0, rec)
    assert not fig.layout.shapes


def test_partial_intervals_are_shaded_with_one_legend_entry_per_table():
    rec = simulate(SimParams(n_animals=3, n_samples=200, n_neurons=8, n_motifs=1, motif_size=4), seed=0)
    shapes = figs.interval_shapes(rec, 0.5, 120.0)  # trials 0-1 whole, trial 2 in part
    assert [s["x0"] for s in shapes] == [0.0, 50.0, 100.0]
    assert [s["showlegend"] for s in shapes] == [True, False, False]
    assert shapes[0]["name"] == "trials (interval table)"
    fig = figs.component_time_figure(make_result(n_bins=120), 0, rec)
    assert fig.layout.showlegend


# -- 5. plurals --------------------------------------------------------------------------------
@pytest.mark.parametrize("n, word, expected", [(1, "community", "1 community"),
                                               (3, "community", "3 communities"),
                                               (0, "pair", "0 pairs"), (1, "pair", "1 pair")])
def test_count_noun(n, word, expected):
    assert figs.count_noun(n, word) == expected


def test_one_community_and_one_pair_are_singular():
    res = make_result(n_components=1, communities=np.zeros((1, 8), int))
    res.arrays["pair_factors"] = np.zeros((1, 28))
    res.arrays["pair_factors"][0, 3] = 1.0
    assert figs.affinity_matrix_figure(res, 0).layout.title.text.endswith("(1 community)")
    assert figs.community_graph_figure(res, 0).layout.title.text.endswith("(top 1 pair)")
