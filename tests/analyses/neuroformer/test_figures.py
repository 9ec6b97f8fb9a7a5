"""Figures of a neuroformer result: axes, labels and notes a reader relies on."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from neurotools.analyses.base import Result
from neurotools.analyses.neuroformer import Params, SimParams, run, simulate
from neurotools.figures import neuroformer as nff

PSEUDO = "pseudo-trials (1 s chunks; no interval table)"


@pytest.fixture(scope="module")
def result() -> Result:
    """A 6-neuron network trained for 2 steps, without behaviour decoding (about a second)."""
    torch.set_num_threads(1)  # before the per-test fixture of conftest.py
    rec = simulate(SimParams(n_neurons=6, n_blocks=2, duration_s=20.0), seed=0)
    return run([rec], Params(steps=2, finetune_steps=0), seed=0)


def _with(result: Result, info: dict | None = None, arrays: dict | None = None,
          metrics: dict | None = None) -> Result:
    out = copy.deepcopy(result)
    out.info.update(info or {})
    out.arrays.update(arrays or {})
    out.metrics.update(metrics or {})
    return out


def _graph(n: int, reciprocal: tuple[int, int] = (0, 1)) -> Result:
    """A result holding only an attention matrix whose strongest edges are a reciprocal pair."""
    c = np.random.default_rng(0).uniform(0, 0.1, (n, n))
    i, j = reciprocal
    c[i, j] = c[j, i] = 1.0
    return Result("neuroformer", {}, 0, [{"name": "f.nwb", "sha256": "", "source": "units"}],
                  {"attention_connectivity": c}, info={"labels": [str(100 + k) for k in range(n)]})


def test_the_accuracy_axis_has_round_ticks_from_0_to_1(result):
    axis = nff.result_loss_figure(result).layout.yaxis2
    # not synced to the loss axis's ticks (which gave 0.136, 0.281, ...)
    assert axis.tickmode == "linear" and axis.tick0 == 0 and axis.dtick == 0.2
    assert tuple(axis.range) == (0, 1)


def test_pseudo_trials_are_named_on_the_psth_and_the_raster(result):
    pseudo = _with(result, info={"psth_alignment": PSEUDO})
    for fig in (nff.psth_figure(pseudo), nff.raster_figure(pseudo)):
        assert fig.layout.xaxis.title.text == "time from chunk start (s)"
        assert "pseudo-trials" in fig.layout.title.subtitle.text
        assert "no trials table" in fig.layout.title.subtitle.text
    table = _with(result, info={"psth_alignment": "trials"})
    fig = nff.psth_figure(table)
    assert fig.layout.xaxis.title.text == "time from trials interval start (s)"
    assert not fig.layout.title.subtitle.text


def test_the_raster_panels_share_the_time_range_and_have_integer_neuron_ticks(result):
    fig = nff.raster_figure(result)
    assert fig.layout.xaxis.range == fig.layout.xaxis2.range
    assert fig.layout.xaxis2.matches == "x"
    ticks = fig.layout.yaxis.tickvals
    assert fig.layout.yaxis.tickmode == "array" and all(float(v).is_integer() for v in ticks)


def test_the_graph_draws_both_directions_of_a_pair_as_separate_arrows():
    fig = nff.connectivity_graph(_graph(6), top_k=2)
    arrows = [a for a in fig.layout.annotations if a.showarrow]
    assert len(arrows) == 2
    assert all(a.standoff >= nff.NODE_SIZE_PX / 2 for a in arrows), "heads stop at the marker edge"
    edges = next(t for t in fig.data if t.name == "edges")
    mids = np.column_stack([edges.x, edges.y])
    assert np.linalg.norm(mids[0] - mids[1]) > 0.1, "the two directions curve apart"
    assert {t.split(":")[0] for t in edges.text} == {"unit id 100 → 101", "unit id 101 → 100"}


def test_the_heatmap_and_the_graph_label_neurons_alike():
    res = _graph(6)
    heat, graph = nff.connectivity_figure(res), nff.connectivity_graph(res)
    nodes = next(t for t in graph.data if t.name == "neurons")
    assert list(heat.data[0].x) == list(heat.data[0].y) == list(nodes.text) == [str(100 + k) for k in range(6)]
    assert heat.layout.xaxis.title.text == "source neuron (unit id)"
    assert heat.layout.yaxis.title.text == "target neuron (unit id)"


def test_many_nodes_are_labelled_on_hover_only():
    few, many = nff.connectivity_graph(_graph(6)), nff.connectivity_graph(_graph(35))
    assert any(t.mode == "text" for t in few.data)
    assert not any("text" in (t.mode or "") for t in many.data)
    assert "hover" in many.layout.title.subtitle.text


def test_a_negative_r2_is_explained_and_the_series_named(result):
    y = np.zeros(len(result.arrays["bin_times"]))
    decoded = _with(result, info={"behavior": "events", "behavior_unit": "NA"},
                    arrays={"behavior_true": y, "behavior_pred": y, "behavior_pred_scratch": y},
                    metrics={"behavior_r2": 0.3, "behavior_r2_scratch": 0.1})
    caption, warning = nff.behavior_notes(decoded)
    assert "'events' (NA)" in caption and not warning
    bad = _with(decoded, metrics={"behavior_r2": -50.0, "behavior_r2_scratch": -130.0})
    caption, warning = nff.behavior_notes(bad)
    assert "-130.00" in warning and "worse than predicting its mean" in warning
    assert nff.behavior_figure(bad).layout.yaxis.title.text == "events (NA)"


def test_a_result_without_behaviour_says_why():
    res = _graph(3)
    res.params = {"behavior": "auto", "finetune_steps": 10}
    caption, warning = nff.behavior_notes(res)
    assert not nff.has_behavior(res) and "integer codes" in caption and not warning
