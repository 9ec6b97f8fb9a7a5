"""Connectome figures: built from a real run, with units on every axis and the right content."""

import numpy as np
import pytest

from neurotools.analyses.connectome import Params, SimParams, run, simulate
from neurotools.figures import connectome as figs


@pytest.fixture(scope="module")
def sim_result():
    rec = simulate(SimParams(n_animals=3, n_samples=600), seed=0)
    return rec, run([rec], Params(restarts=1, max_rank=3, iterations=60), seed=0)


def _axis_titles(fig):
    out = []
    for name in dir(fig.layout):
        if name.startswith(("xaxis", "yaxis")):
            ax = getattr(fig.layout, name)
            if ax is not None and ax.visible is not False:
                out.append(ax.title.text)
    return out


def test_every_figure_has_units_on_its_axes(sim_result):
    rec, res = sim_result
    figures = [
        figs.rank_selection_figure(res),
        figs.component_time_figure(res, 0, rec),
        figs.animal_loadings_figure(res, 0),
        figs.affinity_matrix_figure(res, 0),
        figs.activity_timeline_figure(res, rec),
    ]
    for fig in figures:
        titles = [t for t in _axis_titles(fig) if t]
        assert titles, fig.layout.title.text
        assert all("(" in t for t in titles), titles
    assert figs.community_graph_figure(res, 0).data


def test_affinity_matrix_is_ordered_by_community(sim_result):
    _, res = sim_result
    fig = figs.affinity_matrix_figure(res, 0)
    z = np.asarray(fig.data[0].z)
    n = len(res.arrays["communities"][0])
    assert z.shape == (n, n)
    np.testing.assert_allclose(z, z.T)
    order = figs.community_order(res, 0)
    lab = res.arrays["communities"][0][order]
    assert lab[0] == res.arrays["core_community"][0]  # core first
    assert np.all(np.diff(np.flatnonzero(np.diff(lab) != 0)) >= 1)
    assert len(np.unique(lab)) == res.arrays["n_communities"][0]


def test_rank_and_timeline_content(sim_result):
    _, res = sim_result
    fig = figs.rank_selection_figure(res)
    best = [d for d in fig.data if d.name == "best error"][0]
    np.testing.assert_allclose(best.y, res.arrays["rank_errors"][:, 0])
    tl = figs.activity_timeline_figure(res)
    z = np.asarray(tl.data[0].z)
    assert z.shape == res.arrays["time_factors"].shape
    assert np.allclose(z.max(1), 1.0)
