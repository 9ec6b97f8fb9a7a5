"""HMM-GLM page: hidden states of switching functional connectivity (Li et al., ICLR 2024)."""

from __future__ import annotations

import streamlit as st

from neurotools.analyses.hmmglm import Params
from neurotools.figures import hmmglm as figs
from pages._shared import (
    analysis_run_section,
    download_name,
    export_section,
    figure_downloads,
    follow_job,
    forget_setting,
    kept,
    loaded_recordings,
    metric_text,
    state_interval_section,
    stop_without_recordings,
)

st.title("HMM-GLM: state-switching functional connectivity")
st.caption("A hidden Markov model whose states each hold a GLM of coupled neurons; the one-hot "
           "prior learns a state-constant connectome (Li et al., ICLR 2024).")
files = [f for f in loaded_recordings() if f.recording.n_units > 0]
if not files:
    stop_without_recordings("Load a recording with sorted units first (Load page).", "hmmglm")

follow_job(files, "hmmglm", "hmmglm", "hmmglm_file")
chosen = st.selectbox("Recording", range(len(files)), format_func=lambda i: files[i].name,
                      key=kept("hmmglm_file", ids=[f.sha256 for f in files]))
loaded = files[chosen]
result = analysis_run_section("hmmglm", Params, [loaded], "hmmglm", exclude=("source",))
if result is None:
    st.stop()

rec = loaded.recording
m = result.metrics
c1, c2, c3 = st.columns(3)
c1.metric("Test bits/spike", metric_text(m.get('test_bits_per_spike'), '.4f'))
c2.metric("1-state GLM", metric_text(m.get('glm_test_bits_per_spike'), '.4f'))
c3.metric("Train bits/spike", metric_text(m.get('train_bits_per_spike'), '.4f'))

tabs = st.tabs(["States", "Weights", "Connectome", "Transitions", "K curve"])
bt = result.arrays["bin_times"]
with tabs[0]:
    lo, hi = float(bt.min()), float(bt.max())
    last_start = max(lo, hi - 1.0)
    if not lo <= st.session_state.get(kept("hmmglm_t0"), lo) <= last_start:
        forget_setting("hmmglm_t0")  # a start kept from another result's range
    start = st.slider("Window start (s)", lo, last_start, lo, key="hmmglm_t0")
    width = st.number_input("Window (s)", 1.0, 3600.0, 60.0, key=kept("hmmglm_width"))
    for name, fig in (("hmmglm_states", figs.states_raster_figure(result, rec, (start, start + width))),
                      ("hmmglm_psth", figs.state_psth_figure(result, rec)),
                      ("hmmglm_rates", figs.state_rate_figure(result, rec)),
                      ("hmmglm_dwell", figs.dwell_time_figure(result))):
        st.plotly_chart(fig, width="stretch", key=name)
        figure_downloads(fig, download_name(result, name), key=f"{name}_dl")
    state_interval_section(rec, "hmmglm", bt, float(result.params["bin_size"]),
                           result.arrays["states"], download_name(result, "hmmglm_state_intervals"))
with tabs[1]:
    rel = st.toggle("Difference from the learned prior", key=kept("hmmglm_rel"))
    fig = figs.weights_figure(result, relative_to_prior=rel)
    st.plotly_chart(fig, width="stretch", key="hmmglm_weights")
    figure_downloads(fig, download_name(result, "hmmglm_weights"), key="hmmglm_weights_dl")
with tabs[2]:
    n_edges = figs.connection_count(result)
    shown = figs.default_max_edges(result)
    if n_edges > shown:
        shown = st.slider("Edges drawn (strongest first)", 1, n_edges, shown,
                          key=kept("hmmglm_max_edges", range(1, n_edges + 1)),
                          help="The connections between distinct neurons, ranked by their mean "
                               "absolute weight over the states.")
    fig = figs.connectome_figure(result, max_edges=shown)
    st.plotly_chart(fig, width="stretch", key="hmmglm_graph")
    figure_downloads(fig, download_name(result, "hmmglm_connectome"), key="hmmglm_graph_dl")
with tabs[3]:
    for name, fig in (("hmmglm_transition", figs.transition_figure(result)),
                      ("hmmglm_objective", figs.objective_figure(result))):
        st.plotly_chart(fig, width="stretch", key=name)
        figure_downloads(fig, download_name(result, name), key=f"{name}_dl")
with tabs[4]:
    fig = figs.k_curve_figure(result)
    st.plotly_chart(fig, width="stretch", key="hmmglm_kcurve")
    figure_downloads(fig, download_name(result, "hmmglm_kcurve"), key="hmmglm_kcurve_dl")

export_section(result, rec, "hmmglm_export", window=(start, start + width))
