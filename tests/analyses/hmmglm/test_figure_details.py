"""Details of the HMM-GLM figures that a reader relies on: counts that match what is drawn,
integer ticks on discrete axes, gaps and empty windows said, sequence counts, the warm-up.

Built from small hand-made results (no fit), so every test runs in well under a second.
"""

import re

import numpy as np
import pytest

from neurotools.analyses.base import Result
from neurotools.figures import hmmglm as figs

BIN = 0.1


def _result(n: int = 5, k: int = 3, seq_bins=(30, 30, 30), gap_s: float = 2.0,
            ct: np.ndarray | None = None, warmup: int = 3, epochs: int = 8,
            seed: int = 0) -> Result:
    """An ``hmmglm`` result of ``len(seq_bins)`` sequences separated by ``gap_s`` s of no bins."""
    rng = np.random.default_rng(seed)
    times, seq, t0 = [], [], 0.0
    for i, m in enumerate(seq_bins):
        times.append(t0 + (np.arange(m) + 0.5) * BIN)
        seq.append(np.full(m, i))
        t0 += m * BIN + gap_s
    bt, si = np.concatenate(times), np.concatenate(seq)
    z = rng.integers(0, k, len(bt))
    post = np.eye(k)[z] * 0.8 + 0.2 / k
    if ct is None:
        ct = np.zeros((n, n), np.int64)
    w = rng.normal(0, 0.5, (k, n, n))
    arrays = {"states": z, "state_posterior": post, "bin_times": bt, "sequence_index": si,
              "weights": w, "prior_weights": w.mean(0), "connection_type": ct,
              "transition": np.full((k, k), 1.0 / k), "objective": np.linspace(-100, -50, epochs),
              "k_values": np.array([1, 2, 3]), "k_curve_bits_per_spike": rng.normal(0, 1, (3, 2))}
    return Result("hmmglm", {"bin_size": BIN, "n_states": k, "warmup_epochs": warmup,
                             "epochs": epochs}, 0, [], arrays,
                  metrics={"warmup_epochs": warmup}, info={"bin_size_s": BIN})


# 1. connectome graph ------------------------------------------------------------------------

def _legend_count(fig, word: str) -> int:
    name = next(t.name for t in fig.data if t.name and t.name.startswith(word))
    return int(re.search(r"\((\d+)", name).group(1))


def test_connectome_legend_counts_the_drawn_edges_not_the_self_history():
    ct = np.zeros((5, 5), np.int64)
    ct[[0, 1, 2], [1, 2, 3]] = 1      # 3 excitatory edges
    ct[3, 0] = -1                     # 1 inhibitory edge
    ct[[0, 4], [0, 4]] = 1            # 2 excitatory self-history terms (node colours)
    ct[2, 2] = -1
    fig = figs.connectome_figure(_result(ct=ct))
    assert _legend_count(fig, "excitatory") == 3
    assert _legend_count(fig, "inhibitory") == 1
    assert len(fig.layout.annotations) == 4
    subtitle = fig.layout.title.subtitle.text
    assert "self-history" in subtitle and "node" in subtitle


def test_connectome_of_many_neurons_draws_the_strongest_edges_and_labels_on_hover():
    n = 35
    ct = np.where(np.random.default_rng(1).random((n, n)) < 0.3, 1, 0)
    off = int(np.sum(ct != 0) - np.sum(np.diag(ct) != 0))
    res = _result(n=n, ct=ct)
    assert figs.connection_count(res) == off  # what the page's "Edges drawn" slider runs up to
    assert figs.default_max_edges(res) == 70
    assert len(figs.connectome_figure(res).layout.annotations) == 70
    fig = figs.connectome_figure(res, max_edges=50)
    assert len(fig.layout.annotations) == 50
    assert f"50 of {off}" in fig.layout.title.subtitle.text
    assert not any(t.mode and "text" in t.mode for t in fig.data)  # no label clutter
    nodes = next(t for t in fig.data if t.name and t.name.startswith("neurons"))
    assert len(nodes.hovertext or nodes.text) == n


def test_connectome_labels_lie_inside_the_plotted_range():
    fig = figs.connectome_figure(_result(n=20))
    labels = next(t for t in fig.data if t.mode == "text")
    assert len(labels.text) == 20
    for axis, values in (("xaxis", labels.x), ("yaxis", labels.y)):
        lo, hi = fig.layout[axis].range
        assert lo < min(values) - 0.1 and max(values) + 0.1 < hi


# 2. discrete axes ---------------------------------------------------------------------------

def test_transition_matrix_axes_are_the_states():
    fig = figs.transition_figure(_result(k=3))
    assert list(fig.data[0].x) == ["state 0", "state 1", "state 2"]
    assert list(fig.data[0].y) == ["state 0", "state 1", "state 2"]


def test_k_curve_ticks_are_the_integer_k_and_folds_look_different():
    fig = figs.k_curve_figure(_result())
    assert list(fig.layout.xaxis.tickvals) == [1, 2, 3]
    folds = [t for t in fig.data if t.name.startswith("fold")]
    styles = {(t.marker.symbol, t.marker.color) for t in folds}
    assert len(folds) == 2 and len(styles) == 2


# 3. states raster ---------------------------------------------------------------------------

def test_states_raster_breaks_the_posterior_lines_between_sequences():
    res = _result(seq_bins=(30, 30, 30), gap_s=2.0)
    fig = figs.states_raster_figure(res, None, (0.0, 20.0))
    line = fig.data[0]
    y = np.array(line.y, dtype=float)
    assert np.sum(np.isnan(y)) == 2  # one break per gap between the three sequences
    x = np.array(line.x, dtype=float)
    ok = ~np.isnan(y)
    jumps = np.diff(x[ok])[np.diff(np.flatnonzero(ok)) == 1]
    assert np.all(jumps < 1.5 * BIN)  # no line segment spans a gap


def test_states_raster_says_when_the_window_holds_no_analysed_bins():
    res = _result(seq_bins=(30, 30), gap_s=10.0)  # nothing between 3 s and 13 s
    fig = figs.states_raster_figure(res, None, (5.0, 10.0))
    text = " ".join([a.text for a in fig.layout.annotations] + [fig.layout.title.subtitle.text or ""])
    assert "no analysed bins" in text.lower()
    full = figs.states_raster_figure(res, None, (0.0, 20.0))
    assert "no analysed bins" not in (full.layout.title.subtitle.text or "").lower()


# 4. per-state PSTH --------------------------------------------------------------------------

def test_state_psth_shows_the_sequence_count_and_cuts_the_sparse_tail():
    res = _result(seq_bins=(40, 40, 40, 40, 10), gap_s=1.0)
    fig = figs.state_psth_figure(res, None, min_sequences=2)
    count = next(t for t in fig.data if t.name == "sequences contributing")
    assert list(count.y) == [5] * 10 + [4] * 30
    occ = fig.data[0]
    assert len(occ.x) == 40
    sub = fig.layout.title.subtitle.text
    assert "5 sequences" in sub and "at least 2" in sub
    cut = figs.state_psth_figure(_result(seq_bins=(40, 10, 10), gap_s=1.0), None, min_sequences=2)
    assert len(cut.data[0].x) == 10  # only one sequence beyond 1 s: not shown


def test_state_psth_default_threshold_drops_a_tail_of_few_sequences():
    res = _result(seq_bins=(20,) * 19 + (60,), gap_s=0.5)
    fig = figs.state_psth_figure(res)
    assert len(fig.data[0].x) == 20
    assert "2.00 s" in fig.layout.title.subtitle.text


# 5. EM objective ----------------------------------------------------------------------------

@pytest.mark.parametrize("warmup, expected", [(3, 3), (0, None)])
def test_objective_marks_the_end_of_the_warm_up(warmup, expected):
    # objective[i] is the E-step after i epochs: the last warm-up value is objective[warmup]
    fig = figs.objective_figure(_result(warmup=warmup, epochs=8))
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    if expected is None:
        assert not lines
        return
    assert [s.x0 for s in lines] == [expected] and lines[0].line.dash == "dash"
    assert any("end of warm-up" in a.text for a in fig.layout.annotations)


# 6. numbering -------------------------------------------------------------------------------

def test_every_figure_numbers_the_states_from_zero():
    res = _result(k=3)
    names = set()
    for fig in (figs.states_raster_figure(res), figs.state_psth_figure(res),
                figs.dwell_time_figure(res), figs.weights_figure(res), figs.transition_figure(res)):
        names |= {t.name for t in fig.data if t.name and t.name.startswith("state")}
        names |= {a.text for a in fig.layout.annotations if a.text and a.text.startswith("state")}
        for t in fig.data:
            if t.type == "heatmap" and t.x is not None and isinstance(t.x[0], str):
                names |= set(t.x)
    assert names == {"state 0", "state 1", "state 2"}
