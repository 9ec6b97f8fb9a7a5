"""Figures of an HMM-GLM result: every one builds, with units on its axes."""

import numpy as np
import pytest

from neurotools.analyses.hmmglm import Params, SimParams, run, simulate
from neurotools.figures import hmmglm as figs


@pytest.fixture(scope="module")
def fitted():
    rec = simulate(SimParams(n_states=2, n_neurons=4, n_sequences=6, sequence_bins=100), 0)
    res = run([rec], Params(n_states=2, link="sigmoid", epochs=2, m_steps=3, restarts=1,
                            k_values="1,2"), seed=0)
    return rec, res


def test_every_figure_has_units_on_its_axes(fitted):
    rec, res = fitted
    built = [figs.states_raster_figure(res, rec), figs.state_rate_figure(res, rec),
             figs.state_psth_figure(res, rec), figs.state_psth_figure(res),
             figs.dwell_time_figure(res), figs.weights_figure(res),
             figs.weights_figure(res, relative_to_prior=True), figs.transition_figure(res),
             figs.k_curve_figure(res), figs.objective_figure(res)]
    for fig in built:
        axes = [a for a in fig.layout if a.startswith(("xaxis", "yaxis"))]
        titles = [fig.layout[a].title.text for a in axes if fig.layout[a].title.text]
        assert titles and all("(" in t for t in titles), (fig.layout.title.text, titles)
    graph = figs.connectome_figure(res)
    n_edges = int(np.sum(res.arrays["connection_type"] != 0) - np.sum(np.diag(res.arrays["connection_type"]) != 0))
    assert len(graph.layout.annotations) == n_edges


def test_states_raster_bands_follow_the_viterbi_path(fitted):
    rec, res = fitted
    fig = figs.states_raster_figure(res, rec, (0.0, 10.0))
    z = res.arrays["states"][res.arrays["bin_times"] <= 10.0]
    runs = 1 + int(np.sum(np.diff(z) != 0))
    assert len(fig.layout.shapes) == runs


def test_state_psth_occupancy_sums_to_one_and_rates_match_the_counts(fitted):
    rec, res = fitted
    fig = figs.state_psth_figure(res, rec)
    k = res.arrays["state_posterior"].shape[1]
    occ = np.array([fig.data[j].y for j in range(k)])
    np.testing.assert_allclose(occ.sum(0), 1.0)
    # first bin of every sequence: the population rate of the bins in each state, by hand
    from neurotools.data.binning import neural_matrix

    m = neural_matrix(rec, "auto", 0.05)
    z, seq = res.arrays["states"], res.arrays["sequence_index"]
    first = np.r_[0, np.flatnonzero(np.diff(seq) != 0) + 1]
    for j in range(k):
        sel = first[z[first] == j]
        if len(sel):
            pos = np.searchsorted(m.bin_times, res.arrays["bin_times"][sel] - 1e-9)
            assert fig.data[k + j].y[0] == pytest.approx(m.values[pos].mean() / 0.05)
